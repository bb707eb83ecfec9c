"""Modbus/TCP parsing: MBAP framing and PDU fields, request and response forms.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData
from .codes import FUNCTION_CODES, device_object_name

MBAP_LEN = 7
MAX_ADU = 260  # 7-byte MBAP + 253-byte PDU
MAX_VALUES = 256  # values kept per message (a full read is 125 registers / 2000 coils)


def adu_length(buf: bytes | bytearray) -> int:
    """Length of the ADU at the start of ``buf`` (for stream framing)."""
    if len(buf) < 6:
        raise NeedMoreData
    pid, length = struct.unpack_from("!HH", buf, 2)
    if pid != 0 or length < 2 or length > MAX_ADU - 6:
        raise Malformed(f"not an MBAP header (protocol id {pid}, length {length})")
    return 6 + int(length)


@dataclass(slots=True)
class Pdu:
    """The fields otsight keeps from one PDU."""

    transaction_id: int
    unit_id: int
    function_code: int  # with the exception bit, as on the wire
    address: int | None = None
    quantity: int | None = None
    sub_function: int | None = None
    write_address: int | None = None
    write_quantity: int | None = None
    values: tuple[int, ...] | None = None
    exception_code: int | None = None
    objects: dict[str, str] = field(default_factory=dict)
    more_follows: bool | None = None


def split_adu(adu: bytes) -> tuple[int, int, bytes]:
    tid, _pid, _length, unit = struct.unpack_from("!HHHB", adu, 0)
    return tid, unit, adu[MBAP_LEN:]


def _registers(data: bytes) -> tuple[int, ...]:
    n = min(len(data) // 2, MAX_VALUES)
    return struct.unpack_from(f"!{n}H", data, 0)


def _bits(data: bytes, count: int | None) -> tuple[int, ...]:
    bits = [(b >> k) & 1 for b in data for k in range(8)]
    if count is not None:
        bits = bits[:count]
    return tuple(bits[:MAX_VALUES])


def _need(pdu: bytes, n: int, what: str) -> None:
    if len(pdu) < n:
        raise Malformed(f"{what}: PDU of {len(pdu)} bytes, need {n}")


def parse_request(adu: bytes) -> Pdu:
    tid, unit, pdu = split_adu(adu)
    _need(pdu, 1, "request")
    fc = pdu[0]
    p = Pdu(tid, unit, fc)
    body = pdu[1:]
    if fc in (1, 2, 3, 4):
        _need(body, 4, FUNCTION_CODES[fc])
        p.address, p.quantity = struct.unpack_from("!HH", body)
    elif fc in (5, 6):
        _need(body, 4, FUNCTION_CODES[fc])
        p.address, value = struct.unpack_from("!HH", body)
        p.quantity = 1
        p.values = (1 if value == 0xFF00 else 0,) if fc == 5 else (value,)
    elif fc in (15, 16):
        _need(body, 5, FUNCTION_CODES[fc])
        p.address, p.quantity, nbytes = struct.unpack_from("!HHB", body)
        data = body[5 : 5 + nbytes]
        p.values = _bits(data, p.quantity) if fc == 15 else _registers(data)
    elif fc == 22:
        _need(body, 6, "mask-write-register")
        p.address, and_mask, or_mask = struct.unpack_from("!HHH", body)
        p.quantity = 1
        p.values = (and_mask, or_mask)
    elif fc == 23:
        _need(body, 9, "read-write-multiple-registers")
        p.address, p.quantity, p.write_address, p.write_quantity, nbytes = struct.unpack_from(
            "!HHHHB", body
        )
        p.values = _registers(body[9 : 9 + nbytes])
    elif fc == 24:
        _need(body, 2, "read-fifo-queue")
        (p.address,) = struct.unpack_from("!H", body)
    elif fc == 8:
        _need(body, 2, "diagnostics")
        (p.sub_function,) = struct.unpack_from("!H", body)
        p.values = _registers(body[2:])
    elif fc == 43:
        _need(body, 1, "encapsulated-interface-transport")
        p.sub_function = body[0]
        if body[0] == 14 and len(body) >= 3:
            p.values = (body[1], body[2])  # read device id code, object id
    elif fc == 90 and len(body) >= 2:
        # Schneider UMAS: a session byte, then the UMAS function (start/stop, program transfer,
        # identification...), which is what the detectors need.
        p.sub_function = body[1]
    return p


def parse_response(adu: bytes, request: Pdu | None) -> Pdu:
    tid, unit, pdu = split_adu(adu)
    _need(pdu, 1, "response")
    fc = pdu[0]
    p = Pdu(tid, unit, fc)
    body = pdu[1:]
    if fc & 0x80:
        _need(body, 1, "exception response")
        p.exception_code = body[0]
        return p
    if request is not None:
        p.address, p.quantity = request.address, request.quantity
    if fc in (1, 2):
        _need(body, 1, FUNCTION_CODES[fc])
        p.values = _bits(body[1 : 1 + body[0]], request.quantity if request else None)
    elif fc in (3, 4, 23):
        _need(body, 1, FUNCTION_CODES[fc])
        p.values = _registers(body[1 : 1 + body[0]])
    elif fc in (5, 6):
        _need(body, 4, FUNCTION_CODES[fc])
        p.address, value = struct.unpack_from("!HH", body)
        p.quantity = 1
        p.values = (1 if value == 0xFF00 else 0,) if fc == 5 else (value,)
    elif fc in (15, 16):
        _need(body, 4, FUNCTION_CODES[fc])
        p.address, p.quantity = struct.unpack_from("!HH", body)
    elif fc == 8:
        _need(body, 2, "diagnostics")
        (p.sub_function,) = struct.unpack_from("!H", body)
        p.values = _registers(body[2:])
    elif fc == 43:
        _need(body, 1, "encapsulated-interface-transport")
        p.sub_function = body[0]
        if body[0] == 14:
            _parse_device_id(body, p)
    elif fc == 90 and request is not None:
        p.sub_function = request.sub_function  # the answer says ok/error, not which function
    return p


def _parse_device_id(body: bytes, p: Pdu) -> None:
    # mei(1) code(1) conformity(1) more(1) next(1) count(1) then objects: id(1) len(1) value
    _need(body, 6, "read-device-identification response")
    p.more_follows = body[3] == 0xFF
    count = body[5]
    i = 6
    for _ in range(count):
        if i + 2 > len(body):
            raise Malformed("device identification object header cut short")
        oid, length = body[i], body[i + 1]
        value = body[i + 2 : i + 2 + length]
        if len(value) < length:
            raise Malformed("device identification object value cut short")
        p.objects[device_object_name(oid)] = value.decode("latin-1")
        i += 2 + length


def looks_like_modbus(data: bytes) -> float:
    """Probe score: every ADU in ``data`` frames exactly and names a plausible function."""
    if len(data) < 8:
        return 0.0
    i = 0
    adus = 0
    known = True
    while i < len(data):
        try:
            n = adu_length(data[i:])
        except (Malformed, NeedMoreData):
            return 0.0
        if n < 8:
            return 0.0
        fc = data[i + 7]
        code = fc & 0x7F
        if code not in FUNCTION_CODES:  # function code scans probe 0 and unassigned codes too
            known = False
        if fc & 0x80 and (i + 8 >= len(data) or data[i + 8] not in range(1, 12)):
            return 0.0
        adus += 1
        i += n
        if i > len(data):
            return 0.3 if adus == 1 and known else 0.0  # one ADU split over segments
    return 0.9 if known else 0.4
