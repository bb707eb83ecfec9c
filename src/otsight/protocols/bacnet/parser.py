"""BACnet/IP parsing: BVLC header, NPDU, APDU header and the tagged service data."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import Malformed
from .codes import BVLC_FUNCTIONS, NPDU_FUNCTIONS

BVLC_TYPE = 0x81
Value = str | int | float | bool | None


@dataclass(slots=True)
class Bvlc:
    function: int
    length: int
    forwarded_from: str | None = None
    result: int | None = None
    ttl: int | None = None
    npdu: bytes | None = None


def parse_bvlc(data: bytes) -> Bvlc:
    if len(data) < 4:
        raise Malformed("datagram shorter than a BVLC header")
    if data[0] != BVLC_TYPE:
        raise Malformed(f"BVLC type {data[0]:#04x} is not BACnet/IP (0x81)")
    function = data[1]
    length = data[2] << 8 | data[3]
    if length < 4 or length > len(data):
        raise Malformed(f"BVLC length {length} does not fit the datagram of {len(data)}")
    body = data[4:length]
    out = Bvlc(function, length)
    if function == 0x04:
        if len(body) < 6:
            raise Malformed("forwarded-npdu without its originating address")
        out.forwarded_from = f"{'.'.join(str(b) for b in body[:4])}:{body[4] << 8 | body[5]}"
        out.npdu = body[6:]
    elif function in NPDU_FUNCTIONS:
        out.npdu = body
    elif function == 0x00 and len(body) >= 2:
        out.result = body[0] << 8 | body[1]
    elif function == 0x05 and len(body) >= 2:
        out.ttl = body[0] << 8 | body[1]
    return out


@dataclass(slots=True)
class Npdu:
    version: int
    control: int
    dnet: int | None = None
    dadr: str | None = None
    snet: int | None = None
    sadr: str | None = None
    hop_count: int | None = None
    message_type: int | None = None
    vendor_id: int | None = None
    apdu: bytes = b""

    @property
    def network_message(self) -> bool:
        return bool(self.control & 0x80)


def parse_npdu(data: bytes) -> Npdu:
    if len(data) < 2:
        raise Malformed("NPDU shorter than version and control")
    npdu = Npdu(data[0], data[1])
    if npdu.version != 1:
        raise Malformed(f"NPDU version {npdu.version} is not 1")
    off = 2
    try:
        if npdu.control & 0x20:
            npdu.dnet = data[off] << 8 | data[off + 1]
            n = data[off + 2]
            npdu.dadr = data[off + 3 : off + 3 + n].hex(":")
            off += 3 + n
        if npdu.control & 0x08:
            npdu.snet = data[off] << 8 | data[off + 1]
            n = data[off + 2]
            npdu.sadr = data[off + 3 : off + 3 + n].hex(":")
            off += 3 + n
        if npdu.control & 0x20:
            npdu.hop_count = data[off]
            off += 1
        if npdu.control & 0x80:
            npdu.message_type = data[off]
            off += 1
            if npdu.message_type >= 0x80:
                npdu.vendor_id = data[off] << 8 | data[off + 1]
                off += 2
    except IndexError:
        raise Malformed("NPDU header cut short") from None
    if off > len(data):
        raise Malformed("NPDU header cut short")
    npdu.apdu = data[off:]
    return npdu


@dataclass(slots=True)
class Apdu:
    pdu_type: int
    invoke_id: int | None = None
    service: int | None = None
    segmented: bool = False
    more_follows: bool = False
    sequence_number: int | None = None
    flags: int = 0
    reason: int | None = None  # reject / abort reason
    data: bytes = b""


def parse_apdu(data: bytes) -> Apdu:
    if not data:
        raise Malformed("empty APDU")
    t = data[0] >> 4
    a = Apdu(t, flags=data[0] & 0x0F)
    try:
        if t == 0:
            a.segmented, a.more_follows = bool(data[0] & 0x08), bool(data[0] & 0x04)
            a.invoke_id = data[2]
            off = 3
            if a.segmented:
                a.sequence_number = data[3]
                off = 5
            a.service = data[off]
            a.data = data[off + 1 :]
        elif t == 1:
            a.service = data[1]
            a.data = data[2:]
        elif t == 2:
            a.invoke_id, a.service = data[1], data[2]
        elif t == 3:
            a.segmented, a.more_follows = bool(data[0] & 0x08), bool(data[0] & 0x04)
            a.invoke_id = data[1]
            off = 2
            if a.segmented:
                a.sequence_number = data[2]
                off = 4
            a.service = data[off]
            a.data = data[off + 1 :]
        elif t == 4:
            a.invoke_id, a.sequence_number = data[1], data[2]
        elif t == 5:
            a.invoke_id, a.service = data[1], data[2]
            a.data = data[3:]
        elif t in (6, 7):
            a.invoke_id, a.reason = data[1], data[2]
        else:
            raise Malformed(f"APDU type {t} is reserved")
    except IndexError:
        raise Malformed("APDU header cut short") from None
    return a


# ----------------------------------------------------------------------------- tags
@dataclass(slots=True)
class Tag:
    depth: int
    number: int
    context: bool
    kind: str  # "value", "open", "close"
    content: bytes = b""
    lvt: int = 0


@dataclass(slots=True)
class Tags:
    items: list[Tag] = field(default_factory=list)
    complete: bool = True


MAX_TAGS = 4096


def walk(data: bytes) -> Tags:
    """Every tag of the service data with its nesting depth; stops (``complete`` False) at a
    tag that is cut short or nesting that does not balance."""
    out = Tags()
    off, depth, n = 0, 0, len(data)
    while off < n and len(out.items) < MAX_TAGS:
        b = data[off]
        number, context, lvt = b >> 4, bool(b & 0x08), b & 0x07
        off += 1
        if number == 15:
            if off >= n:
                out.complete = False
                return out
            number = data[off]
            off += 1
        if context and lvt == 6:
            out.items.append(Tag(depth, number, True, "open"))
            depth += 1
            continue
        if context and lvt == 7:
            depth -= 1
            if depth < 0:
                out.complete = False
                return out
            out.items.append(Tag(depth, number, True, "close"))
            continue
        if not context and number == 1:  # application boolean: the value is the LVT
            out.items.append(Tag(depth, 1, False, "value", b"", lvt))
            continue
        length = lvt
        if lvt == 5:
            if off >= n:
                out.complete = False
                return out
            length = data[off]
            off += 1
            if length == 254:
                length = int.from_bytes(data[off : off + 2], "big")
                off += 2
            elif length == 255:
                length = int.from_bytes(data[off : off + 4], "big")
                off += 4
        if off + length > n:
            out.complete = False
            return out
        out.items.append(Tag(depth, number, context, "value", data[off : off + length], lvt))
        off += length
    if depth != 0 or off < n:
        out.complete = False
    return out


def unsigned(content: bytes) -> int:
    return int.from_bytes(content, "big")


def object_id(content: bytes) -> tuple[int, int]:
    v = int.from_bytes(content[:4].rjust(4, b"\0"), "big")
    return v >> 22, v & 0x3FFFFF


def char_string(content: bytes) -> str:
    if not content:
        return ""
    charset, raw = content[0], content[1:]
    if charset == 4:
        return raw.decode("utf-16-be", errors="replace")
    if charset == 3:
        return raw.decode("utf-32-be", errors="replace")
    if charset == 5:
        return raw.decode("latin-1")
    if charset == 1:  # DBCS: a two-octet code page first
        return raw[2:].decode("latin-1")
    return raw.decode("utf-8", errors="replace")


def app_value(tag: Tag, object_name: Any = None) -> Value:
    """The value of an application-tagged primitive (objects as ``type,instance`` text)."""
    c = tag.content
    t = tag.number
    if t == 0:
        return None
    if t == 1:
        return bool(tag.lvt)
    if t in (2, 9):
        return unsigned(c)
    if t == 3:
        return int.from_bytes(c, "big", signed=True)
    if t == 4 and len(c) == 4:
        return float(struct.unpack(">f", c)[0])
    if t == 5 and len(c) == 8:
        return float(struct.unpack(">d", c)[0])
    if t == 6:
        return c.hex()
    if t == 7:
        return char_string(c)
    if t == 8:
        return c.hex()
    if t == 10 and len(c) == 4:
        year = "*" if c[0] == 255 else str(1900 + c[0])
        return f"{year}-{c[1]:02d}-{c[2]:02d}" if 255 not in c[1:3] else f"{year}-*"
    if t == 11 and len(c) == 4:
        return f"{c[0]:02d}:{c[1]:02d}:{c[2]:02d}.{c[3]:02d}"
    if t == 12 and len(c) == 4:
        ot, inst = object_id(c)
        name = object_name(ot) if object_name else str(ot)
        return f"{name},{inst}"
    return c.hex()


def looks_like_bacnet(data: bytes) -> float:
    """Score a datagram: BVLC type 0x81, a known function, a length equal to the datagram, a
    version-1 NPDU where one is carried."""
    if len(data) < 4 or data[0] != BVLC_TYPE or data[1] not in BVLC_FUNCTIONS:
        return 0.0
    if data[2] << 8 | data[3] != len(data):
        return 0.1
    function = data[1]
    if function in NPDU_FUNCTIONS:
        off = 10 if function == 0x04 else 4
        if len(data) < off + 2 or data[off] != 0x01 or data[off + 1] & 0x50:
            return 0.1
        return 0.7
    return 0.55 if len(data) <= 1500 else 0.1
