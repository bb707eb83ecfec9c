"""SSH parsing: banner lines, binary packet framing, KEXINIT name-lists."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...core.errors import Malformed, NeedMoreData

MAX_BANNER = 255
MAX_PACKET = 35000
MSG_KEXINIT = 20
MSG_NEWKEYS = 21
POST_QUANTUM_KEX = frozenset(
    {
        "sntrup761x25519-sha512",
        "sntrup761x25519-sha512@openssh.com",
        "mlkem768x25519-sha256",
        "mlkem768nistp256-sha256",
        "mlkem1024nistp384-sha384",
    }
)


def looks_like_ssh(data: bytes) -> float:
    if data.startswith((b"SSH-2.0-", b"SSH-1.99-")):
        return 0.95
    if data.startswith(b"SSH-1."):
        return 0.8
    return 0.0


@dataclass(frozen=True, slots=True)
class Banner:
    protocol_version: str
    software: str
    comments: str | None
    raw: str


def parse_banner(line: bytes) -> Banner:
    text = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
    if not text.startswith("SSH-"):
        raise Malformed("not an SSH identification string")
    ident, _, comments = text.partition(" ")
    parts = ident.split("-", 2)
    if len(parts) < 3:
        raise Malformed("identification string without a software version")
    return Banner(parts[1], parts[2], comments or None, text)


def packet_length(buf: bytes | bytearray) -> int:
    if len(buf) < 5:
        raise NeedMoreData
    (length,) = struct.unpack_from("!I", buf, 0)
    padding = buf[4]
    if length < 5 or length > MAX_PACKET or padding >= length:
        raise Malformed(f"not an SSH binary packet (length {length})")
    return 4 + int(length)


def packet_payload(packet: bytes) -> bytes:
    padding = packet[4]
    return packet[5 : len(packet) - padding]


def parse_kexinit(payload: bytes) -> list[tuple[str, ...]]:
    """The ten name-lists of a KEXINIT payload (message byte first)."""
    if not payload or payload[0] != MSG_KEXINIT:
        raise Malformed("not a KEXINIT")
    pos = 17  # message byte + 16-byte cookie
    lists = []
    for _ in range(10):
        if pos + 4 > len(payload):
            raise Malformed("KEXINIT truncated")
        (n,) = struct.unpack_from("!I", payload, pos)
        pos += 4
        if pos + n > len(payload):
            raise Malformed("KEXINIT name-list overruns the packet")
        text = payload[pos : pos + n].decode("ascii", errors="replace")
        lists.append(tuple(text.split(",")) if text else ())
        pos += n
    return lists
