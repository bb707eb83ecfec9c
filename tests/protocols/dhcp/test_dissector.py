"""DHCP and DHCPv6 dissectors on hand-made messages."""

from __future__ import annotations

import struct

from otsight.core.plugins import FlowContext
from otsight.protocols.dhcp import DhcpDissector, Dhcpv6Dissector
from otsight.protocols.dhcp.events import DhcpMalformed, DhcpMessage, Dhcpv6Message
from otsight.protocols.dhcp.parser import MAGIC, looks_like_dhcpv6

FLOW = FlowContext(1, 17, "0.0.0.0", 68, "255.255.255.255", 67)
FLOW6 = FlowContext(2, 17, "fe80::1", 546, "ff02::1:2", 547)
MAC = bytes.fromhex("001b1b3434cb")


def bootp(
    options: bytes, op: int = 1, sname: bytes = b"", file: bytes = b"", xid: int = 0xCAFE
) -> bytes:
    fixed = struct.pack(">BBBBIHH", op, 1, 6, 0, xid, 0, 0x8000) + bytes(16)
    fixed += MAC + bytes(10) + sname.ljust(64, b"\0") + file.ljust(128, b"\0")
    return fixed + MAGIC + options


def opt(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def test_discover_fingerprint_fields() -> None:
    options = (
        opt(53, b"\x01")
        + opt(12, b"plc-17")
        + opt(60, b"MSFT 5.0")
        + opt(61, b"\x01" + MAC)
        + opt(55, bytes([1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]))
        + opt(50, bytes([10, 0, 0, 9]))
        + opt(81, b"\x04\x00\x00\x03plc\x04site\x00")
        + opt(77, b"iPXE")
        + opt(82, b"\x01\x02ab")
        + b"\xff"
    )
    (event,) = DhcpDissector(FLOW).on_data(0, bootp(options), 1_000_000_000, 3)
    assert isinstance(event, DhcpMessage)
    assert event.op == "request"
    assert event.message_type_name == "discover"
    assert event.action == "discover"
    assert event.client_mac == "00:1b:1b:34:34:cb"
    assert event.hostname == "plc-17"
    assert event.vendor_class == "MSFT 5.0"
    assert event.client_id == "01" + MAC.hex()
    assert event.parameter_request_list == (1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252)
    assert event.requested_ip == "10.0.0.9"
    assert event.fqdn == "plc.site"
    assert event.user_class == "iPXE"
    assert event.relay_agent
    assert event.broadcast
    assert event.option_order == (53, 12, 60, 61, 55, 50, 81, 77, 82)
    assert event.malformed_options == 0


def test_offer_with_overloaded_sname_and_file() -> None:
    options = opt(53, b"\x02") + opt(52, b"\x03") + opt(54, bytes([10, 0, 0, 1])) + b"\xff"
    file = opt(3, bytes([10, 0, 0, 254])) + b"\xff"
    sname = opt(6, bytes([10, 0, 0, 53, 10, 0, 0, 54])) + opt(51, struct.pack(">I", 3600))
    (event,) = DhcpDissector(FLOW).on_data(1, bootp(options, 2, sname + b"\xff", file), 0, 1)
    assert isinstance(event, DhcpMessage)
    assert event.overload == 3
    assert event.routers == ("10.0.0.254",)
    assert event.dns_servers == ("10.0.0.53", "10.0.0.54")
    assert event.lease_time == 3600
    assert event.server_id == "10.0.0.1"
    assert event.server_name is None
    assert event.boot_file is None


def test_malformed_options_are_counted() -> None:
    d = DhcpDissector(FLOW)
    (event,) = d.on_data(0, bootp(opt(53, b"\x03") + b"\x0c\x20abc"), 0, 1)
    assert isinstance(event, DhcpMessage)
    assert event.message_type_name == "request"
    assert event.malformed_options == 1
    assert d.malformed == 1
    (bad,) = d.on_data(0, b"\x01" * 300, 0, 2)
    assert isinstance(bad, DhcpMalformed)


def test_repeated_option_is_concatenated() -> None:
    options = opt(53, b"\x08") + opt(60, b"vendor-") + opt(60, b"class") + b"\xff"
    (event,) = DhcpDissector(FLOW).on_data(0, bootp(options), 0, 1)
    assert isinstance(event, DhcpMessage)
    assert event.vendor_class == "vendor-class"
    assert event.message_type_name == "inform"


def v6opt(code: int, value: bytes) -> bytes:
    return struct.pack(">HH", code, len(value)) + value


def test_dhcpv6_solicit() -> None:
    duid = b"\x00\x01\x00\x01" + b"\x11\x22\x33\x44" + MAC
    body = (
        v6opt(1, duid)
        + v6opt(6, struct.pack(">HHH", 23, 24, 39))
        + v6opt(39, b"\x01\x03plc\x04site\x00")
        + v6opt(16, struct.pack(">IH", 311, 8) + b"MSFT 5.0")
    )
    data = b"\x01\x12\x34\x56" + body
    assert looks_like_dhcpv6(data) > 0.3
    (event,) = Dhcpv6Dissector(FLOW6).on_data(0, data, 0, 1)
    assert isinstance(event, Dhcpv6Message)
    assert event.message_type_name == "solicit"
    assert event.transaction_id == 0x123456
    assert event.client_duid == duid.hex()
    assert event.option_request == (23, 24, 39)
    assert event.fqdn == "plc.site"
    assert event.vendor_enterprise == 311
    assert event.vendor_class == ("MSFT 5.0",)


def test_dhcpv6_relay_forward_reports_the_inner_message() -> None:
    inner = b"\x03\x00\x00\x07" + v6opt(1, b"\x00\x03\x00\x01" + MAC)
    relay = b"\x0c\x00" + bytes(15) + b"\x01" + bytes(15) + b"\x02" + v6opt(9, inner)
    (event,) = Dhcpv6Dissector(FLOW6).on_data(0, relay, 0, 1)
    assert isinstance(event, Dhcpv6Message)
    assert event.message_type_name == "relay-forward"
    assert event.relayed_type_name == "request"
    assert event.transaction_id == 7
    assert event.link_address == "::1"
    assert event.peer_address == "::2"
