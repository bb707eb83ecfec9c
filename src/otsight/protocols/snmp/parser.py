"""SNMP parsing: a bounded BER reader and the v1/v2c/v3 message layouts (RFC 1157, 3416, 3412).

Every function raises only :class:`Malformed` (a datagram is whole: nothing is awaited).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.errors import Malformed
from .codes import PDU_TYPES, SYSTEM_OIDS

MAX_DEPTH = 8
MAX_VARBINDS = 512
MAX_OID_ARCS = 128

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
IP_ADDRESS = 0x40
UNSIGNED_APP = frozenset({0x41, 0x42, 0x43, 0x46, 0x47})  # Counter32, Gauge32, TimeTicks, ...
EXCEPTIONS = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}


def tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, value start, value end) of the TLV at ``pos``; single-byte tags only."""
    if pos + 2 > end:
        raise Malformed("BER truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise Malformed("BER multi-byte tag")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            raise Malformed("BER bad length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise Malformed("BER value overruns its container")
    return tag, pos, pos + length


def expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    t, start, stop = tlv(data, pos, end)
    if t != tag:
        raise Malformed(f"expected tag 0x{tag:02x}, found 0x{t:02x}")
    return start, stop


def integer(data: bytes, start: int, stop: int) -> int:
    if stop - start == 0 or stop - start > 9:
        raise Malformed("bad INTEGER")
    return int.from_bytes(data[start:stop], "big", signed=True)


def oid(data: bytes, start: int, stop: int) -> str:
    if stop == start:
        raise Malformed("empty OID")
    arcs: list[int] = []
    value = 0
    for b in data[start:stop]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
            if len(arcs) > MAX_OID_ARCS:
                raise Malformed("OID too long")
    if data[stop - 1] & 0x80:
        raise Malformed("OID truncated")
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])


def value_text(data: bytes, tag: int, start: int, stop: int) -> str | None:
    """A varbind value as text (strings decoded, OIDs dotted, numbers in decimal)."""
    raw = data[start:stop]
    if tag == OCTET_STRING:
        return raw.decode("utf-8", "replace")
    if tag == OID:
        return oid(data, start, stop)
    if tag == INTEGER:
        return str(integer(data, start, stop)) if raw else None
    if tag in UNSIGNED_APP:
        return str(int.from_bytes(raw, "big"))
    if tag == IP_ADDRESS and len(raw) == 4:
        return ".".join(str(b) for b in raw)
    if tag in EXCEPTIONS:
        return EXCEPTIONS[tag]
    return None


@dataclass(slots=True)
class Pdu:
    pdu_tag: int
    request_id: int | None = None
    error_status: int | None = None
    error_index: int | None = None
    non_repeaters: int | None = None
    max_repetitions: int | None = None
    enterprise: str | None = None
    agent_address: str | None = None
    generic_trap: int | None = None
    specific_trap: int | None = None
    oids: list[str] = field(default_factory=list)
    system: dict[str, str] = field(default_factory=dict)  # sys_descr, sys_name, ...


@dataclass(slots=True)
class Message:
    version: int
    community: bytes | None = None  # v1/v2c only; the dissector keeps the category, not this
    pdu: Pdu | None = None  # None when a v3 PDU is encrypted
    msg_id: int | None = None
    msg_flags: int | None = None
    security_model: int | None = None
    engine_id: bytes | None = None
    engine_boots: int | None = None
    user_name: str | None = None
    context_engine_id: bytes | None = None
    context_name: str | None = None
    encrypted: bool = False


def looks_like_snmp(data: bytes) -> float:
    """Score a datagram: SEQUENCE { INTEGER version 0/1/3, ... } that parses."""
    if len(data) < 8 or data[0] != SEQUENCE:
        return 0.0
    try:
        msg = parse_message(data)
    except Malformed:
        return 0.0
    return 0.9 if msg.pdu is not None or msg.encrypted else 0.5


def parse_pdu(data: bytes, pos: int, end: int) -> Pdu:
    tag, start, stop = tlv(data, pos, end)
    if tag not in PDU_TYPES:
        raise Malformed(f"unknown PDU tag 0x{tag:02x}")
    pdu = Pdu(tag)
    p = start
    if tag == 0xA4:  # SNMPv1 Trap-PDU
        s, e = expect(data, p, stop, OID)
        pdu.enterprise = oid(data, s, e)
        t, s, e = tlv(data, e, stop)
        pdu.agent_address = value_text(data, t, s, e)
        s, e = expect(data, e, stop, INTEGER)
        pdu.generic_trap = integer(data, s, e)
        s, e = expect(data, e, stop, INTEGER)
        pdu.specific_trap = integer(data, s, e)
        _t, _s, p = tlv(data, e, stop)  # time-stamp
    else:
        ints = []
        for _ in range(3):
            s, p = expect(data, p, stop, INTEGER)
            ints.append(integer(data, s, p))
        pdu.request_id = ints[0]
        if tag == 0xA5:
            pdu.non_repeaters, pdu.max_repetitions = ints[1], ints[2]
        else:
            pdu.error_status, pdu.error_index = ints[1], ints[2]
    s, e = expect(data, p, stop, SEQUENCE)
    response = tag in (0xA2, 0xA4, 0xA6, 0xA7, 0xA8)
    while s < e:
        if len(pdu.oids) >= MAX_VARBINDS:
            raise Malformed("too many varbinds")
        vs, ve = expect(data, s, e, SEQUENCE)
        os_, oe = expect(data, vs, ve, OID)
        name = oid(data, os_, oe)
        pdu.oids.append(name)
        vt, vvs, vve = tlv(data, oe, ve)
        field_name = SYSTEM_OIDS.get(name)
        if response and field_name is not None:
            text = value_text(data, vt, vvs, vve)
            if text is not None and vt not in EXCEPTIONS:
                pdu.system[field_name] = text
        s = ve
    return pdu


def parse_message(data: bytes) -> Message:
    s, e = expect(data, 0, len(data), SEQUENCE)
    vs, ve = expect(data, s, e, INTEGER)
    version = integer(data, vs, ve)
    if version in (0, 1):
        cs, ce = expect(data, ve, e, OCTET_STRING)
        msg = Message(version, community=data[cs:ce])
        msg.pdu = parse_pdu(data, ce, e)
        return msg
    if version != 3:
        raise Malformed(f"unknown SNMP version {version}")
    msg = Message(3)
    gs, ge = expect(data, ve, e, SEQUENCE)
    p = gs
    values = []
    for tag in (INTEGER, INTEGER, OCTET_STRING, INTEGER):
        s2, p = expect(data, p, ge, tag)
        values.append((s2, p))
    msg.msg_id = integer(data, *values[0])
    fs, fe = values[2]
    if fe - fs != 1:
        raise Malformed("msgFlags must be one octet")
    msg.msg_flags = data[fs]
    msg.security_model = integer(data, *values[3])
    ps, pe = expect(data, ge, e, OCTET_STRING)
    if msg.security_model == 3 and pe > ps:
        us, ue = expect(data, ps, pe, SEQUENCE)
        es, ee = expect(data, us, ue, OCTET_STRING)
        msg.engine_id = data[es:ee]
        bs, be = expect(data, ee, ue, INTEGER)
        msg.engine_boots = integer(data, bs, be) if be > bs else None
        _ts, te = expect(data, be, ue, INTEGER)
        ns, ne = expect(data, te, ue, OCTET_STRING)
        msg.user_name = data[ns:ne].decode("utf-8", "replace")
    tag, ds, de = tlv(data, pe, e)
    if tag == OCTET_STRING:
        msg.encrypted = True
        return msg
    if tag != SEQUENCE:
        raise Malformed("msgData is neither a ScopedPDU nor encrypted")
    cs, ce = expect(data, ds, de, OCTET_STRING)
    msg.context_engine_id = data[cs:ce]
    ns, ne = expect(data, ce, de, OCTET_STRING)
    msg.context_name = data[ns:ne].decode("utf-8", "replace")
    msg.pdu = parse_pdu(data, ne, de)
    return msg
