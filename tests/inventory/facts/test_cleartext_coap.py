"""Telnet, FTP and CoAP facts: cleartext logins oriented client to server, FTP transfers and
banners, CoAP requests by method."""

from __future__ import annotations

import struct
from pathlib import Path

from .helpers import CLIENT, SERVER, Tcp, acts, facts, observed, udp


def test_ftp_login_transfers_and_banner(tmp_path: Path) -> None:
    conn = Tcp(sport=21)
    frames = conn.exchange(
        (False, b"220 ProFTPD 1.3.5 Server (Debian) [192.0.2.10]\r\n"),
        (True, b"USER operator\r\n"),
        (False, b"331 Password required\r\n"),
        (True, b"PASS hunter2\r\n"),
        (False, b"230 User logged in\r\n"),
        (True, b"SYST\r\n"),
        (True, b"RETR recipe.csv\r\n"),
        (True, b"STOR firmware.bin\r\n"),
    )
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("application", "ProFTPD 1.3.5 Server (Debian) [192.0.2.10]", SERVER, None, 60),
        ("os", "Debian", SERVER, None, 40),
    }
    assert acts(found) == [
        ("ftp", "login", "cleartext-credential", CLIENT, SERVER),  # reported on the 230 reply
        ("ftp", "read", "retr", CLIENT, SERVER),
        ("ftp", "write", "stor", CLIENT, SERVER),
    ]


def test_telnet_login(tmp_path: Path) -> None:
    conn = Tcp(sport=23)
    frames = conn.exchange(
        (False, b"\xff\xfb\x01Welcome to VxWorks 6.9\r\nlogin: "),
        (True, b"admin\r\n"),
        (False, b"Password: "),
        (True, b"secret\r\n"),
    )
    found = facts(tmp_path, frames)
    assert acts(found) == [("telnet", "login", "cleartext-credential", CLIENT, SERVER)]
    assert observed(found) == {("os", "VxWorks", SERVER, None, 40)}


def coap(code: int, mid: int, path: str, observe: bool = False, con: bool = True) -> bytes:
    head = bytes([(0x40 if con else 0x50) | 1, code]) + struct.pack("!H", mid) + b"\x07"
    options = b""
    last = 0
    if observe:
        options += bytes([(6 - last) << 4 | 0])
        last = 6
    for segment in path.strip("/").split("/"):
        raw = segment.encode()
        options += bytes([(11 - last) << 4 | len(raw)]) + raw
        last = 11
    return head + options


def test_coap_methods(tmp_path: Path) -> None:
    port = 5683
    frames = [
        udp(CLIENT, SERVER, 50000, port, coap(1, 1, "/sensors/temp")),  # GET
        udp(SERVER, CLIENT, port, 50000, bytes([0x61, 0x45]) + struct.pack("!H", 1) + b"\x07"),
        udp(CLIENT, SERVER, 50000, port, coap(1, 2, "/sensors/temp", observe=True)),
        udp(CLIENT, SERVER, 50000, port, coap(3, 3, "/actuators/valve")),  # PUT
        udp(CLIENT, SERVER, 50000, port, coap(1, 4, "/.well-known/core")),
        udp(CLIENT, SERVER, 50000, port, coap(4, 5, "/config/old")),  # DELETE
    ]
    assert [(c, op) for _p, c, op, _cl, _sv in acts(facts(tmp_path, frames))] == [
        ("read", "GET"),
        ("subscribe", "GET"),
        ("write", "PUT"),
        ("discovery", "GET"),
        ("configure", "DELETE"),
    ]
