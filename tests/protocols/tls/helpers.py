"""Builders of TLS records, hellos and a tiny DER certificate, and a runner over raw streams."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.protocols.base import Dissector

FLOW = FlowContext(1, 6, "192.0.2.10", 50000, "192.0.2.20", 443)


def vec(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def ext(ext_type: int, data: bytes) -> bytes:
    return struct.pack("!H", ext_type) + vec(data, 2)


def u16s(values: Iterable[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def client_hello(
    sni: str | None = "plc.example",
    ciphers: Iterable[int] = (0x0A0A, 0x1301, 0xC02F),
    groups: Iterable[int] = (0x11EC, 29, 23),
    versions: Iterable[int] = (0x0304, 0x0303),
    alpn: Iterable[bytes] = (b"h2", b"http/1.1"),
    sigs: Iterable[int] = (0x0403, 0x0804),
) -> bytes:
    exts = b""
    if sni is not None:
        exts += ext(0, vec(b"\0" + vec(sni.encode(), 2), 2))
    exts += ext(10, vec(u16s(groups), 2))
    exts += ext(11, vec(b"\0", 1))
    exts += ext(13, vec(u16s(sigs), 2))
    alpn = list(alpn)
    if alpn:
        exts += ext(16, vec(b"".join(vec(p, 1) for p in alpn), 2))
    exts += ext(43, vec(u16s(versions), 1))
    exts += ext(51, vec(struct.pack("!H", 29) + vec(b"k" * 32, 2), 2))
    body = struct.pack("!H", 0x0303) + b"r" * 32 + vec(b"", 1) + vec(u16s(ciphers), 2)
    body += vec(b"\0", 1) + vec(exts, 2)
    return handshake(1, body)


def server_hello(cipher: int = 0x1301, group: int | None = 0x11EC, tls13: bool = True) -> bytes:
    exts = b""
    if tls13:
        exts += ext(43, struct.pack("!H", 0x0304))
    if group is not None:
        exts += ext(51, struct.pack("!H", group) + vec(b"k" * 32, 2))
    body = struct.pack("!H", 0x0303) + b"s" * 32 + vec(b"", 1) + struct.pack("!HB", cipher, 0)
    body += vec(exts, 2)
    return handshake(2, body)


def handshake(hs_type: int, body: bytes) -> bytes:
    return bytes([hs_type]) + vec(body, 3)


def record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", content_type, version, len(body)) + body


# --- DER
def der(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + value


def oid(text: str) -> bytes:
    parts = [int(p) for p in text.split(".")]
    out = bytes([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        rest = part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return der(0x06, out)


def name(cn: str, org: str) -> bytes:
    return der(
        0x30,
        der(0x31, der(0x30, oid("2.5.4.3") + der(0x0C, cn.encode())))
        + der(0x31, der(0x30, oid("2.5.4.10") + der(0x13, org.encode()))),
    )


def certificate(subject: tuple[str, str], issuer: tuple[str, str], rsa_bits: int = 2048) -> bytes:
    modulus = b"\0" + b"\xc1" + b"\x01" * (rsa_bits // 8 - 1)
    rsa_key = der(0x30, der(0x02, modulus) + der(0x02, b"\x01\x00\x01"))
    spki = der(
        0x30, der(0x30, oid("1.2.840.113549.1.1.1") + b"\x05\x00") + der(0x03, b"\0" + rsa_key)
    )
    validity = der(0x30, der(0x17, b"240101000000Z") + der(0x18, b"20340101000000Z"))
    sig_alg = der(0x30, oid("1.2.840.113549.1.1.11") + b"\x05\x00")
    tbs = der(
        0x30,
        der(0xA0, der(0x02, b"\x02"))
        + der(0x02, b"\x10\x01")
        + sig_alg
        + name(*issuer)
        + validity
        + name(*subject)
        + spki,
    )
    return der(0x30, tbs + sig_alg + der(0x03, b"\0" + b"s" * 64))


def certificate_message(*certs: bytes) -> bytes:
    return handshake(11, vec(b"".join(vec(c, 3) for c in certs), 3))


def run(dissector: type[Dissector], chunks: Iterable[tuple[int, bytes]]) -> list[Event]:
    d = dissector(FLOW)
    events: list[Event] = []
    for frame, (direction, data) in enumerate(chunks, start=1):
        events.extend(d.on_data(direction, data, frame * 1_000_000_000, frame))
    events.extend(d.on_end(0))
    return events
