"""EtherNet/IP (encapsulation over TCP/UDP 44818) and CIP explicit messaging."""

from __future__ import annotations

__all__ = ["EnipDissector", "EnipUdpDissector"]

from .dissector import EnipDissector, EnipUdpDissector
