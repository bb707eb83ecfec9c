"""DHCP and DHCPv6 events: one per message, with the options that identify a device."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class DhcpMessage(Event, frozen=True, kw_only=True):
    """A DHCP (BOOTP) message. ``parameter_request_list`` (option 55, in order) and
    ``option_order`` are the classic client fingerprints; ``vendor_class`` (60) names the
    device family (``MSFT 5.0``, ``PXEClient``...)."""

    protocol: ClassVar[str] = "dhcp"
    op: str  # request | reply
    transaction_id: int
    hardware_type: int
    client_mac: str | None  # chaddr when it is a 6-byte Ethernet address
    client_hardware_address: str  # chaddr as hex (any hardware type)
    ciaddr: str
    yiaddr: str
    siaddr: str
    giaddr: str
    broadcast: bool
    message_type: int | None = None  # option 53
    message_type_name: str | None = None
    hostname: str | None = None  # 12
    requested_ip: str | None = None  # 50
    server_id: str | None = None  # 54
    vendor_class: str | None = None  # 60
    client_id: str | None = None  # 61, hex
    parameter_request_list: tuple[int, ...] | None = None  # 55
    fqdn: str | None = None  # 81
    lease_time: int | None = None  # 51, seconds
    user_class: str | None = None  # 77
    relay_agent: bool = False  # 82 present
    routers: tuple[str, ...] | None = None  # 3
    dns_servers: tuple[str, ...] | None = None  # 6
    domain_name: str | None = None  # 15
    subnet_mask: str | None = None  # 1
    server_message: str | None = None  # 56
    option_order: tuple[int, ...] = ()
    overload: int | None = None  # 52: 1 file, 2 sname, 3 both carry options
    server_name: str | None = None  # sname when not overloaded
    boot_file: str | None = None  # file when not overloaded
    malformed_options: int = 0

    @property
    def action(self) -> str:
        return self.message_type_name or f"bootp-{self.op}"


class Dhcpv6Message(Event, frozen=True, kw_only=True):
    """A DHCPv6 message (relay messages report the relayed message's fields too)."""

    protocol: ClassVar[str] = "dhcpv6"
    message_type: int
    message_type_name: str
    transaction_id: int | None
    client_duid: str | None = None  # option 1, hex
    server_duid: str | None = None  # option 2, hex
    fqdn: str | None = None  # option 39
    vendor_enterprise: int | None = None  # option 16
    vendor_class: tuple[str, ...] | None = None
    option_request: tuple[int, ...] | None = None  # option 6 (ORO), in order
    option_order: tuple[int, ...] = ()
    link_address: str | None = None  # relay messages
    peer_address: str | None = None
    relayed_type_name: str | None = None
    malformed_options: int = 0

    @property
    def action(self) -> str:
        return self.message_type_name


class DhcpMalformed(Event, frozen=True, kw_only=True):
    """A datagram on a DHCP flow that is not a DHCP message."""

    protocol: ClassVar[str] = "dhcp"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
