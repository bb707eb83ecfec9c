"""MQTT parsing: fixed-header framing and the variable header / payload of every packet type.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only. The
password of a CONNECT is never kept, only whether one is present. MQTT 5 properties are
skipped by their declared length (and checked to fit).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...core.errors import Malformed, NeedMoreData
from .codes import (
    AUTH,
    CONNACK,
    CONNECT,
    DISCONNECT,
    MESSAGE_TYPES,
    PINGREQ,
    PINGRESP,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    REQUIRED_FLAGS,
    SUBACK,
    SUBSCRIBE,
    UNSUBACK,
    UNSUBSCRIBE,
)

PREVIEW = 64  # bytes of a printable PUBLISH payload kept
MAX_FILTERS = 64  # topic filters kept per SUBSCRIBE / UNSUBSCRIBE
PROTOCOL_NAMES = frozenset({"MQTT", "MQIsdp"})


def frame_length(buf: bytes | bytearray) -> int:
    """Length of the packet at the start of ``buf`` (fixed header + remaining length)."""
    if len(buf) < 2:
        raise NeedMoreData
    remaining, header = _varint_at(buf, 1)
    return header + remaining


def _varint_at(buf: bytes | bytearray, offset: int) -> tuple[int, int]:
    """(value, offset after it) of the variable byte integer at ``offset``."""
    value = 0
    for k in range(4):
        if offset + k >= len(buf):
            raise NeedMoreData
        b = buf[offset + k]
        value |= (b & 0x7F) << (7 * k)
        if not b & 0x80:
            return value, offset + k + 1
    raise Malformed("remaining length longer than 4 bytes")


@dataclass(slots=True)
class Packet:
    """The fields otsight keeps from one MQTT control packet."""

    message_type: int
    flags: int
    remaining_length: int
    packet_id: int | None = None
    reason_code: int | None = None
    reason_codes: tuple[int, ...] = ()
    properties_length: int | None = None
    # PUBLISH
    topic: str | None = None
    qos: int | None = None
    retain: bool | None = None
    dup: bool | None = None
    payload_length: int | None = None
    payload_preview: str | None = None
    # SUBSCRIBE / UNSUBSCRIBE
    topic_filters: tuple[str, ...] = ()
    requested_qos: tuple[int, ...] = ()
    # CONNECT
    protocol_name: str | None = None
    protocol_level: int | None = None
    clean_session: bool | None = None
    keep_alive: int | None = None
    client_id: str | None = None
    will_flag: bool | None = None
    will_qos: int | None = None
    will_retain: bool | None = None
    will_topic: str | None = None
    username_present: bool | None = None
    username: str | None = None
    password_present: bool | None = None
    # CONNACK
    session_present: bool | None = None
    flags_valid: bool = True
    violation: str | None = None  # a protocol violation that did not stop parsing


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def left(self) -> int:
        return self.end - self.pos

    def need(self, n: int, what: str) -> None:
        if self.pos + n > self.end:
            raise Malformed(f"{what}: {self.left()} bytes left, need {n}")

    def u8(self, what: str) -> int:
        self.need(1, what)
        v = self.data[self.pos]
        self.pos += 1
        return v

    def u16(self, what: str) -> int:
        self.need(2, what)
        (v,) = struct.unpack_from("!H", self.data, self.pos)
        self.pos += 2
        return int(v)

    def binary(self, what: str) -> bytes:
        n = self.u16(what)
        self.need(n, what)
        v = self.data[self.pos : self.pos + n]
        self.pos += n
        return v

    def string(self, what: str) -> str:
        return self.binary(what).decode("utf-8", "replace")

    def skip_binary(self, what: str) -> None:
        n = self.u16(what)
        self.need(n, what)
        self.pos += n

    def varint(self, what: str) -> int:
        try:
            value, after = _varint_at(self.data[: self.end], self.pos)
        except NeedMoreData:
            raise Malformed(f"{what}: variable integer cut short") from None
        self.pos = after
        return value

    def properties(self, what: str) -> int:
        """Skip MQTT 5 properties; return their length."""
        n = self.varint(f"{what} property length")
        self.need(n, f"{what} properties")
        self.pos += n
        return n


def _preview(payload: bytes) -> str | None:
    head = payload[:PREVIEW]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        if len(payload) > PREVIEW:  # a multi-byte character cut at the edge
            try:
                text = head[:-3].decode("utf-8") if len(head) > 3 else ""
            except UnicodeDecodeError:
                return None
        else:
            return None
    if not text or not text.isprintable():
        return None
    return text


def parse_packet(msg: bytes, level: int | None) -> Packet:
    """Parse one complete packet. ``level`` is the protocol level of the connection (5 turns
    on properties and reason codes; None means unknown and is read as 3.1.1)."""
    remaining, pos = _varint_at(msg, 1)
    if pos + remaining != len(msg):
        raise Malformed("packet length does not match its remaining length")
    mtype, flags = msg[0] >> 4, msg[0] & 0x0F
    p = Packet(mtype, flags, remaining)
    if mtype not in MESSAGE_TYPES:
        raise Malformed(f"reserved message type {mtype}")
    p.flags_valid = REQUIRED_FLAGS.get(mtype, flags) == flags
    if not p.flags_valid:
        p.violation = f"reserved fixed-header flags {flags:#x}"
    r = _Reader(msg, pos, len(msg))
    v5 = level == 5
    if mtype == CONNECT:
        _connect(r, p)
    elif mtype == CONNACK:
        ack = r.u8("connack flags")
        p.session_present = bool(ack & 1)
        p.reason_code = r.u8("connack return code")
        if v5 and r.left():
            p.properties_length = r.properties("connack")
    elif mtype == PUBLISH:
        p.qos = (flags >> 1) & 3
        p.retain = bool(flags & 1)
        p.dup = bool(flags & 8)
        if p.qos == 3:
            p.violation = "PUBLISH with QoS 3"
        p.topic = r.string("topic")
        if p.qos:
            p.packet_id = r.u16("packet id")
        if v5:
            p.properties_length = r.properties("publish")
        payload = msg[r.pos :]
        p.payload_length = len(payload)
        p.payload_preview = _preview(payload)
    elif mtype in (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK):
        p.packet_id = r.u16("packet id")
        if v5 and mtype == UNSUBACK:
            p.properties_length = r.properties("unsuback")
            p.reason_codes = tuple(msg[r.pos :])
        elif v5 and r.left():
            p.reason_code = r.u8("reason code")
            if r.left():
                p.properties_length = r.properties("ack")
    elif mtype in (SUBSCRIBE, UNSUBSCRIBE):
        p.packet_id = r.u16("packet id")
        if v5:
            p.properties_length = r.properties("subscribe")
        filters: list[str] = []
        options: list[int] = []
        while r.left():
            name = r.string("topic filter")
            if mtype == SUBSCRIBE:
                options.append(r.u8("subscription options"))
            if len(filters) < MAX_FILTERS:
                filters.append(name)
        if not filters:
            raise Malformed(f"{MESSAGE_TYPES[mtype].upper()} without a topic filter")
        p.topic_filters = tuple(filters)
        p.requested_qos = tuple(o & 3 for o in options[:MAX_FILTERS])
    elif mtype == SUBACK:
        p.packet_id = r.u16("packet id")
        if v5:
            p.properties_length = r.properties("suback")
        p.reason_codes = tuple(msg[r.pos :])
    elif mtype in (DISCONNECT, AUTH):
        if r.left():
            p.reason_code = r.u8("reason code")
            if r.left():
                p.properties_length = r.properties(MESSAGE_TYPES[mtype])
    elif mtype in (PINGREQ, PINGRESP) and remaining:
        raise Malformed(f"{MESSAGE_TYPES[mtype].upper()} with a remaining length of {remaining}")
    return p


def _connect(r: _Reader, p: Packet) -> None:
    p.protocol_name = r.string("protocol name")
    p.protocol_level = r.u8("protocol level")
    cflags = r.u8("connect flags")
    p.keep_alive = r.u16("keep alive")
    p.clean_session = bool(cflags & 0x02)
    p.will_flag = bool(cflags & 0x04)
    p.will_qos = (cflags >> 3) & 3
    p.will_retain = bool(cflags & 0x20)
    p.password_present = bool(cflags & 0x40)
    p.username_present = bool(cflags & 0x80)
    v5 = p.protocol_level == 5
    if v5:
        p.properties_length = r.properties("connect")
    p.client_id = r.string("client id")
    if p.will_flag:
        if v5:
            r.properties("will")
        p.will_topic = r.string("will topic")
        r.skip_binary("will payload")
    if p.username_present:
        p.username = r.string("user name")
    if p.password_present:
        r.skip_binary("password")  # presence only: the value is never kept


def connect_level(data: bytes) -> int | None:
    """Protocol level if ``data`` starts with a CONNECT naming MQTT or MQIsdp, else None."""
    if len(data) < 10 or data[0] != 0x10:
        return None
    try:
        _rem, pos = _varint_at(data, 1)
    except (NeedMoreData, Malformed):
        return None
    if len(data) < pos + 9:
        return None
    n = data[pos] << 8 | data[pos + 1]
    name = data[pos + 2 : pos + 2 + n]
    if name not in (b"MQTT", b"MQIsdp") or len(data) <= pos + 2 + n:
        return None
    return data[pos + 2 + n]


def _strict_ok(p: Packet) -> bool:
    """Stricter checks used to recognise a flow joined mid-stream."""
    if p.violation is not None:
        return False
    t = p.message_type
    if t == PUBLISH:
        topic = p.topic or ""
        return (
            bool(topic)
            and topic.isprintable()
            and "+" not in topic
            and "#" not in topic
            and (p.packet_id is None or p.packet_id > 0)
        )
    if t in (SUBSCRIBE, UNSUBSCRIBE):
        return (
            all(f and f.isprintable() for f in p.topic_filters)
            and bool(p.packet_id)
            and all(q < 3 for q in p.requested_qos)
        )
    if t in (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK):
        return bool(p.packet_id) and p.remaining_length == 2
    if t == SUBACK:
        return bool(p.packet_id) and all(c in (0, 1, 2, 0x80) for c in p.reason_codes)
    if t == CONNACK:
        return p.remaining_length == 2 and (p.reason_code or 0) <= 5
    return t in (PINGREQ, PINGRESP, DISCONNECT) and p.remaining_length == 0


def looks_like_mqtt(data: bytes) -> float:
    """0.95 for a CONNECT naming MQTT; 0.4 when the payload is a run of complete packets that
    pass strict checks (a flow joined mid-stream); else 0."""
    level = connect_level(data)
    if level is not None:
        return 0.95 if level in (3, 4, 5) else 0.7
    pos = count = 0
    try:
        while pos < len(data):
            n = frame_length(data[pos:])
            if pos + n > len(data) or n < 2:
                return 0.0
            msg = data[pos : pos + n]
            if not (_strict_ok(parse_packet(msg, None)) or _v5_connack(msg)):
                return 0.0
            pos += n
            count += 1
    except (Malformed, NeedMoreData):
        return 0.0
    return 0.4 if len(data) >= 2 else 0.0


def _v5_connack(msg: bytes) -> bool:
    """An MQTT 5 CONNACK whose properties fill it exactly (a server's first words)."""
    if msg[0] != 0x20 or len(msg) < 5 or msg[2] > 1:
        return False
    code = msg[3]
    if code != 0 and code < 0x80:
        return False
    try:
        p = parse_packet(msg, 5)
    except Malformed:
        return False
    return p.properties_length is not None and p.properties_length + 3 == p.remaining_length
