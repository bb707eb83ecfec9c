"""Canonical, direction-free flow keys, their 64-bit hashes and the batch grouped by hash.

One compiled pass per batch (:mod:`keykernel`) fills all of them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .keykernel import key_kernel
from .table import (
    L3_IPV4,
    L3_IPV6,
    PROTO_TCP,
    PROTO_UDP,
    PacketTable,
)

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


class FlowKeys:
    """Endpoints ordered so that both directions of a conversation share one key.

    ``a`` is the endpoint that sorts first (address, then port); ``from_b`` is True for packets
    sent by ``b``. Who *originated* the flow is decided later from the TCP handshake.

    The eligible packets are also grouped by hash (what the flow table looks up): ``uniq``
    holds the distinct hashes in order of their first packet ``first``, ``group`` each packet's
    index into them, or -1 when it is not eligible or its key differs from its hash's first
    key (a 64-bit collision inside the batch; ``clashes`` counts those). Assigning ``hash``
    regroups, so tests can force collisions.
    """

    __slots__ = (
        "_hash",
        "a_hi",
        "a_lo",
        "a_port",
        "b_hi",
        "b_lo",
        "b_port",
        "clashes",
        "eligible",
        "first",
        "from_b",
        "group",
        "proto",
        "uniq",
    )
    uniq: U64
    first: I64
    clashes: int

    def __init__(self, t: PacketTable, eligible: npt.NDArray[np.bool_]) -> None:
        n = len(t)
        u64 = np.uint64
        self.eligible = eligible
        self.from_b: npt.NDArray[np.bool_] = np.empty(n, dtype=bool)
        self.a_hi: U64 = np.empty(n, dtype=u64)
        self.a_lo: U64 = np.empty(n, dtype=u64)
        self.b_hi: U64 = np.empty(n, dtype=u64)
        self.b_lo: U64 = np.empty(n, dtype=u64)
        self.a_port: U64 = np.empty(n, dtype=u64)
        self.b_port: U64 = np.empty(n, dtype=u64)
        self.proto: U64 = np.empty(n, dtype=u64)
        self._hash: U64 = np.empty(n, dtype=u64)
        self.group: I64 = np.empty(n, dtype=np.int64)
        self._group(t, hashed=False)

    @property
    def hash(self) -> U64:
        return self._hash

    @hash.setter
    def hash(self, value: U64) -> None:
        self._hash = value
        # Only the grouping is redone; the empty table's columns just keep the kernel's types.
        self._group(PacketTable.empty(0), hashed=True)

    def _group(self, t: PacketTable, hashed: bool) -> None:
        """Run the kernel: the key columns and hashes from ``t`` (unless ``hashed``), groups."""
        n = self._hash.shape[0]
        self.uniq = np.empty(n, dtype=np.uint64)
        self.first = np.empty(n, dtype=np.int64)
        k, self.clashes = key_kernel(
            hashed,
            self.eligible,
            t.src_hi,
            t.src_lo,
            t.dst_hi,
            t.dst_lo,
            t.proto,
            t.has_ports,
            t.sport,
            t.dport,
            self.from_b,
            self.a_hi,
            self.a_lo,
            self.b_hi,
            self.b_lo,
            self.a_port,
            self.b_port,
            self.proto,
            self._hash,
            np.full(_table_size(n), -1, dtype=np.int64),
            self.uniq,
            self.first,
            self.group,
        )
        self.uniq = self.uniq[:k]
        self.first = self.first[:k]

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


def _table_size(n: int) -> int:
    """Entries of the kernel's hash table for ``n`` packets: a power of two, at most half full."""
    return 1 << max(4, (2 * n - 1).bit_length())


def flow_eligible(t: PacketTable) -> npt.NDArray[np.bool_]:
    """Packets that belong to an IP flow: addresses decoded and not an unreassembled fragment."""
    ip = (t.l3 == L3_IPV4) | (t.l3 == L3_IPV6)
    addr_ok = (t.err == 0) | (t.err >= 5)  # truncated transport still names its endpoints
    portless = ((t.proto == PROTO_TCP) | (t.proto == PROTO_UDP)) & ~t.has_ports
    eligible: npt.NDArray[np.bool_] = ip & addr_ok & (t.frag == 0) & ~portless
    return eligible
