"""DHCP (options incl. the parameter-request-list fingerprint, overload) and DHCPv6."""

from .dissector import DhcpDissector, Dhcpv6Dissector

__all__ = ["DhcpDissector", "Dhcpv6Dissector"]
