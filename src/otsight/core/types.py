"""Small shared value types: link types, directions, timestamps."""

from __future__ import annotations

import enum
import ipaddress
import socket


class LinkType(enum.IntEnum):
    """pcap LINKTYPE_* values otsight decodes (https://www.tcpdump.org/linktypes.html)."""

    NULL = 0  # BSD loopback, 4-byte address family in the capturing host's byte order
    ETHERNET = 1
    RAW_OPENBSD = 12  # DLT_RAW on OpenBSD, written as-is by some tools
    RAW_BSD = 14
    RAW = 101
    LOOP = 108  # OpenBSD loopback, address family in network byte order
    LINUX_SLL = 113
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276


SUPPORTED_LINKTYPES = frozenset(int(x) for x in LinkType)


def ts_to_float(ts_ns: int) -> float:
    """Capture time in nanoseconds -> float epoch seconds (the unit events carry)."""
    return ts_ns / 1e9


_IP_CACHE: dict[tuple[int, int], str] = {}
_IP_CACHE_MAX = 1 << 16


def ip_from_words(hi: int, lo: int) -> str:
    """Address from the (hi, lo) 64-bit words used in packet tables.

    IPv4 is stored IPv4-mapped (``::ffff:a.b.c.d``) so both families share one column layout.
    Formatting is cached: the same few hosts are named over and over.
    """
    key = (hi, lo)
    text = _IP_CACHE.get(key)
    if text is not None:
        return text
    if hi == 0 and (lo >> 32) == 0xFFFF:
        text = socket.inet_ntop(socket.AF_INET, (lo & 0xFFFFFFFF).to_bytes(4, "big"))
    else:
        text = str(ipaddress.IPv6Address((hi << 64) | lo))
    if len(_IP_CACHE) >= _IP_CACHE_MAX:
        _IP_CACHE.clear()
    _IP_CACHE[key] = text
    return text


def mac_to_str(mac: int) -> str:
    """48-bit MAC stored in an integer -> ``aa:bb:cc:dd:ee:ff``."""
    raw = mac.to_bytes(6, "big")
    return ":".join(f"{b:02x}" for b in raw)
