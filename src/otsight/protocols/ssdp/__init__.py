"""SSDP / UPnP discovery (M-SEARCH, NOTIFY, search responses)."""

from .dissector import SsdpDissector

__all__ = ["SsdpDissector"]
