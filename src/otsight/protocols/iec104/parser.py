"""IEC 60870-5-104 parsing: APCI framing and ASDU decoding (bytes in, plain values out)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData
from .codes import (
    DOUBLE_COMMAND,
    REGULATING_STEP,
    RESET_PROCESS,
    SELECT_EXECUTE_OFFSET,
    TYPES,
    U_FUNCTIONS,
    qualifier_of_interrogation,
)

START = 0x68
APCI_LENGTH = 4  # control field octets counted by the length octet
ASDU_HEADER = 6  # type, VSQ, COT, originator, common address (2)
IOA_LENGTH = 3
MAX_OBJECTS_LISTED = 127


def apdu_length(buf: bytes | bytearray) -> int:
    """Length of the APDU at the start of ``buf`` (start octet + length octet + body)."""
    if not buf:
        raise NeedMoreData
    if buf[0] != START:
        raise Malformed("APDU does not start with 0x68")
    if len(buf) < 2:
        raise NeedMoreData
    n = buf[1]
    if n < APCI_LENGTH:
        raise Malformed(f"APDU length {n} shorter than the control field")
    return n + 2


@dataclass(slots=True)
class Apci:
    format: str  # "I", "S" or "U"
    send_seq: int | None
    recv_seq: int | None
    u_control: int | None
    length: int  # value of the length octet


def parse_apci(apdu: bytes) -> Apci:
    if len(apdu) < 6:
        raise Malformed("APDU shorter than its control field")
    c0, c1, c2, c3 = apdu[2], apdu[3], apdu[4], apdu[5]
    rx = (c2 | c3 << 8) >> 1
    if not c0 & 1:
        return Apci("I", (c0 | c1 << 8) >> 1, rx, None, apdu[1])
    if c0 & 3 == 1:
        return Apci("S", None, rx, None, apdu[1])
    return Apci("U", None, None, c0, apdu[1])


@dataclass(slots=True)
class Asdu:
    type_id: int
    sq: bool
    num_objects: int
    cause: int
    test: bool
    negative: bool
    originator: int
    common_address: int
    ioas: tuple[int, ...] = ()
    objects_complete: bool = True
    select: bool | None = None
    command_value: str | int | float | None = None
    command_qualifier: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_asdu(data: bytes) -> Asdu:
    """Decode an ASDU (104 sizes: 2-octet cause with originator, 2-octet common address,
    3-octet information object address)."""
    if len(data) < ASDU_HEADER:
        raise Malformed(f"ASDU of {len(data)} octets is shorter than its header")
    type_id, vsq, cot, oa = data[0], data[1], data[2], data[3]
    asdu = Asdu(
        type_id=type_id,
        sq=bool(vsq & 0x80),
        num_objects=vsq & 0x7F,
        cause=cot & 0x3F,
        test=bool(cot & 0x80),
        negative=bool(cot & 0x40),
        originator=oa,
        common_address=data[4] | data[5] << 8,
    )
    body = data[ASDU_HEADER:]
    n = asdu.num_objects
    if n == 0:
        asdu.objects_complete = not body
        return asdu
    entry = TYPES.get(type_id)
    size = entry[1] if entry else None
    if len(body) < IOA_LENGTH:
        asdu.objects_complete = False
        return asdu
    first = body[0] | body[1] << 8 | body[2] << 16
    if size is None:  # unknown or variable element: only the first address is certain
        asdu.ioas = (first,)
        asdu.objects_complete = False
        return asdu
    if asdu.sq:
        asdu.ioas = tuple(first + i for i in range(min(n, MAX_OBJECTS_LISTED)))
        asdu.objects_complete = len(body) == IOA_LENGTH + n * size
        elements = [body[IOA_LENGTH:]]
    else:
        step = IOA_LENGTH + size
        ioas = []
        elements = []
        for i in range(n):
            off = i * step
            if off + step > len(body):
                break
            ioas.append(body[off] | body[off + 1] << 8 | body[off + 2] << 16)
            elements.append(body[off + IOA_LENGTH : off + step])
        asdu.ioas = tuple(ioas)
        asdu.objects_complete = len(body) == n * step
    if elements and len(elements[0]) >= size:
        _command(asdu, elements[0][:size])
    return asdu


def _command(asdu: Asdu, e: bytes) -> None:
    """Select/execute, qualifier and value of the first information element of a command."""
    t = asdu.type_id
    offset = SELECT_EXECUTE_OFFSET.get(t)
    if offset is not None:
        q = e[offset]
        asdu.select = bool(q & 0x80)
        asdu.command_qualifier = (q >> 2) & 0x1F if offset == 0 else q & 0x7F
    if t in (45, 58):
        asdu.command_value = "on" if e[0] & 1 else "off"
    elif t in (46, 59):
        asdu.command_value = DOUBLE_COMMAND[e[0] & 3]
    elif t in (47, 60):
        asdu.command_value = REGULATING_STEP[e[0] & 3]
    elif t in (48, 61):
        asdu.command_value = struct.unpack_from("<h", e)[0] / 32768.0
    elif t in (49, 62):
        asdu.command_value = struct.unpack_from("<h", e)[0]
    elif t in (50, 63):
        asdu.command_value = struct.unpack_from("<f", e)[0]
    elif t in (51, 64):
        asdu.command_value = struct.unpack_from("<I", e)[0]
    elif t == 100:
        asdu.command_qualifier = e[0]
        asdu.command_value = qualifier_of_interrogation(e[0])
    elif t in (101, 113):
        asdu.command_qualifier = e[0]
        asdu.command_value = e[0]
    elif t == 103:
        asdu.command_value = cp56time(e)
    elif t == 105:
        asdu.command_qualifier = e[0]
        asdu.command_value = RESET_PROCESS.get(e[0], f"unknown-{e[0]}")


def cp56time(e: bytes) -> str:
    """CP56Time2a as ``YYYY-MM-DDTHH:MM:SS.mmm`` (local time of the device, as sent)."""
    ms = e[0] | e[1] << 8
    minute, hour, day, month, year = e[2] & 0x3F, e[3] & 0x1F, e[4] & 0x1F, e[5] & 0x0F, e[6] & 0x7F
    return (
        f"{2000 + year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:"
        f"{ms // 1000:02d}.{ms % 1000:03d}"
    )


def looks_like_iec104(data: bytes) -> float:
    """Score the first payload of a flow: 0x68, a sane length, a consistent control field."""
    if len(data) < 6 or data[0] != START or data[1] < APCI_LENGTH:
        return 0.0
    n = data[1]
    if len(data) < n + 2:
        return 0.2  # a valid prefix only
    c0 = data[2]
    whole = len(data) == n + 2 or data[n + 2] == START  # one APDU, or another one follows
    if c0 & 3 == 3:
        if n == APCI_LENGTH and c0 in U_FUNCTIONS and data[3] == data[4] == data[5] == 0:
            return 0.7 if whole else 0.4
        return 0.1
    if c0 & 3 == 1:
        ok = n == APCI_LENGTH and c0 == 1 and data[3] == 0 and not data[4] & 1
        return 0.5 if ok and whole else 0.1
    if n < APCI_LENGTH + ASDU_HEADER or data[4] & 1 or not whole:
        return 0.1
    entry = TYPES.get(data[6])
    count, cause = data[7] & 0x7F, data[8] & 0x3F
    if entry is None or not 1 <= cause <= 47 or count == 0:
        return 0.2
    size = entry[1]
    body = n - APCI_LENGTH - ASDU_HEADER
    if size is None:
        return 0.5
    expected = IOA_LENGTH + count * size if data[7] & 0x80 else count * (IOA_LENGTH + size)
    return 0.75 if body == expected else 0.3
