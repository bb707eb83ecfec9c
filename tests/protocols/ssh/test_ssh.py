"""SSH dissector tests (the corpus holds no SSH capture: hand-made streams only)."""

from __future__ import annotations

import os
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.protocols.ssh import SshDissector
from otsight.protocols.ssh.events import SshBanner, SshEvent, SshKexInit, SshMalformed

FLOW = FlowContext(1, 6, "192.0.2.10", 50000, "192.0.2.20", 22)


def name_list(names: list[str]) -> bytes:
    text = ",".join(names).encode()
    return struct.pack("!I", len(text)) + text


def packet(payload: bytes) -> bytes:
    padding = 8 - (len(payload) + 5) % 8 + 4
    body = bytes([padding]) + payload + b"\0" * padding
    return struct.pack("!I", len(body)) + body


def kexinit(kex: list[str]) -> bytes:
    lists = [
        kex,
        ["ssh-ed25519"],
        ["aes128-ctr"],
        ["aes128-ctr"],
        ["hmac-sha2-256"],
        ["hmac-sha2-256"],
        ["none"],
        ["none"],
        [],
        [],
    ]
    payload = bytes([20]) + os.urandom(16) + b"".join(name_list(x) for x in lists) + b"\0" * 5
    return packet(payload)


def run(chunks: list[tuple[int, bytes]]) -> list[Event]:
    d = SshDissector(FLOW)
    out: list[Event] = []
    for frame, (direction, data) in enumerate(chunks, start=1):
        out.extend(d.on_data(direction, data, frame, frame))
    return out


def test_banners_and_kexinit_both_sides() -> None:
    pq = ["mlkem768x25519-sha256", "sntrup761x25519-sha512", "curve25519-sha256"]
    events = run(
        [
            (1, b"SSH-2.0-OpenSSH_9.9 Debian-1\r\n" + kexinit(pq)),
            (0, b"SSH-2.0-dropbear_2022.83\r\n"),
            (0, kexinit(["curve25519-sha256"])[:10]),
            (0, kexinit(["curve25519-sha256"])[10:] + packet(b"\x15") + b"encrypted garbage"),
            (1, packet(b"\x15") + b"\x00\x00\xff\xff more encrypted"),
        ]
    )
    server_banner, server_kex, client_banner, client_kex = events
    assert isinstance(server_banner, SshBanner)
    assert (server_banner.sender, server_banner.software, server_banner.comments) == (
        "server",
        "OpenSSH_9.9",
        "Debian-1",
    )
    assert server_banner.protocol_version == "2.0"
    assert isinstance(server_kex, SshKexInit)
    assert server_kex.kex_algorithms == tuple(pq)
    assert server_kex.post_quantum_kex == tuple(pq[:2])
    assert server_kex.host_key_algorithms == ("ssh-ed25519",)
    assert server_kex.macs_server_to_client == ("hmac-sha2-256",)
    assert isinstance(client_banner, SshBanner)
    assert client_banner.sender == "client"
    assert client_banner.comments is None
    assert isinstance(client_kex, SshKexInit)
    assert client_kex.frame == 4
    assert client_kex.post_quantum_kex == ()


def test_lines_before_the_banner_are_skipped() -> None:
    events = run([(1, b"Welcome\r\nSSH-2.0-X\r\n")])
    assert [type(e) for e in events] == [SshBanner]


def test_bad_kexinit_is_malformed() -> None:
    events = run([(0, b"SSH-2.0-X\r\n" + packet(bytes([20]) + b"c" * 16 + b"\xff\xff"))])
    assert isinstance(events[1], SshMalformed)


def test_probe() -> None:
    assert SshDissector.probe(b"SSH-2.0-OpenSSH_8.9\r\n", 1) >= 0.9
    assert SshDissector.probe(b"GET / HTTP/1.1\r\n", 0) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 400))
def test_fuzz_only_ssh_events(blob: bytes, cut: int) -> None:
    data = b"SSH-2.0-X\r\n" + blob
    events = run([(0, data[:cut]), (0, data[cut:]), (1, blob)])
    assert all(isinstance(e, SshEvent) for e in events)
