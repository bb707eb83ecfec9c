"""DNP3 parsing: link frames (with CRC checks), transport segments, application fragments.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData
from .codes import HEADER_ONLY_REQUESTS, RESPONSE_FUNCTIONS

START = b"\x05\x64"
HEADER_LEN = 10  # start(2) length(1) control(1) destination(2) source(2) crc(2)
MAX_USER_DATA = 250  # length octet 255 minus control and addresses
MAX_OBJECT_HEADERS = 64  # headers kept per fragment


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """The DNP3 CRC (polynomial 0x3D65, reflected, complemented), as sent little-endian."""
    crc = 0
    table = _CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return ~crc & 0xFFFF


def _crc_ok(data: bytes | bytearray, start: int, end: int) -> bool:
    crc = crc16(memoryview(data)[start:end])
    return data[end] == crc & 0xFF and data[end + 1] == crc >> 8


def frame_length(buf: bytes | bytearray) -> int:
    """Length of the link frame at the start of ``buf`` (for stream framing). A frame starts
    with 0x05 0x64, a length of at least 5 and a good header CRC; anything else is Malformed."""
    n = len(buf)
    if (n >= 1 and buf[0] != 0x05) or (n >= 2 and buf[1] != 0x64):
        raise Malformed("no DNP3 start octets")
    if n < HEADER_LEN:
        raise NeedMoreData
    length = buf[2]
    if length < 5:
        raise Malformed(f"link length {length} below 5")
    if not _crc_ok(buf, 0, 8):
        raise Malformed("link header CRC error")
    user = length - 5
    return HEADER_LEN + user + 2 * ((user + 15) // 16)


@dataclass(slots=True)
class LinkFrame:
    """One data link frame, CRCs stripped from its user data."""

    control: int
    destination: int
    source: int
    user_data: bytes
    bad_crc_blocks: int = 0  # 16-octet data blocks whose CRC did not check

    @property
    def direction(self) -> bool:  # DIR: set on frames from a master
        return bool(self.control & 0x80)

    @property
    def primary(self) -> bool:  # PRM: set on frames from the initiating station
        return bool(self.control & 0x40)

    @property
    def fcb(self) -> bool:
        return bool(self.control & 0x20)

    @property
    def fcv(self) -> bool:  # FCV when primary, DFC (data flow control) when secondary
        return bool(self.control & 0x10)

    @property
    def function(self) -> int:
        return self.control & 0x0F

    @property
    def carries_user_data(self) -> bool:
        # Normally confirmed/unconfirmed user data (3, 4); like tshark, data on any primary
        # frame but reset-link-states and request-link-status is decoded.
        return self.primary and self.function not in (0, 9) and len(self.user_data) > 0


def parse_link_frame(frame: bytes | bytearray) -> LinkFrame:
    """Decode one whole link frame (as cut by :func:`frame_length`)."""
    total = frame_length(frame)
    if len(frame) < total:
        raise NeedMoreData
    control = frame[3]
    destination = frame[4] | frame[5] << 8
    source = frame[6] | frame[7] << 8
    user = bytearray()
    bad = 0
    i = HEADER_LEN
    while i < total:
        end = min(i + 16, total - 2)
        if not _crc_ok(frame, i, end):
            bad += 1
        user += frame[i:end]
        i = end + 2
    return LinkFrame(control, destination, source, bytes(user), bad)


@dataclass(slots=True)
class Segment:
    """One transport segment: the first octet of a link frame's user data, then its payload."""

    fin: bool
    fir: bool
    sequence: int
    payload: bytes


def parse_transport(user_data: bytes) -> Segment:
    if not user_data:
        raise Malformed("empty transport segment")
    h = user_data[0]
    return Segment(bool(h & 0x80), bool(h & 0x40), h & 0x3F, user_data[1:])


@dataclass(slots=True)
class Fragment:
    """An application fragment: control, function, IIN (responses) and object headers."""

    control: int
    function_code: int
    iin: int | None = None
    # (group, variation, qualifier, count) per object header, in order
    objects: list[tuple[int, int, int, int]] = field(default_factory=list)
    objects_complete: bool = True  # False when object data could not be walked to the end
    length: int = 0

    @property
    def fir(self) -> bool:
        return bool(self.control & 0x80)

    @property
    def fin(self) -> bool:
        return bool(self.control & 0x40)

    @property
    def con(self) -> bool:
        return bool(self.control & 0x20)

    @property
    def uns(self) -> bool:
        return bool(self.control & 0x10)

    @property
    def sequence(self) -> int:
        return self.control & 0x0F


# Octets per object for fixed-size variations; (group, variation) -> size. Packed-bit
# variations are in _BITS (bits per point).
_SIZES: dict[tuple[int, int], int] = {
    (1, 2): 1, (2, 1): 1, (2, 2): 7, (2, 3): 3, (3, 2): 1, (4, 1): 1, (4, 2): 7, (4, 3): 3,
    (10, 2): 1, (11, 1): 1, (11, 2): 7, (12, 1): 11, (12, 2): 11, (13, 1): 1, (13, 2): 7,
    (20, 1): 5, (20, 2): 3, (20, 3): 5, (20, 4): 3, (20, 5): 4, (20, 6): 2, (20, 7): 4,
    (20, 8): 2,
    (21, 1): 5, (21, 2): 3, (21, 3): 5, (21, 4): 3, (21, 5): 11, (21, 6): 9, (21, 7): 11,
    (21, 8): 9, (21, 9): 4, (21, 10): 2, (21, 11): 4, (21, 12): 2,
    (22, 1): 5, (22, 2): 3, (22, 3): 5, (22, 4): 3, (22, 5): 11, (22, 6): 9, (22, 7): 11,
    (22, 8): 9,
    (23, 1): 5, (23, 2): 3, (23, 3): 5, (23, 4): 3, (23, 5): 11, (23, 6): 9, (23, 7): 11,
    (23, 8): 9,
    (30, 1): 5, (30, 2): 3, (30, 3): 4, (30, 4): 2, (30, 5): 5, (30, 6): 9,
    (31, 1): 5, (31, 2): 3, (31, 3): 11, (31, 4): 9, (31, 5): 4, (31, 6): 2, (31, 7): 5,
    (31, 8): 9,
    (32, 1): 5, (32, 2): 3, (32, 3): 11, (32, 4): 9, (32, 5): 5, (32, 6): 9, (32, 7): 11,
    (32, 8): 15,
    (33, 1): 5, (33, 2): 3, (33, 3): 11, (33, 4): 9, (33, 5): 5, (33, 6): 9, (33, 7): 11,
    (33, 8): 15,
    (34, 1): 2, (34, 2): 4, (34, 3): 4,
    (40, 1): 5, (40, 2): 3, (40, 3): 5, (40, 4): 9,
    (41, 1): 5, (41, 2): 3, (41, 3): 5, (41, 4): 9,
    (42, 1): 5, (42, 2): 3, (42, 3): 11, (42, 4): 9, (42, 5): 5, (42, 6): 9, (42, 7): 11,
    (42, 8): 15,
    (43, 1): 6, (43, 2): 4, (43, 3): 12, (43, 4): 10, (43, 5): 6, (43, 6): 10, (43, 7): 12,
    (43, 8): 16,
    (50, 1): 6, (50, 2): 10, (50, 3): 6, (50, 4): 11, (51, 1): 6, (51, 2): 6,
    (52, 1): 2, (52, 2): 2, (81, 1): 3, (101, 1): 2, (101, 2): 4, (101, 3): 8, (102, 1): 1,
}  # fmt: skip
_BITS: dict[tuple[int, int], int] = {(1, 1): 1, (3, 1): 2, (10, 1): 1, (12, 3): 1, (80, 1): 1}
_PREFIX_LEN = (0, 1, 2, 4, 1, 2, 4)  # by prefix code 0..6 (4..6 are object-size prefixes)
_RANGE_LEN = {0: 2, 1: 4, 2: 8, 3: 2, 4: 4, 5: 8, 6: 0, 7: 1, 8: 2, 9: 4, 11: 1}


class _Stop(Exception):
    """Object data that cannot be walked (unknown size, cut short)."""


def _uint(data: bytes, i: int, n: int) -> int:
    if i + n > len(data):
        raise _Stop
    return int.from_bytes(data[i : i + n], "little")


def _object_data_len(
    data: bytes, i: int, group: int, variation: int, prefix: int, count: int, ranged: bool
) -> int:
    """Octets of object data (with prefixes) after a header at ``i``; raises _Stop."""
    plen = _PREFIX_LEN[prefix]
    if prefix >= 4:  # each object carries its own size
        j = i
        for _ in range(count):
            j += plen + _uint(data, j, plen)
        return j - i
    key = (group, variation)
    bits = _BITS.get(key)
    if bits is not None:
        if ranged and prefix == 0:
            return (count * bits + 7) // 8
        return count * (plen + 1)
    size = _SIZES.get(key)
    if size is None:
        if group in (110, 111, 112, 113) and variation > 0:
            size = variation
        elif group == 0 and variation < 254:  # device attribute: type, length, value
            j = i
            for _ in range(count):
                j += plen
                j += 2 + _uint(data, j + 1, 1)
            return j - i
        else:
            raise _Stop
    return count * (plen + size)


def _add(frag: Fragment, group: int, variation: int, qualifier: int, count: int) -> None:
    if len(frag.objects) < MAX_OBJECT_HEADERS:
        frag.objects.append((group, variation, qualifier, count))


def parse_fragment(data: bytes) -> Fragment:
    """Decode an application fragment: control, function, IIN and every object header that
    can be walked (object data is skipped by the sizes the standard gives)."""
    if len(data) < 2:
        raise Malformed(f"application fragment of {len(data)} octets")
    frag = Fragment(control=data[0], function_code=data[1], length=len(data))
    i = 2
    response = frag.function_code in RESPONSE_FUNCTIONS
    if response:
        if len(data) < 4:
            raise Malformed("response without IIN")
        frag.iin = data[2] << 8 | data[3]
        i = 4
    header_only = not response and frag.function_code in HEADER_ONLY_REQUESTS
    n = len(data)
    try:
        while i < n:
            if i + 3 > n:
                raise _Stop
            group, variation, qualifier = data[i], data[i + 1], data[i + 2]
            prefix, rcode = qualifier >> 4 & 7, qualifier & 0x0F
            rlen = _RANGE_LEN.get(rcode)
            i += 3
            if rlen is None or prefix > 6:  # a header with a reserved qualifier ends the walk
                _add(frag, group, variation, qualifier, 0)
                raise _Stop
            if rcode <= 5:
                start, stop = _uint(data, i, rlen // 2), _uint(data, i + rlen // 2, rlen // 2)
                if stop < start:  # an inverted range: nothing after it can be trusted
                    _add(frag, group, variation, qualifier, 0)
                    raise _Stop
                count = stop - start + 1
            elif rcode == 6:
                count = 0
            else:
                count = _uint(data, i, rlen)
            i += rlen
            _add(frag, group, variation, qualifier, count)
            if rcode == 6 or group == 60 or (header_only and prefix < 4):
                continue  # no object data (size-prefixed objects carry data even in reads)
            i += _object_data_len(data, i, group, variation, prefix, count, rcode <= 5)
            if i > n:
                raise _Stop
    except _Stop:
        frag.objects_complete = False
    return frag


def looks_like_dnp3(data: bytes) -> float:
    """Probe score: a link header with start octets, a sane length and a good header CRC."""
    if len(data) < HEADER_LEN or data[0] != 0x05 or data[1] != 0x64:
        return 0.0
    try:
        frame_length(data)
    except Malformed:
        # Start octets and a sane length but a bad header CRC: claimed on port 20000 only.
        return 0.4 if data[2] >= 5 else 0.0
    except NeedMoreData:  # pragma: no cover - length checked above
        return 0.0
    return 0.95
