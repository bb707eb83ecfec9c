"""Canonical, direction-free flow keys and their 64-bit hashes, computed for a whole batch."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .table import (
    L3_IPV4,
    L3_IPV6,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    PacketTable,
)

U64 = npt.NDArray[np.uint64]

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _mix(h: U64, v: U64) -> U64:
    h = (h ^ v) * _M1
    h ^= h >> np.uint64(31)
    h *= _M2
    h ^= h >> np.uint64(29)
    return h


class FlowKeys:
    """Endpoints ordered so that both directions of a conversation share one key.

    ``a`` is the endpoint that sorts first (address, then port); ``from_b`` is True for packets
    sent by ``b``. Who *originated* the flow is decided later from the TCP handshake.
    """

    __slots__ = (
        "a_hi",
        "a_lo",
        "a_port",
        "b_hi",
        "b_lo",
        "b_port",
        "eligible",
        "from_b",
        "hash",
        "proto",
    )

    def __init__(self, t: PacketTable, eligible: npt.NDArray[np.bool_]) -> None:
        sh, sl, dh, dl = t.src_hi, t.src_lo, t.dst_hi, t.dst_lo
        ports = t.has_ports & (t.proto != PROTO_ICMP) & (t.proto != PROTO_ICMPV6)
        sp = np.where(ports, t.sport, 0).astype(np.uint64)
        dp = np.where(ports, t.dport, 0).astype(np.uint64)
        gt = (sh > dh) | ((sh == dh) & ((sl > dl) | ((sl == dl) & (sp > dp))))
        self.from_b = gt
        self.a_hi = np.where(gt, dh, sh)
        self.a_lo = np.where(gt, dl, sl)
        self.b_hi = np.where(gt, sh, dh)
        self.b_lo = np.where(gt, sl, dl)
        self.a_port = np.where(gt, dp, sp)
        self.b_port = np.where(gt, sp, dp)
        self.proto = t.proto.astype(np.uint64)
        self.eligible = eligible
        h = np.full(len(t), np.uint64(0x243F6A8885A308D3), dtype=np.uint64)
        with np.errstate(over="ignore"):
            h = _mix(h, self.a_hi)
            h = _mix(h, self.a_lo)
            h = _mix(h, self.b_hi)
            h = _mix(h, self.b_lo)
            h = _mix(h, (self.a_port << np.uint64(24)) | (self.b_port << np.uint64(8)) | self.proto)
        self.hash = h

    def same_key(self, i: npt.NDArray[np.intp], j: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        """Elementwise: do packets ``i`` and ``j`` have identical keys (guards hash collisions)?"""
        same: npt.NDArray[np.bool_] = (
            (self.a_hi[i] == self.a_hi[j])
            & (self.a_lo[i] == self.a_lo[j])
            & (self.b_hi[i] == self.b_hi[j])
            & (self.b_lo[i] == self.b_lo[j])
            & (self.a_port[i] == self.a_port[j])
            & (self.b_port[i] == self.b_port[j])
            & (self.proto[i] == self.proto[j])
        )
        return same

    def key_tuple(self, i: int) -> tuple[int, int, int, int, int, int, int]:
        return (
            int(self.a_hi[i]),
            int(self.a_lo[i]),
            int(self.a_port[i]),
            int(self.b_hi[i]),
            int(self.b_lo[i]),
            int(self.b_port[i]),
            int(self.proto[i]),
        )


def flow_eligible(t: PacketTable) -> npt.NDArray[np.bool_]:
    """Packets that belong to an IP flow: addresses decoded and not an unreassembled fragment."""
    ip = (t.l3 == L3_IPV4) | (t.l3 == L3_IPV6)
    addr_ok = (t.err == 0) | (t.err >= 5)  # truncated transport still names its endpoints
    portless = ((t.proto == PROTO_TCP) | (t.proto == PROTO_UDP)) & ~t.has_ports
    eligible: npt.NDArray[np.bool_] = ip & addr_ok & (t.frag == 0) & ~portless
    return eligible
