"""DHCP facts: a client's own options, its address when it has one, the lease an ACK grants."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from otsight.testing.packets import mac_bytes, udp_frame

from .helpers import acts, facts, observed

WKS = "54:ee:75:3a:60:60"
SERVER_IP, SERVER_MAC = "192.0.2.1", "00:14:22:7a:00:02"
LEASE = "192.0.2.60"


def option(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def bootp(op: int, ciaddr: str, yiaddr: str, options: bytes) -> bytes:
    head = struct.pack("!BBBBIHH", op, 1, 6, 0, 0x3903F326, 0, 0x8000)
    addrs = b"".join(socket.inet_aton(a) for a in (ciaddr, yiaddr, "0.0.0.0", "0.0.0.0"))
    chaddr = mac_bytes(WKS) + b"\0" * 10
    return head + addrs + chaddr + b"\0" * 192 + b"\x63\x82\x53\x63" + options + b"\xff"


def test_client_options_and_lease(tmp_path: Path) -> None:
    discover = bootp(
        1,
        "0.0.0.0",
        "0.0.0.0",
        option(53, b"\x01")
        + option(12, b"ENG-WKS-07")
        + option(60, b"MSFT 5.0")
        + option(55, bytes([1, 3, 6, 15])),
    )
    ack = bootp(2, "0.0.0.0", LEASE, option(53, b"\x05") + option(54, socket.inet_aton(SERVER_IP)))
    renew = bootp(1, LEASE, "0.0.0.0", option(53, b"\x03") + option(12, b"ENG-WKS-07"))
    nak = bootp(2, "0.0.0.0", "0.0.0.0", option(53, b"\x06"))
    frames = [
        udp_frame("0.0.0.0", "255.255.255.255", 68, 67, discover, src_mac=WKS,
                  dst_mac="ff:ff:ff:ff:ff:ff"),
        udp_frame(SERVER_IP, LEASE, 67, 68, ack, src_mac=SERVER_MAC, dst_mac=WKS),
        udp_frame(LEASE, SERVER_IP, 68, 67, renew, src_mac=WKS, dst_mac=SERVER_MAC),
        udp_frame(SERVER_IP, LEASE, 67, 68, nak, src_mac=SERVER_MAC, dst_mac=WKS),
    ]  # fmt: skip
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("hostname", "ENG-WKS-07", None, WKS, 50),
        ("dhcp_vendor_class", "MSFT 5.0", None, WKS, 50),
        ("dhcp_fingerprint", "1,3,6,15", None, WKS, 50),
        ("ip", LEASE, LEASE, WKS, 70),  # the ACK binds the lease
        ("mac", WKS, LEASE, WKS, 50),  # a renewing client states both
        ("hostname", "ENG-WKS-07", LEASE, WKS, 50),
    }
    # The server's ACK (not the client's broadcast, nor the NAK) shows who serves DHCP.
    assert acts(found) == [("dhcp", "other", "lease-ack", WKS, SERVER_IP)]
