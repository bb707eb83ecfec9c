"""S7comm parsing: TPKT framing, COTP TPDUs, S7comm PDUs and S7comm-plus headers.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import Malformed, NeedMoreData
from .codes import (
    FILE_SYSTEMS,
    SZL_001C_FIELDS,
    area_name,
    block_type_name,
    syntax_name,
    transport_size_name,
)

TPKT_VERSION = 3
TPKT_HEADER = 4
S7_PROTOCOL_ID = 0x32
S7PLUS_PROTOCOL_ID = 0x72

COTP_CR = 0xE0
COTP_CC = 0xD0
COTP_DT = 0xF0
COTP_DR = 0x80
COTP_DC = 0xC0

MAX_ITEMS = 64  # request items kept per message
MAX_RECORDS = 64  # SZL records looked at per response


# --------------------------------------------------------------------------- TPKT / COTP


def tpkt_length(buf: bytes | bytearray) -> int:
    """Length of the TPKT at the start of ``buf`` (RFC 1006 framing)."""
    if len(buf) < 1:
        raise NeedMoreData
    if buf[0] != TPKT_VERSION:
        raise Malformed(f"not a TPKT header (version {buf[0]})")
    if len(buf) < TPKT_HEADER:
        raise NeedMoreData
    if buf[1] != 0:
        raise Malformed(f"TPKT reserved byte {buf[1]} is not 0")
    (length,) = struct.unpack_from("!H", buf, 2)
    if length < TPKT_HEADER + 3:
        raise Malformed(f"TPKT length {length} too short for COTP")
    return int(length)


@dataclass(slots=True)
class Cotp:
    """One COTP TPDU (ISO 8073 class 0, as used by RFC 1006)."""

    pdu_type: int
    eot: bool = True  # DT: last TPDU of the TSDU
    tpdu_number: int = 0
    payload: bytes = b""
    dst_ref: int | None = None
    src_ref: int | None = None
    tpdu_class: int | None = None
    src_tsap: bytes | None = None  # calling TSAP (0xC1)
    dst_tsap: bytes | None = None  # called TSAP (0xC2)
    tpdu_size: int | None = None  # bytes (from the 0xC0 parameter, 2**n)


def parse_cotp(tpkt: bytes) -> Cotp:
    """Parse the COTP TPDU inside one TPKT (``tpkt`` includes the 4-byte TPKT header)."""
    if len(tpkt) < TPKT_HEADER + 2:
        raise Malformed("TPKT too short for a COTP header")
    li = tpkt[4]
    end = TPKT_HEADER + 1 + li
    if li < 1 or end > len(tpkt):
        raise Malformed(f"COTP length indicator {li} does not fit in {len(tpkt)} bytes")
    code = tpkt[5]
    ptype = code & 0xF0
    if ptype == COTP_DT:
        if li < 2:
            raise Malformed("COTP DT header too short")
        nr = tpkt[6]
        return Cotp(COTP_DT, eot=bool(nr & 0x80), tpdu_number=nr & 0x7F, payload=tpkt[end:])
    if ptype in (COTP_CR, COTP_CC, COTP_DR, COTP_DC):
        if li < 6:
            raise Malformed(f"COTP {ptype:#x} header too short")
        dst_ref, src_ref = struct.unpack_from("!HH", tpkt, 6)
        c = Cotp(ptype, dst_ref=dst_ref, src_ref=src_ref, tpdu_class=tpkt[10] >> 4)
        if ptype in (COTP_CR, COTP_CC):
            _cotp_params(tpkt, 11, end, c)
        return c
    return Cotp(ptype, payload=tpkt[end:])


def _cotp_params(tpkt: bytes, i: int, end: int, c: Cotp) -> None:
    while i + 2 <= end:
        code, length = tpkt[i], tpkt[i + 1]
        value = tpkt[i + 2 : i + 2 + length]
        if i + 2 + length > end:
            raise Malformed("COTP parameter runs past the header")
        if code == 0xC1:
            c.src_tsap = value
        elif code == 0xC2:
            c.dst_tsap = value
        elif code == 0xC0 and length == 1 and 7 <= value[0] <= 13:
            c.tpdu_size = 1 << value[0]
        i += 2 + length


def tsap_text(tsap: bytes | None) -> str | None:
    """A TSAP as text: printable ones (``SIMATIC-ROOT-ES``) as is, others as hex."""
    if tsap is None:
        return None
    if len(tsap) > 2 and all(0x20 <= b < 0x7F for b in tsap):
        return tsap.decode("ascii")
    return tsap.hex()


def tsap_rack_slot(tsap: bytes | None) -> tuple[int, int] | None:
    """Rack and slot from a classic 2-byte S7 destination TSAP (0x0102: rack 0, slot 2)."""
    if tsap is None or len(tsap) != 2 or tsap[0] not in (1, 2, 3):
        return None
    return tsap[1] >> 5, tsap[1] & 0x1F


# --------------------------------------------------------------------------- S7comm


@dataclass(slots=True)
class S7Pdu:
    """The fields otsight keeps from one S7comm PDU (protocol id 0x32)."""

    rosctr: int
    pdu_ref: int
    param_length: int
    data_length: int
    parameter: bytes = b""
    data: bytes = b""
    error_class: int | None = None
    error_code: int | None = None
    function_code: int | None = None
    item_count: int | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    return_codes: list[int] = field(default_factory=list)
    max_amq_calling: int | None = None
    max_amq_called: int | None = None
    pdu_length: int | None = None
    filename: str | None = None
    block_type: str | None = None
    block_number: int | None = None
    file_system: str | None = None
    pi_service: str | None = None
    pi_arguments: str | None = None
    # userdata
    method: int | None = None
    userdata_type: int | None = None
    function_group: int | None = None
    subfunction: int | None = None
    sequence_number: int | None = None
    data_unit_ref: int | None = None
    last_data_unit: bool | None = None
    userdata_error: int | None = None
    data_return_code: int | None = None
    userdata_payload: bytes = b""  # data after the 4-byte data header


def parse_s7(data: bytes) -> S7Pdu:
    """Parse one S7comm PDU (COTP DT payload starting with 0x32)."""
    if len(data) < 10:
        raise Malformed(f"S7comm header needs 10 bytes, got {len(data)}")
    if data[0] != S7_PROTOCOL_ID:
        raise Malformed(f"S7comm protocol id {data[0]:#x} is not 0x32")
    rosctr = data[1]
    _redid, pdu_ref, parlg, datlg = struct.unpack_from("!HHHH", data, 2)
    hlen = 12 if rosctr in (2, 3) else 10
    if len(data) < hlen:
        raise Malformed(f"S7comm ack header needs 12 bytes, got {len(data)}")
    if hlen + parlg + datlg > len(data):
        raise Malformed(
            f"S7comm lengths (param {parlg}, data {datlg}) exceed the {len(data)}-byte PDU"
        )
    pdu = S7Pdu(rosctr, pdu_ref, parlg, datlg)
    pdu.parameter = data[hlen : hlen + parlg]
    pdu.data = data[hlen + parlg : hlen + parlg + datlg]
    if hlen == 12:
        pdu.error_class, pdu.error_code = data[10], data[11]
    if rosctr == 7:
        _parse_userdata(pdu)
    elif rosctr in (1, 2, 3) and parlg >= 1:
        pdu.function_code = pdu.parameter[0]
        if rosctr == 1:
            _parse_job(pdu)
        elif rosctr == 3:
            _parse_ack_data(pdu)
    return pdu


def _parse_job(pdu: S7Pdu) -> None:
    p = pdu.parameter
    fc = pdu.function_code
    if fc == 0xF0:
        _setup_communication(pdu)
    elif fc in (0x04, 0x05):
        if len(p) < 2:
            raise Malformed("read/write-var parameter without an item count")
        pdu.item_count = p[1]
        pdu.items = _var_items(p, p[1])
    elif fc in (0x1A, 0x1B, 0x1C, 0x1D):
        _block_filename(pdu)
    elif fc == 0x28:
        _pi_service(pdu)
    elif fc == 0x29 and len(p) >= 7:  # func(1) unknown(5) name length(1) name
        pdu.pi_service = _ascii(p[7 : 7 + p[6]])


def _parse_ack_data(pdu: S7Pdu) -> None:
    p = pdu.parameter
    fc = pdu.function_code
    if fc == 0xF0:
        _setup_communication(pdu)
    elif fc in (0x04, 0x05) and len(p) >= 2:
        pdu.item_count = p[1]
        pdu.return_codes = _data_return_codes(pdu.data, p[1], fc == 0x05)


def _setup_communication(pdu: S7Pdu) -> None:
    p = pdu.parameter
    if len(p) < 8:
        raise Malformed(f"setup-communication parameter of {len(p)} bytes, need 8")
    pdu.max_amq_calling, pdu.max_amq_called, pdu.pdu_length = struct.unpack_from("!HHH", p, 2)


def _var_items(p: bytes, count: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    i = 2
    for _ in range(count):
        if i + 2 > len(p):
            raise Malformed("read/write-var item cut short")
        spec, length = p[i], p[i + 1]
        if i + 2 + length > len(p):
            raise Malformed("read/write-var item runs past the parameter")
        if spec != 0x12 or length < 1:
            raise Malformed(f"read/write-var item specification {spec:#x}")
        syntax = p[i + 2]
        item: dict[str, Any] = {"syntax": syntax_name(syntax)}
        if syntax == 0x10 and length >= 10:
            tsize, count_, db, area = struct.unpack_from("!BHHB", p, i + 3)
            addr = int.from_bytes(p[i + 9 : i + 12], "big")
            item.update(
                area=area_name(area),
                area_code=area,
                db_number=db,
                address=addr >> 3,
                bit=addr & 7,
                length=count_,
                transport_size=transport_size_name(tsize),
            )
        elif syntax == 0xB0 and length >= 6:  # DBREAD: number of areas, then (len, db, start)
            item.update(length=p[i + 4], db_number=struct.unpack_from("!H", p, i + 5)[0])
        if len(items) < MAX_ITEMS:
            items.append(item)
        i += 2 + length
    return items


def _data_return_codes(d: bytes, count: int, write: bool) -> list[int]:
    codes: list[int] = []
    i = 0
    for n in range(count):
        if i >= len(d):
            break
        codes.append(d[i])
        if write:
            i += 1
            continue
        if i + 4 > len(d):
            break
        tsize = d[i + 1]
        (length,) = struct.unpack_from("!H", d, i + 2)
        if tsize in (0x03, 0x04, 0x05):  # bit, byte/word/dword, integer: length in bits
            length = (length + 7) // 8
        i += 4 + length
        if length & 1 and n < count - 1:
            i += 1  # fill byte between items
        if len(codes) >= MAX_ITEMS:
            break
    return codes


def split_block_filename(name: str) -> tuple[str | None, int | None, str | None]:
    """``_0A00001P`` -> (``DB``, 1, ``passive``); parts that do not parse are None."""
    if len(name) < 8:
        return None, None, None
    btype = block_type_name(name[1:3])
    digits = name[3:8]
    number = int(digits) if digits.isdigit() else None
    fs = FILE_SYSTEMS.get(name[8:9], None) if len(name) > 8 else None
    return btype, number, fs


def _block_filename(pdu: S7Pdu) -> None:
    p = pdu.parameter
    if len(p) < 9:
        return
    n = p[8]
    raw = p[9 : 9 + n]
    if not raw:
        return
    pdu.filename = _ascii(raw)
    pdu.block_type, pdu.block_number, pdu.file_system = split_block_filename(pdu.filename)


def _pi_service(pdu: S7Pdu) -> None:
    # func(1) unknown(7) param-block length(2) param block, name length(1), name
    p = pdu.parameter
    if len(p) < 10:
        return
    (blen,) = struct.unpack_from("!H", p, 8)
    block = p[10 : 10 + blen]
    i = 10 + blen
    if i < len(p):
        n = p[i]
        pdu.pi_service = _ascii(p[i + 1 : i + 1 + n])
    if block:
        pdu.pi_arguments = _ascii(block)
        if pdu.pi_service in ("_INSE", "_DELE") and len(block) >= 10:
            # count(2 ascii-ish bytes) then "0A00001P"-style block ids
            name = "_" + _ascii(block[2:10])
            pdu.block_type, pdu.block_number, pdu.file_system = split_block_filename(name)


def _parse_userdata(pdu: S7Pdu) -> None:
    p = pdu.parameter
    if len(p) < 8:
        raise Malformed(f"userdata parameter of {len(p)} bytes, need 8")
    pdu.method = p[4]
    pdu.userdata_type = p[5] >> 4
    pdu.function_group = p[5] & 0x0F
    pdu.subfunction = p[6]
    pdu.sequence_number = p[7]
    if p[3] >= 8 and len(p) >= 12:
        pdu.data_unit_ref = p[8]
        pdu.last_data_unit = p[9] == 0
        (pdu.userdata_error,) = struct.unpack_from("!H", p, 10)
    d = pdu.data
    if len(d) >= 4:
        pdu.data_return_code = d[0]
        (length,) = struct.unpack_from("!H", d, 2)
        pdu.userdata_payload = d[4 : 4 + length]
    elif d:
        pdu.data_return_code = d[0]


@dataclass(slots=True)
class Szl:
    """An SZL (system status list) read: id, index and what otsight keeps of its records."""

    szl_id: int
    szl_index: int
    record_length: int | None = None
    record_count: int | None = None
    identification: dict[str, str] = field(default_factory=dict)


def parse_szl_request(payload: bytes) -> Szl | None:
    if len(payload) < 4:
        return None
    szl_id, index = struct.unpack_from("!HH", payload, 0)
    return Szl(szl_id, index)


def parse_szl_response(payload: bytes) -> Szl:
    """The (reassembled) data of a read-szl response: header, then module identification."""
    if len(payload) < 4:
        raise Malformed("read-szl response shorter than the SZL id and index")
    szl_id, index = struct.unpack_from("!HH", payload, 0)
    s = Szl(szl_id, index)
    if len(payload) < 8:
        return s
    s.record_length, s.record_count = struct.unpack_from("!HH", payload, 4)
    records = payload[8:]
    size = s.record_length
    if not size:
        return s
    kind = szl_id & 0xFF
    for n in range(min(s.record_count, MAX_RECORDS)):
        rec = records[n * size : (n + 1) * size]
        if len(rec) < size:
            break
        if kind == 0x11 and size >= 28:
            _szl_0011_record(rec, s.identification)
        elif kind == 0x1C and size >= 34:
            _szl_001c_record(rec, s.identification)
    return s


def _szl_0011_record(rec: bytes, out: dict[str, str]) -> None:
    index = struct.unpack_from("!H", rec, 0)[0]
    mlfb = _ascii(rec[2:22]).strip()
    _bgtyp, ausbg, ausbe = struct.unpack_from("!HHH", rec, 22)
    version = None
    if ausbg >> 8 == 0x56:  # 'V': version as V x.y.z
        version = f"V{ausbg & 0xFF}.{ausbe >> 8}.{ausbe & 0xFF}"
    if index == 0x0001 and mlfb:
        out["order_number"] = mlfb
    elif index == 0x0006:
        if mlfb and "order_number" not in out:
            out["order_number"] = mlfb
        if version:
            out["hardware_version"] = version
    elif index == 0x0007 and version:
        out["firmware_version"] = version
    elif index == 0x0081 and version:
        out["firmware_extension_version"] = version
    elif index == 0x0082 and version:
        out["boot_loader_version"] = version


def _szl_001c_record(rec: bytes, out: dict[str, str]) -> None:
    index = struct.unpack_from("!H", rec, 0)[0]
    name = SZL_001C_FIELDS.get(index)
    if name is None or index in (0x0009,):
        return
    text = _ascii(rec[2:34].split(b"\x00", 1)[0]).strip()
    if text:
        out[name] = text


def parse_block_request(payload: bytes) -> tuple[str | None, int | None]:
    """Block functions' request data: ``"0A"`` (list of type) or ``"0A00001A"`` (block info)."""
    if len(payload) >= 8:
        btype, number, _fs = split_block_filename("_" + _ascii(payload[:8]))
        return btype, number
    if len(payload) >= 2:
        return block_type_name(_ascii(payload[:2])), None
    return None, None


def _bcd(b: int) -> int:
    hi, lo = b >> 4, b & 0x0F
    if hi > 9 or lo > 9:
        raise Malformed(f"bad BCD byte {b:#x}")
    return hi * 10 + lo


def parse_clock(payload: bytes) -> str | None:
    """An S7 BCD timestamp (10 bytes: reserved, year hi/lo, month, day, h, m, s, ms+weekday)."""
    if len(payload) < 10:
        return None
    try:
        year = _bcd(payload[1]) * 100 + _bcd(payload[2])
        month, day, hour, minute, sec = (_bcd(b) for b in payload[3:8])
        ms = _bcd(payload[8]) * 10 + (payload[9] >> 4)
    except Malformed:
        return None
    if payload[9] >> 4 > 9:
        return None
    if year < 100:  # century byte absent
        year += 1900 if year >= 90 else 2000
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{sec:02d}.{ms:03d}"


# --------------------------------------------------------------------------- S7comm-plus


@dataclass(slots=True)
class S7PlusPdu:
    """The basic header fields of one S7comm-plus PDU (protocol id 0x72)."""

    version: int
    data_length: int
    integrity: bool = False
    opcode: int | None = None
    function_code: int | None = None
    sequence_number: int | None = None
    session_id: int | None = None
    transport_flags: int | None = None
    object_ids: list[int] = field(default_factory=list)


def parse_s7plus(data: bytes) -> S7PlusPdu:
    """Parse the header and data-part header of one S7comm-plus PDU."""
    if len(data) < 4:
        raise Malformed(f"S7comm-plus header needs 4 bytes, got {len(data)}")
    if data[0] != S7PLUS_PROTOCOL_ID:
        raise Malformed(f"S7comm-plus protocol id {data[0]:#x} is not 0x72")
    version = data[1]
    (dlen,) = struct.unpack_from("!H", data, 2)
    pdu = S7PlusPdu(version, dlen)
    body = data[4 : 4 + dlen]
    if version == 0xFF:  # keep-alive: no data part header
        return pdu
    if version == 0x03 and len(body) > 33 and body[0] == 0x20:
        pdu.integrity = True
        body = body[33:]
    if not body:
        return pdu
    opcode = body[0]
    pdu.opcode = opcode
    if opcode in (0x31, 0x32, 0x02):
        if len(body) < 9:
            raise Malformed("S7comm-plus data header cut short")
        _res, pdu.function_code, _res2, pdu.sequence_number = struct.unpack_from("!HHHH", body, 1)
        if opcode == 0x31:
            if len(body) >= 13:
                (pdu.session_id,) = struct.unpack_from("!I", body, 9)
            if len(body) >= 14:
                pdu.transport_flags = body[13]
        elif len(body) >= 10:
            pdu.transport_flags = body[9]
            if pdu.function_code == 0x04CA and opcode == 0x32:
                _create_object_ids(body, 10, pdu)
    elif opcode == 0x33 and len(body) >= 5:
        (pdu.session_id,) = struct.unpack_from("!I", body, 1)  # subscription object id
    return pdu


def read_vlq(data: bytes, i: int, max_bytes: int = 10) -> tuple[int, int]:
    """An S7comm-plus variable-length unsigned integer (7 bits per byte, high bit = more)."""
    value = 0
    for n in range(max_bytes):
        if i + n >= len(data):
            raise Malformed("S7comm-plus VLQ cut short")
        b = data[i + n]
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, i + n + 1
    raise Malformed("S7comm-plus VLQ too long")


def _create_object_ids(body: bytes, i: int, pdu: S7PlusPdu) -> None:
    # return value (VLQ64), object id count (1), object ids (VLQ32)
    try:
        _ret, i = read_vlq(body, i)
        if i >= len(body):
            return
        count = body[i]
        i += 1
        for _ in range(min(count, 8)):
            oid, i = read_vlq(body, i, 5)
            pdu.object_ids.append(oid)
    except Malformed:
        return


# --------------------------------------------------------------------------- probe


def _ascii(raw: bytes) -> str:
    return raw.decode("latin-1")


def looks_like_s7(data: bytes) -> float:
    """Probe score for the first payload of a flow: TPKT + COTP, and S7 inside if present."""
    if len(data) < 7:
        return 0.0
    try:
        n = tpkt_length(data)
    except (Malformed, NeedMoreData):
        return 0.0
    li = data[4]
    if n > len(data):
        if li < 2 or 5 + li > len(data):
            return 0.0
    elif n < 5 + li:
        return 0.0
    elif n < len(data):  # more TPKTs follow: they must frame too
        j = n
        while j < len(data):
            try:
                m = tpkt_length(data[j:])
            except Malformed:
                return 0.0
            except NeedMoreData:
                break
            j += m
    ptype = data[5] & 0xF0
    if ptype == COTP_DT:
        if li != 2 or len(data) < 8:
            return 0.0
        if len(data) == 7:
            return 0.3
        proto = data[7]
        if proto == S7_PROTOCOL_ID and len(data) >= 9 and data[8] in (1, 2, 3, 7):
            return 0.95
        if proto == S7PLUS_PROTOCOL_ID and len(data) >= 9 and data[8] in (1, 2, 3, 0xFE, 0xFF):
            return 0.9
        return 0.0
    if ptype in (COTP_CR, COTP_CC):
        if li < 6 or n > len(data):
            return 0.0
        try:
            c = parse_cotp(bytes(data[:n]))
        except Malformed:
            return 0.0
        for tsap in (c.dst_tsap, c.src_tsap):
            if tsap is not None and tsap.startswith(b"SIMATIC"):
                return 0.85
        # classic TSAPs: called = connection type (1 PG, 2 OP, 3 other) + rack/slot, calling
        # with a non-zero first byte; MMS (IEC 61850) uses 0x0001/0x0002-style TSAPs
        src_ok = c.src_tsap is None or (len(c.src_tsap) >= 1 and c.src_tsap[0] != 0)
        if c.dst_tsap is not None and len(c.dst_tsap) == 2 and c.dst_tsap[0] in (1, 2, 3):
            return 0.7 if src_ok else 0.2
        return 0.2  # ISO-on-TCP, but TSAPs like MMS's (0x0001): leave it to others
    return 0.0
