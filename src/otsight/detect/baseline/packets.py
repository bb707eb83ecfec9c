"""What the baseline takes from raw packets: frame sources and conversation starts.

Vectorised over a batch: one ``np.unique`` per kind picks the distinct (MAC, IPv4) sources and
the distinct conversation starts, and Python runs once per distinct item, in order of first
appearance. A conversation start is a TCP SYN (client -> server port), an ICMP echo request,
or a UDP datagram (the caller drops replies: a datagram whose reverse edge is known). Local
IPv4 addresses only (private, link-local, documentation ranges): addresses of the internet
are no devices of the site; IPv6 hosts are known by their MAC.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ...core.types import ip_from_words, mac_to_str
from ...decode.table import (
    L3_ARP,
    L3_IPV4,
    L3_IPV6,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_SYN,
)
from ...decode.view import BatchView
from .model import EdgeKey

V4MAPPED = 0xFFFF_0000_0000
MULTICAST_BIT = 1 << 40  # I/G bit of the first octet, in the integer form of a MAC


@dataclass(frozen=True, slots=True)
class Source:
    ts: float
    frame: int
    flow_id: int | None
    mac: str | None
    ip: str | None


@dataclass(frozen=True, slots=True)
class Contact:
    ts: float
    frame: int
    flow_id: int | None
    edge: EdgeKey
    reply_of: EdgeKey | None  # UDP: the edge this datagram would answer


@lru_cache(maxsize=65536)
def local_ipv4(word: int) -> str | None:
    """The dotted address of a local unicast IPv4 (from its 32-bit value), else None."""
    addr = ipaddress.IPv4Address(word)
    if not addr.is_private or addr.is_unspecified or addr.is_multicast or addr.is_loopback:
        return None
    return socket.inet_ntoa(word.to_bytes(4, "big"))


def _firsts(keys: npt.NDArray[np.uint64], idx: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Rows of ``idx`` holding the first occurrence of each distinct key row, in order."""
    _, first = np.unique(keys, axis=0, return_index=True)
    first.sort()
    result: npt.NDArray[np.intp] = idx[first]
    return result


def sources(
    view: BatchView, ts: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_]
) -> list[Source]:
    t = view.table
    mac = t.src_mac.astype(np.uint64)
    ok = mask & (mac != 0) & ((mac & np.uint64(MULTICAST_BIT)) == 0)
    ip_frames = (t.l3 == L3_IPV4) | (t.l3 == L3_ARP)
    mapped = (t.src_hi == 0) & ((t.src_lo >> np.uint64(32)) == np.uint64(0xFFFF))
    v4 = np.where(ip_frames & mapped, t.src_lo & np.uint64(0xFFFF_FFFF), np.uint64(0))
    # raw-IP captures have no MAC: their IPv4 sources still count
    ok |= mask & (mac == 0) & (v4 != 0)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return []
    rows = _firsts(np.stack([mac[idx], v4[idx]], axis=1), idx)
    first_frame = view.batch.first_frame
    out = []
    for i, m, w in zip(rows.tolist(), mac[rows].tolist(), v4[rows].tolist(), strict=True):
        ip = local_ipv4(w) if w else None
        if m == 0 and ip is None:
            continue
        flow = int(view.flow_ids[i])
        out.append(Source(float(ts[i]), first_frame + i, flow or None,
                          mac_to_str(m) if m else None, ip))
    return out


def contacts(
    view: BatchView, ts: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_]
) -> list[Contact]:
    t = view.table
    ip = mask & (t.err == 0) & ((t.l3 == L3_IPV4) | (t.l3 == L3_IPV6))
    syn = ip & (t.proto == PROTO_TCP) & ((t.tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
    udp = ip & (t.proto == PROTO_UDP)
    echo = ip & (((t.proto == PROTO_ICMP) & (t.sport == 8))
                 | ((t.proto == PROTO_ICMPV6) & (t.sport == 128)))
    idx = np.flatnonzero(syn | udp | echo)
    if not len(idx):
        return []
    proto = t.proto[idx].astype(np.uint64)
    is_udp = proto == PROTO_UDP
    dport = np.where(proto == PROTO_TCP, t.dport[idx], 0).astype(np.uint64)
    dport = np.where(is_udp, t.dport[idx], dport).astype(np.uint64)
    sport = np.where(is_udp, t.sport[idx], 0).astype(np.uint64)
    keys = np.stack([t.src_hi[idx], t.src_lo[idx], t.dst_hi[idx], t.dst_lo[idx], proto, sport,
                     dport], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    first.sort()
    rows = idx[first]
    cols = [c.tolist() for c in (t.src_hi[rows], t.src_lo[rows], t.dst_hi[rows], t.dst_lo[rows],
                                 t.proto[rows], t.sport[rows], t.dport[rows])]
    first_frame = view.batch.first_frame
    out = []
    for i, shi, slo, dhi, dlo, pr, sp, dp in zip(rows.tolist(), *cols, strict=True):
        src, dst = ip_from_words(shi, slo), ip_from_words(dhi, dlo)
        if src in ("0.0.0.0", "::"):
            continue
        flow = int(view.flow_ids[i])
        if pr == PROTO_TCP:
            edge, reply = (src, dst, "tcp", dp), None
        elif pr == PROTO_UDP:
            edge, reply = (src, dst, "udp", dp), (dst, src, "udp", sp)
        else:
            edge, reply = (src, dst, "icmp", 0), None
        out.append(Contact(float(ts[i]), first_frame + i, flow or None, edge, reply))
    return out
