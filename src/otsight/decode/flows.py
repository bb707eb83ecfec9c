"""The bidirectional flow table: slots in numpy columns, a dict from key hash to slot.

Flows are created and ended in Python (rare: once per flow); per-packet accounting runs in
:mod:`flowkernel`. The table has a hard cap on live flows; when full, the least recently seen
flows are evicted (and counted), so memory stays bounded under scans and floods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..core.types import ip_from_words
from .keys import FlowKeys

I64 = npt.NDArray[np.int64]

END_TIMEOUT = "timeout"
END_CLOSED = "closed"
END_EVICTED = "evicted"
END_SPLIT = "reused"
END_EOF = "end-of-capture"


@dataclass(slots=True)
class Timeouts:
    """Idle timeouts in seconds of packet time (Zeek's defaults where it has them)."""

    tcp: float = 300.0
    udp: float = 60.0
    icmp: float = 60.0
    other: float = 60.0
    tcp_closed: float = 5.0  # after FIN both ways or RST

    def for_proto(self, proto: int) -> float:
        if proto == 6:
            return self.tcp
        if proto == 17:
            return self.udp
        if proto in (1, 58):
            return self.icmp
        return self.other


@dataclass(slots=True)
class FlowRecord:
    """A finished (or still open at the end of input) flow, oriented originator -> responder."""

    flow_id: int
    proto: int
    orig_ip: str
    orig_port: int
    resp_ip: str
    resp_port: int
    first_ts_ns: int
    last_ts_ns: int
    orig_packets: int
    resp_packets: int
    orig_bytes: int
    resp_bytes: int
    orig_payload: int
    resp_payload: int
    handshake: bool  # the originator was decided by a SYN or SYN-ACK, not by the first packet
    end_reason: str
    tcp: dict[str, int] = field(default_factory=dict)

    @property
    def packets(self) -> int:
        return self.orig_packets + self.resp_packets

    @property
    def bytes(self) -> int:
        return self.orig_bytes + self.resp_bytes


class FlowState:
    """Column storage for live flows, indexed by slot; grows by doubling.

    Pair columns hold one value per side: ``[:, 0]`` for the endpoint that sorts first in the
    flow key, ``[:, 1]`` for the other; ``orig`` says which side originated the flow.
    """

    PAIR_COLUMNS = (
        "pkts",
        "wire_bytes",
        "pl_bytes",
        "flags_seen",
        "next_seq",
        "max_ack",
        "pending",
        "delivered",
        "retrans",
        "overlaps",
        "gaps",
        "ooo",
    )
    SINGLE_COLUMNS = ("first_ts", "last_ts", "timeout", "orig", "closed", "proto", "flow_id")

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = 0
        self.first_ts: I64 = _zeros(0)
        self.last_ts: I64 = _zeros(0)
        self.timeout: I64 = _zeros(0)
        self.orig: I64 = _zeros(0)  # side index of the originator, -1 before the first packet
        self.closed: I64 = _zeros(0)  # bit 0/1: FIN from side 0/1, bit 2: RST
        self.proto: I64 = _zeros(0)
        self.flow_id: I64 = _zeros(0)
        self.pkts: I64 = _zeros(0, 2)
        self.wire_bytes: I64 = _zeros(0, 2)
        self.pl_bytes: I64 = _zeros(0, 2)
        self.flags_seen: I64 = _zeros(0, 2)
        self.next_seq: I64 = _zeros(0, 2)  # next expected TCP sequence number, -1 unknown
        self.max_ack: I64 = _zeros(0, 2)  # highest ACK this side sent, -1 none
        self.pending: npt.NDArray[np.uint8] = np.zeros((0, 2), dtype=np.uint8)
        self.delivered: I64 = _zeros(0, 2)
        self.retrans: I64 = _zeros(0, 2)
        self.overlaps: I64 = _zeros(0, 2)
        self.gaps: I64 = _zeros(0, 2)
        self.ooo: I64 = _zeros(0, 2)
        self.grow(capacity)

    def grow(self, capacity: int) -> None:
        old = self.capacity
        for name in self.SINGLE_COLUMNS + self.PAIR_COLUMNS:
            col = getattr(self, name)
            new = np.zeros((capacity, *col.shape[1:]), dtype=col.dtype)
            new[:old] = col
            setattr(self, name, new)
        self.capacity = capacity

    def reset(self, s: int, proto: int, timeout_ns: int, flow_id: int) -> None:
        for name in self.SINGLE_COLUMNS + self.PAIR_COLUMNS:
            getattr(self, name)[s] = 0
        self.next_seq[s] = -1
        self.max_ack[s] = -1
        self.orig[s] = -1
        self.proto[s] = proto
        self.timeout[s] = timeout_ns
        self.flow_id[s] = flow_id


def _zeros(n: int, width: int = 0) -> I64:
    return np.zeros((n, width) if width else n, dtype=np.int64)


@dataclass(slots=True)
class FlowKey:
    a_hi: int
    a_lo: int
    a_port: int
    b_hi: int
    b_lo: int
    b_port: int
    proto: int


class FlowTable:
    """Assigns packets to flows, ends idle flows, and enforces the live-flow cap."""

    def __init__(self, max_flows: int = 500_000, timeouts: Timeouts | None = None) -> None:
        self.max_flows = max_flows
        self.timeouts = timeouts or Timeouts()
        self.state = FlowState()
        self.by_hash: dict[int, int] = {}
        self.keys: dict[int, FlowKey] = {}  # slot -> key
        self.hash_of: dict[int, int] = {}  # slot -> hash
        self.free: list[int] = []
        self.next_slot = 0
        # The next flow id; the flow kernel hands ids out at each flow's first packet, so they
        # follow packet order however the input is cut into batches.
        self.ids = np.ones(1, dtype=np.int64)
        self.evicted = 0
        self.collisions = 0
        # Called with (slot, reason) before a slot is reused; the engine ends the flow there.
        self.on_end: Callable[[int, str], None] = lambda s, reason: self.release(s)

    @property
    def live(self) -> int:
        return len(self.by_hash)

    @property
    def next_flow_id(self) -> int:
        return int(self.ids[0])

    def timeout_ns(self, proto: int) -> int:
        return int(self.timeouts.for_proto(proto) * 1e9)

    def _alloc(self) -> int:
        if self.free:
            return self.free.pop()
        if self.next_slot >= self.state.capacity:
            self.state.grow(max(self.state.capacity * 2, 1024))
        s = self.next_slot
        self.next_slot += 1
        return s

    def new_flow(self, h: int, key: FlowKey) -> int:
        """A slot for a new flow; its id is set at its first packet (flow kernel)."""
        s = self._alloc()
        self.state.reset(s, key.proto, self.timeout_ns(key.proto), 0)
        self.by_hash[h] = s
        self.keys[s] = key
        self.hash_of[s] = h
        return s

    def release(self, s: int) -> None:
        h = self.hash_of.pop(s)
        if self.by_hash.get(h) == s:
            del self.by_hash[h]
        del self.keys[s]
        self.free.append(s)

    def assign(self, keys: FlowKeys) -> npt.NDArray[np.int64]:
        """Slot of every eligible packet (-1 otherwise), creating flows for new keys.

        When the table is full, the least recently seen flows are ended first (``on_end``).
        """
        n = keys.hash.shape[0]
        slots = np.full(n, -1, dtype=np.int64)
        idx = np.nonzero(keys.eligible)[0]
        if idx.size == 0:
            return slots
        uniq, first, inverse = np.unique(keys.hash[idx], return_index=True, return_inverse=True)
        # Hash collisions between different keys inside the batch: detect, then resolve slowly.
        rep = idx[first[inverse]]
        clash = ~keys.same_key(idx, rep)
        uniq_slots = np.empty(uniq.shape[0], dtype=np.int64)
        hashes = [int(h) for h in uniq]
        seen = [self.by_hash[h] for h in hashes if h in self.by_hash]
        overflow = self.live + (len(hashes) - len(seen)) - self.max_flows
        if overflow > 0:
            # Over the cap: end the least recently seen flows first; flows this batch continues
            # are the most recently seen of all. A batch that alone holds more new flows than
            # the cap overshoots it by at most one batch.
            for s_old in self.oldest_slots(min(overflow, self.live), exclude=seen):
                self.evicted += 1
                self.on_end(int(s_old), END_EVICTED)
        # New flows take slots in order of their first packet in the batch (not hash order).
        for u in np.argsort(first, kind="stable").tolist():
            h = hashes[u]
            i0 = int(idx[first[u]])
            s = self.by_hash.get(h)
            if s is not None:
                k = self.keys[s]
                if (k.a_hi, k.a_lo, k.a_port, k.b_hi, k.b_lo, k.b_port, k.proto) != keys.key_tuple(
                    i0
                ):
                    self.collisions += 1
                    s = None  # a different flow owns this hash: the newcomer takes it over
            if s is None:
                s = self.new_flow(h, FlowKey(*keys.key_tuple(i0)))
            uniq_slots[u] = s
        slots[idx] = uniq_slots[inverse]
        if clash.any():
            for j in np.nonzero(clash)[0]:
                i = int(idx[j])
                self.collisions += 1
                slots[i] = -1  # counted and skipped: two keys with one 64-bit hash in a batch
        return slots

    def describe(self, s: int) -> tuple[str, int, str, int]:
        """(orig ip, orig port, resp ip, resp port) of a live slot."""
        k = self.keys[s]
        a = (ip_from_words(k.a_hi, k.a_lo), k.a_port)
        b = (ip_from_words(k.b_hi, k.b_lo), k.b_port)
        if int(self.state.orig[s]) == 1:
            a, b = b, a
        return a[0], a[1], b[0], b[1]

    def record(self, s: int, reason: str) -> FlowRecord:
        st = self.state
        o = int(st.orig[s])
        o = 0 if o < 0 else o
        r = 1 - o
        orig_ip, orig_port, resp_ip, resp_port = self.describe(s)
        proto = int(st.proto[s])
        flags_o = int(st.flags_seen[s, o])
        flags_r = int(st.flags_seen[s, r])
        tcp: dict[str, int] = {}
        if proto == 6:
            for name in ("delivered", "retrans", "overlaps", "gaps", "ooo"):
                col = getattr(st, name)
                tcp[f"orig_{name}"] = int(col[s, o])
                tcp[f"resp_{name}"] = int(col[s, r])
            tcp["orig_flags"] = flags_o
            tcp["resp_flags"] = flags_r
        return FlowRecord(
            flow_id=int(st.flow_id[s]),
            proto=proto,
            orig_ip=orig_ip,
            orig_port=orig_port,
            resp_ip=resp_ip,
            resp_port=resp_port,
            first_ts_ns=int(st.first_ts[s]),
            last_ts_ns=int(st.last_ts[s]),
            orig_packets=int(st.pkts[s, o]),
            resp_packets=int(st.pkts[s, r]),
            orig_bytes=int(st.wire_bytes[s, o]),
            resp_bytes=int(st.wire_bytes[s, r]),
            orig_payload=int(st.pl_bytes[s, o]),
            resp_payload=int(st.pl_bytes[s, r]),
            handshake=proto == 6 and bool((flags_o | flags_r) & 0x02),
            end_reason=reason,
            tcp=tcp,
        )

    def end_reason(self, s: int, now_ns: int) -> str:
        """Why a flow idle until ``now_ns`` is over: closed (close delay), timeout, or reuse."""
        st = self.state
        idle = now_ns - int(st.last_ts[s])
        closed = int(st.closed[s])
        if (closed & 4 or (closed & 3) == 3) and idle > int(self.timeouts.tcp_closed * 1e9):
            return END_CLOSED
        if idle > int(st.timeout[s]):
            return END_TIMEOUT
        return END_SPLIT  # a new connection on a closed flow's ports

    def idle_slots(self, now_ns: int) -> I64:
        """Live slots whose idle time exceeds their timeout (or the close delay)."""
        n = self.next_slot
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        st = self.state
        last = st.last_ts[:n]
        idle = now_ns - last
        closed = st.closed[:n] != 0
        both_fin = (st.closed[:n] & 3) == 3
        rst = (st.closed[:n] & 4) != 0
        done = closed & (both_fin | rst) & (idle > int(self.timeouts.tcp_closed * 1e9))
        live = np.zeros(n, dtype=bool)
        if self.keys:
            live[np.fromiter(self.keys.keys(), dtype=np.int64, count=len(self.keys))] = True
        started = (st.pkts[:n, 0] + st.pkts[:n, 1]) > 0
        expired = live & started & ((idle > st.timeout[:n]) | done)
        return np.nonzero(expired)[0].astype(np.int64)

    def oldest_slots(self, count: int, exclude: list[int] | None = None) -> I64:
        """The ``count`` live slots seen least recently (eviction candidates), not ``exclude``."""
        live = np.fromiter(self.keys.keys(), dtype=np.int64, count=len(self.keys))
        if exclude:
            live = live[~np.isin(live, np.asarray(exclude, dtype=np.int64))]
        if count >= live.size:
            return live
        last = self.state.last_ts[live]
        part = np.argpartition(last, count)[:count]
        return live[part]
