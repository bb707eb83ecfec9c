"""DNS-family facts: names of site-local addresses from answers and registrations, DNS-SD TXT
identity, and lookups as activities."""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from pathlib import Path

from otsight.testing.packets import udp_frame

from .helpers import CLIENT, acts, facts, observed

DNS_SERVER = "192.0.2.53"
HISTORIAN = "192.0.2.30"
PRINTER = "192.0.2.40"
WKS21, WKS21_MAC = "192.0.2.21", "3c:d9:2b:71:0e:21"
WKS22 = "192.0.2.22"
A, PTR, TXT, NB, NBSTAT = 1, 12, 16, 32, 33


def name(text: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in text.split(".")) + b"\0"


def netbios(text: str, suffix: int) -> bytes:
    raw = text.ljust(15).encode() + bytes([suffix])
    encoded = "".join(chr(65 + (b >> 4)) + chr(65 + (b & 0xF)) for b in raw)
    return bytes([32]) + encoded.encode() + b"\0"


def rr(owner: bytes, rtype: int, rdata: bytes, ttl: int = 120) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def message(
    tid: int,
    flags: int,
    questions: Sequence[tuple[bytes, int]] = (),
    answers: Sequence[bytes] = (),
    additional: Sequence[bytes] = (),
) -> bytes:
    out = struct.pack("!HHHHHH", tid, flags, len(questions), len(answers), 0, len(additional))
    out += b"".join(q + struct.pack("!HH", t, 1) for q, t in questions)
    return out + b"".join(answers) + b"".join(additional)


def ip(address: str) -> bytes:
    return socket.inet_aton(address)


def test_dns_answers_keep_site_local_names(tmp_path: Path) -> None:
    query = message(1, 0x0100, [(name("historian.plant.local"), A)])
    answer = message(
        1,
        0x8180,
        [(name("historian.plant.local"), A)],
        [
            rr(name("historian.plant.local"), A, ip(HISTORIAN)),
            rr(name("www.example.com"), A, ip("93.184.216.34")),
            rr(name("30.2.0.192.in-addr.arpa"), PTR, name("historian.plant.local")),
        ],
    )
    frames = [
        udp_frame(CLIENT, DNS_SERVER, 53000, 53, query),
        udp_frame(DNS_SERVER, CLIENT, 53, 53000, answer),
    ]
    found = facts(tmp_path, frames)
    assert observed(found) == {("hostname", "historian.plant.local", HISTORIAN, None, 40)}
    assert acts(found) == [("dns", "browse", "query", CLIENT, DNS_SERVER)]


def test_mdns_and_llmnr_self_answers(tmp_path: Path) -> None:
    txt = bytes([16]) + b"ty=HP LaserJet M" + bytes([10]) + b"usb_MFG=HP"
    announce = message(
        0,
        0x8400,
        answers=[
            rr(name("printer.local"), A, ip(PRINTER)),
            rr(name("HP._ipp._tcp.local"), TXT, txt),
        ],
    )
    query = message(0, 0, [(name("_ipp._tcp.local"), PTR)])
    llmnr = message(7, 0x8000, [(name("wks-22"), A)], [rr(name("wks-22"), A, ip(WKS22))])
    frames = [
        udp_frame(CLIENT, "224.0.0.251", 5353, 5353, query),
        udp_frame(PRINTER, "224.0.0.251", 5353, 5353, announce),
        udp_frame(WKS22, CLIENT, 5355, 53001, llmnr),
    ]
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("hostname", "printer.local", PRINTER, None, 50),
        ("model", "HP LaserJet M", PRINTER, None, 50),
        ("vendor", "HP", PRINTER, None, 50),
        ("hostname", "wks-22", WKS22, None, 50),
    }
    assert acts(found) == [("mdns", "discovery", "query", CLIENT, "224.0.0.251")]


def test_nbns_registrations_status_and_queries(tmp_path: Path) -> None:
    pointer = b"\xc0\x0c"
    unique = message(
        1,
        0x2910,
        [(netbios("WKS-21", 0x00), NB)],
        additional=[rr(pointer, NB, b"\x00\x00" + ip(WKS21))],
    )
    group = message(
        2,
        0x2910,
        [(netbios("WORKGROUP", 0x00), NB)],
        additional=[rr(pointer, NB, b"\x80\x00" + ip(WKS21))],
    )
    # the group name comes first: it must be passed over for the host's unique name
    entries = [("WORKGROUP", 0x00, 0x84), ("WKS-21", 0x00, 0x04), ("WKS-21", 0x20, 0x04)]
    table = bytes([len(entries)]) + b"".join(
        n.ljust(15).encode() + bytes([s, f, 0]) for n, s, f in entries
    )
    table += bytes.fromhex(WKS21_MAC.replace(":", "")) + b"\0" * 40
    status = message(3, 0x8400, answers=[rr(netbios("*", 0x00), NBSTAT, table, ttl=0)])
    status_query = message(3, 0x0000, [(netbios("*", 0x00), NBSTAT)])
    lookup = message(4, 0x0110, [(netbios("HISTORIAN", 0x20), NB)])
    frames = [
        udp_frame(WKS21, "192.0.2.255", 137, 137, unique),
        udp_frame(WKS21, "192.0.2.255", 137, 137, group),
        udp_frame(CLIENT, WKS21, 137, 137, status_query),
        udp_frame(WKS21, CLIENT, 137, 137, status),
        udp_frame(CLIENT, "192.0.2.255", 137, 137, lookup),
    ]
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("hostname", "WKS-21", WKS21, None, 50),  # WORKGROUP is a group name: not a host
        ("mac", WKS21_MAC, WKS21, WKS21_MAC, 50),
    }
    assert acts(found) == [
        ("nbns", "discovery", "query", CLIENT, WKS21),
        ("nbns", "browse", "query", CLIENT, "192.0.2.255"),
    ]
