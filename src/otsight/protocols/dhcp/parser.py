"""DHCP/BOOTP and DHCPv6 message parsing.

DHCP options are read from the options field, then from ``file`` and ``sname`` when option 52
(overload) says they carry options (RFC 2132 9.3). Repeated options are concatenated
(RFC 3396). An option running past its field is counted in ``malformed_options`` and ends that
field.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData

MAGIC = b"\x63\x82\x53\x63"
_FIXED = struct.Struct(">BBBBIHH4s4s4s4s16s64s128s")


@dataclass(slots=True)
class Dhcp:
    op: int
    hardware_type: int
    hardware_length: int
    hops: int
    transaction_id: int
    seconds: int
    flags: int
    ciaddr: str
    yiaddr: str
    siaddr: str
    giaddr: str
    chaddr: bytes
    sname: bytes
    file: bytes
    options: dict[int, bytes] = field(default_factory=dict)  # code -> value (concatenated)
    order: list[int] = field(default_factory=list)  # option codes as they appear
    overload: int | None = None
    malformed_options: int = 0


def _ip(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def _options(msg: Dhcp, data: bytes) -> None:
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            return
        if i + 1 >= n or i + 2 + data[i + 1] > n:
            msg.malformed_options += 1
            return
        length = data[i + 1]
        value = data[i + 2 : i + 2 + length]
        if code in msg.options:
            msg.options[code] += value
        else:
            msg.options[code] = value
            msg.order.append(code)
        i += 2 + length
    # options must end with option 255 in the options field (RFC 2131 4.1); fields from
    # overloaded sname/file also should, but padding to the end is common and accepted.


def parse(data: bytes) -> Dhcp:
    if len(data) < 240:
        raise NeedMoreData("BOOTP header and magic cookie take 240 bytes")
    if data[236:240] != MAGIC:
        raise Malformed("no DHCP magic cookie")
    op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, ch, sname, file = _FIXED.unpack_from(
        data
    )
    msg = Dhcp(
        op, htype, hlen, hops, xid, secs, flags, _ip(ci), _ip(yi), _ip(si), _ip(gi),
        ch[: min(hlen, 16)], sname, file,
    )  # fmt: skip
    _options(msg, data[240:])
    overload = msg.options.get(52)
    if overload:
        msg.overload = overload[0]
        if msg.overload & 1:
            _options(msg, file)
        if msg.overload & 2:
            _options(msg, sname)
    return msg


def looks_like_dhcp(data: bytes) -> float:
    if len(data) < 240 or data[236:240] != MAGIC or data[0] not in (1, 2) or data[2] > 16:
        return 0.0
    return 0.9


# ---------------------------------------------------------------------------------- DHCPv6
@dataclass(slots=True)
class Dhcpv6:
    message_type: int
    transaction_id: int | None  # None for relay messages
    options: list[tuple[int, bytes]] = field(default_factory=list)
    link_address: str | None = None
    peer_address: str | None = None
    inner: Dhcpv6 | None = None  # the message a relay carries (option 9)
    malformed_options: int = 0


def _v6_options(data: bytes, out: list[tuple[int, bytes]]) -> int:
    """Fills ``out``; returns 1 if the options end malformed, else 0."""
    i = 0
    n = len(data)
    while i < n:
        if i + 4 > n:
            return 1
        code, length = struct.unpack_from(">HH", data, i)
        if i + 4 + length > n:
            return 1
        out.append((code, data[i + 4 : i + 4 + length]))
        i += 4 + length
    return 0


def parse_v6(data: bytes, depth: int = 0) -> Dhcpv6:
    if len(data) < 4:
        raise NeedMoreData("DHCPv6 header is 4 bytes")
    mtype = data[0]
    if mtype in (12, 13):
        if len(data) < 34:
            raise Malformed("truncated relay message")
        msg = Dhcpv6(mtype, None)
        msg.link_address = str(ipaddress.IPv6Address(data[2:18]))
        msg.peer_address = str(ipaddress.IPv6Address(data[18:34]))
        msg.malformed_options = _v6_options(data[34:], msg.options)
        for code, value in msg.options:
            if code == 9 and depth < 8:
                try:
                    msg.inner = parse_v6(value, depth + 1)
                except (Malformed, NeedMoreData):
                    msg.malformed_options += 1
        return msg
    msg = Dhcpv6(mtype, int.from_bytes(data[1:4], "big"))
    msg.malformed_options = _v6_options(data[4:], msg.options)
    return msg


def looks_like_dhcpv6(data: bytes) -> float:
    if len(data) < 8 or not 1 <= data[0] <= 13:
        return 0.0
    try:
        msg = parse_v6(data)
    except (Malformed, NeedMoreData):
        return 0.0
    if msg.malformed_options or not msg.options:
        return 0.0
    if any(code == 0 or code > 200 for code, _ in msg.options):
        return 0.0
    return 0.5


def dns_name(raw: bytes) -> str:
    """An uncompressed DNS wire name (as in DHCP option 81 / DHCPv6 option 39); a name that
    is not wire-encoded is returned as text."""
    labels = []
    i = 0
    while i < len(raw):
        n = raw[i]
        if n == 0:
            break
        if n & 0xC0 or i + 1 + n > len(raw):
            return raw.decode("utf-8", "replace")
        labels.append(raw[i + 1 : i + 1 + n].decode("utf-8", "replace"))
        i += 1 + n
    return ".".join(labels)
