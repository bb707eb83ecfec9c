"""EtherNet/IP facts: ListIdentity items, encapsulation requests, CIP service categories."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from .helpers import CLIENT, SERVER, Tcp, acts, facts, observed, udp

BROADCAST = "192.0.2.255"


def encap(command: int, data: bytes = b"", session: int = 0) -> bytes:
    return struct.pack("<HHII8sI", command, len(data), session, 0, b"ctx00001", 0) + data


def cpf(*items: tuple[int, bytes]) -> bytes:
    out = struct.pack("<H", len(items))
    for type_id, data in items:
        out += struct.pack("<HH", type_id, len(data)) + data
    return out


def identity(address: str, vendor: int, name: bytes, serial: int = 0x0051AEC3) -> bytes:
    sockaddr = struct.pack(">HH4s8s", 2, 44818, socket.inet_aton(address), b"\0" * 8)
    head = struct.pack("<H", 1) + sockaddr
    body = struct.pack("<HHHBBHIB", vendor, 0x0C, 58, 4, 7, 0x0030, serial, len(name))
    return head + body + name + b"\x03"


def rr_data(cip: bytes, session: int = 0x1234) -> bytes:
    body = struct.pack("<IH", 0, 10) + cpf((0x0000, b""), (0x00B2, cip))
    return encap(0x006F, body, session)


def cip(service: int, class_id: int, instance: int, attribute: int | None = None) -> bytes:
    path = bytes([0x20, class_id, 0x24, instance])
    if attribute is not None:
        path += bytes([0x30, attribute])
    return bytes([service, len(path) // 2]) + path


def test_list_identity_reply_and_discovery(tmp_path: Path) -> None:
    reply = encap(0x0063, cpf((0x000C, identity(SERVER, 1, b"1756-ENBT/A"))))
    # a device that names another socket address (second interface) and an unknown vendor
    other = encap(0x0063, cpf((0x000C, identity("10.9.9.9", 65000, b"Widget\x00"))))
    zero = encap(0x0063, cpf((0x000C, identity("0.0.0.0", 1, b"Zero"))))
    frames = [
        udp(CLIENT, BROADCAST, 50000, 44818, encap(0x0063)),
        udp(SERVER, CLIENT, 44818, 50000, reply),
        udp(SERVER, CLIENT, 44818, 50000, other),
        udp(SERVER, CLIENT, 44818, 50000, zero),
    ]
    found = facts(tmp_path, frames)
    got = {(a, v, ip) for a, v, ip, _mac, r in observed(found) if r == 90}
    assert {
        ("vendor", "Rockwell Automation/Allen-Bradley", SERVER),
        ("model", "1756-ENBT/A", SERVER),
        ("product_code", "58", SERVER),
        ("firmware", "4.7", SERVER),
        ("serial", "0051aec3", SERVER),
        ("device_type", "communications-adapter", SERVER),
    } <= got
    # the socket address is used when usable; an unknown vendor id gives no vendor
    assert ("model", "Widget", "10.9.9.9") in got
    assert not any(a == "vendor" and ip == "10.9.9.9" for a, _v, ip in got)
    assert ("model", "Zero", SERVER) in got  # 0.0.0.0: the sender's address instead
    assert acts(found) == [("enip", "discovery", "list-identity", CLIENT, BROADCAST)]


def test_cip_requests_by_service_and_class(tmp_path: Path) -> None:
    conn = Tcp(sport=44818)
    register = encap(0x0065, struct.pack("<HH", 1, 0))
    requests = [
        cip(0x0E, 0x01, 1, 7),  # get-attribute-single of the identity object
        cip(0x0E, 0x04, 100, 3),  # get-attribute-single of an assembly
        cip(0x10, 0x04, 150, 3),  # set-attribute-single of an assembly
        cip(0x10, 0xF5, 1, 5),  # set-attribute-single of the TCP/IP interface
        cip(0x05, 0x01, 1),  # reset
        cip(0x07, 0x01, 1),  # stop
    ]
    messages = [(True, register), (False, register)]
    messages += [(True, rr_data(r)) for r in requests]
    messages.append((False, rr_data(bytes([0x8E, 0, 0, 0, 1, 0]))))  # a reply: no activity
    found = facts(tmp_path, conn.exchange(*messages))
    assert [(c, op) for _p, c, op, _cl, _sv in acts(found)] == [
        ("session", "register-session"),
        ("diagnostic", "get-attribute-single"),
        ("read", "get-attribute-single"),
        ("write", "set-attribute-single"),
        ("configure", "set-attribute-single"),
        ("control", "reset"),
        ("control", "stop"),
    ]
    assert {(cl, sv) for _p, _c, _op, cl, sv in acts(found)} == {(CLIENT, SERVER)}
