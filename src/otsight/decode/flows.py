"""The bidirectional flow table: slots in numpy columns, a dict from key hash to slot.

Flows are created and ended in Python (rare: once per flow); per-packet accounting runs in
:mod:`flowkernel`. The table has a hard cap on live flows; when full, the least recently seen
flows are evicted (and counted), so memory stays bounded under scans and floods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.types import ip_from_words
from .keys import FlowKeys

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

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


TCP_COUNTERS = ("delivered", "retrans", "overlaps", "gaps", "ooo")


@dataclass(slots=True)
class FlowColumns:
    """Ended flows as numpy columns, oriented originator -> responder.

    Aggregating sinks (the analyze summary) work on these directly; :meth:`records` builds
    :class:`FlowRecord` objects only for consumers that want one object per flow.
    """

    flow_id: I64
    proto: I64
    orig_hi: U64
    orig_lo: U64
    orig_port: I64
    resp_hi: U64
    resp_lo: U64
    resp_port: I64
    first_ts: I64
    last_ts: I64
    orig_packets: I64
    resp_packets: I64
    orig_bytes: I64
    resp_bytes: I64
    orig_payload: I64
    resp_payload: I64
    orig_flags: I64
    resp_flags: I64
    tcp: dict[str, I64]  # "orig_delivered", "resp_gaps", ... for every TCP counter
    reasons: list[str]

    def __len__(self) -> int:
        return int(self.flow_id.shape[0])

    @classmethod
    def concat(cls, parts: Sequence[FlowColumns]) -> FlowColumns:
        """The flows of ``parts`` (at least one) in order, as one set of columns."""
        if len(parts) == 1:
            return parts[0]
        columns = {
            f.name: np.concatenate([getattr(part, f.name) for part in parts])
            for f in fields(cls)
            if f.name not in ("tcp", "reasons")
        }
        tcp = {key: np.concatenate([part.tcp[key] for part in parts]) for key in parts[0].tcp}
        reasons = [reason for part in parts for reason in part.reasons]
        return cls(**columns, tcp=tcp, reasons=reasons)

    @property
    def handshake(self) -> npt.NDArray[np.bool_]:
        seen: npt.NDArray[np.bool_] = (self.proto == 6) & (
            ((self.orig_flags | self.resp_flags) & 0x02) != 0
        )
        return seen

    def records(self) -> list[FlowRecord]:
        ips = [
            ip_from_words(h, lo)
            for h, lo in zip(
                np.concatenate([self.orig_hi, self.resp_hi]).tolist(),
                np.concatenate([self.orig_lo, self.resp_lo]).tolist(),
                strict=True,
            )
        ]
        n = len(self)
        c = {
            name: getattr(self, name).tolist()
            for name in (
                "flow_id",
                "proto",
                "orig_port",
                "resp_port",
                "first_ts",
                "last_ts",
                "orig_packets",
                "resp_packets",
                "orig_bytes",
                "resp_bytes",
                "orig_payload",
                "resp_payload",
                "orig_flags",
                "resp_flags",
            )
        }
        tcp_cols = {name: col.tolist() for name, col in self.tcp.items()}
        hs = self.handshake.tolist()
        out = []
        for k in range(n):
            proto = c["proto"][k]
            tcp: dict[str, int] = {}
            if proto == 6:
                tcp = {name: col[k] for name, col in tcp_cols.items()}
                tcp["orig_flags"] = c["orig_flags"][k]
                tcp["resp_flags"] = c["resp_flags"][k]
            out.append(
                FlowRecord(
                    flow_id=c["flow_id"][k],
                    proto=proto,
                    orig_ip=ips[k],
                    orig_port=c["orig_port"][k],
                    resp_ip=ips[n + k],
                    resp_port=c["resp_port"][k],
                    first_ts_ns=c["first_ts"][k],
                    last_ts_ns=c["last_ts"][k],
                    orig_packets=c["orig_packets"][k],
                    resp_packets=c["resp_packets"][k],
                    orig_bytes=c["orig_bytes"][k],
                    resp_bytes=c["resp_bytes"][k],
                    orig_payload=c["orig_payload"][k],
                    resp_payload=c["resp_payload"][k],
                    handshake=hs[k],
                    end_reason=self.reasons[k],
                    tcp=tcp,
                )
            )
        return out


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
    SINGLE_COLUMNS = (
        "first_ts",
        "last_ts",
        "timeout",
        "orig",
        "closed",
        "proto",
        "flow_id",
        "a_hi",
        "a_lo",
        "b_hi",
        "b_lo",
        "a_port",
        "b_port",
        "hash",
        "live",
    )

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = 0
        self.first_ts: I64 = _zeros(0)
        self.last_ts: I64 = _zeros(0)
        self.timeout: I64 = _zeros(0)
        self.orig: I64 = _zeros(0)  # side index of the originator, -1 before the first packet
        self.closed: I64 = _zeros(0)  # bit 0/1: FIN from side 0/1, bit 2: RST
        self.proto: I64 = _zeros(0)
        self.flow_id: I64 = _zeros(0)
        # The flow key (endpoint ``a`` sorts first) and its hash; ``live`` marks slots in use.
        self.a_hi: U64 = np.zeros(0, dtype=np.uint64)
        self.a_lo: U64 = np.zeros(0, dtype=np.uint64)
        self.b_hi: U64 = np.zeros(0, dtype=np.uint64)
        self.b_lo: U64 = np.zeros(0, dtype=np.uint64)
        self.a_port: I64 = _zeros(0)
        self.b_port: I64 = _zeros(0)
        self.hash: U64 = np.zeros(0, dtype=np.uint64)
        self.live: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
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
    """Assigns packets to flows, ends idle flows, and enforces the live-flow cap.

    Flow creation and ending are vectorised per batch; the only per-flow Python work is one
    dict lookup per distinct key in a batch and building the record of an ended flow.
    """

    def __init__(self, max_flows: int = 500_000, timeouts: Timeouts | None = None) -> None:
        self.max_flows = max_flows
        self.timeouts = timeouts or Timeouts()
        self.state = FlowState()
        self.by_hash: dict[int, int] = {}
        self.free: list[int] = []
        self.next_slot = 0
        self.n_live = 0
        # The next flow id; the flow kernel hands ids out at each flow's first packet, so they
        # follow packet order however the input is cut into batches.
        self.ids = np.ones(1, dtype=np.int64)
        self.evicted = 0
        self.collisions = 0
        # Called with (slots, reason) to end flows early (eviction); the engine ends them there.
        self.on_end: Callable[[I64, str], None] = lambda slots, reason: self.release(slots)

    @property
    def live(self) -> int:
        return self.n_live

    @property
    def next_flow_id(self) -> int:
        return int(self.ids[0])

    def live_slots(self) -> I64:
        return np.nonzero(self.state.live[: self.next_slot])[0].astype(np.int64)

    def timeout_ns(self, proto: int) -> int:
        return int(self.timeouts.for_proto(proto) * 1e9)

    def _timeouts_ns(self, protos: I64) -> I64:
        t = self.timeouts
        out = np.full(protos.shape[0], int(t.other * 1e9), dtype=np.int64)
        out[protos == 6] = int(t.tcp * 1e9)
        out[protos == 17] = int(t.udp * 1e9)
        out[(protos == 1) | (protos == 58)] = int(t.icmp * 1e9)
        return out

    def _alloc(self, k: int) -> I64:
        take = min(k, len(self.free))
        reused = self.free[len(self.free) - take :][::-1]
        del self.free[len(self.free) - take :]
        fresh = k - take
        if self.next_slot + fresh > self.state.capacity:
            cap = max(self.state.capacity, 1024)
            while cap < self.next_slot + fresh:
                cap *= 2
            self.state.grow(cap)
        slots = np.empty(k, dtype=np.int64)
        slots[:take] = reused
        slots[take:] = np.arange(self.next_slot, self.next_slot + fresh)
        self.next_slot += fresh
        return slots

    def _init_slots(
        self,
        slots: I64,
        hashes: U64,
        a_hi: U64,
        a_lo: U64,
        b_hi: U64,
        b_lo: U64,
        a_port: I64,
        b_port: I64,
        proto: I64,
    ) -> None:
        st = self.state
        for name in st.SINGLE_COLUMNS + st.PAIR_COLUMNS:
            getattr(st, name)[slots] = 0
        st.next_seq[slots] = -1
        st.max_ack[slots] = -1
        st.orig[slots] = -1
        st.proto[slots] = proto
        st.timeout[slots] = self._timeouts_ns(proto)
        st.a_hi[slots], st.a_lo[slots], st.b_hi[slots], st.b_lo[slots] = a_hi, a_lo, b_hi, b_lo
        st.a_port[slots], st.b_port[slots] = a_port, b_port
        st.hash[slots] = hashes
        st.live[slots] = True
        self.n_live += slots.shape[0]
        self.by_hash.update(zip(hashes.tolist(), slots.tolist(), strict=True))

    def new_flow(self, h: int, key: FlowKey) -> int:
        """A slot for a new flow with ``key``; its id is set at its first packet (flow kernel)."""
        slots = self._alloc(1)
        u = np.uint64
        self._init_slots(
            slots,
            np.array([h], dtype=np.uint64),
            np.array([key.a_hi], dtype=u),
            np.array([key.a_lo], dtype=u),
            np.array([key.b_hi], dtype=u),
            np.array([key.b_lo], dtype=u),
            np.array([key.a_port]),
            np.array([key.b_port]),
            np.array([key.proto]),
        )
        return int(slots[0])

    def key_of(self, s: int) -> FlowKey:
        st = self.state
        return FlowKey(
            int(st.a_hi[s]),
            int(st.a_lo[s]),
            int(st.a_port[s]),
            int(st.b_hi[s]),
            int(st.b_lo[s]),
            int(st.b_port[s]),
            int(st.proto[s]),
        )

    def hash_of(self, s: int) -> int:
        return int(self.state.hash[s])

    def release(self, slots: I64) -> None:
        """Free ended flows' slots (their hash entries only if they still own them)."""
        st = self.state
        by_hash = self.by_hash
        for h, s in zip(st.hash[slots].tolist(), slots.tolist(), strict=True):
            if by_hash.get(h) == s:
                del by_hash[h]
        st.live[slots] = False
        self.n_live -= slots.shape[0]
        self.free.extend(slots.tolist())

    def assign(self, keys: FlowKeys) -> npt.NDArray[np.int64]:
        """Slot of every eligible packet (-1 otherwise), creating flows for new keys.

        When the table is full, the least recently seen flows are ended first (``on_end``).
        """
        uniq, first = keys.uniq, keys.first  # distinct hashes, in order of first packet
        if uniq.size == 0:
            return np.full(keys.group.shape[0], -1, dtype=np.int64)
        found = np.array(list(map(self.by_hash.get, uniq.tolist(), repeat(-1))), dtype=np.int64)
        st = self.state
        have = np.nonzero(found >= 0)[0]
        if have.size:
            # A different key owning the same hash (across batches): the newcomer takes over.
            s_have, i_have = found[have], first[have]
            same = (
                (st.a_hi[s_have] == keys.a_hi[i_have])
                & (st.a_lo[s_have] == keys.a_lo[i_have])
                & (st.b_hi[s_have] == keys.b_hi[i_have])
                & (st.b_lo[s_have] == keys.b_lo[i_have])
                & (st.a_port[s_have] == keys.a_port[i_have].astype(np.int64))
                & (st.b_port[s_have] == keys.b_port[i_have].astype(np.int64))
                & (st.proto[s_have] == keys.proto[i_have].astype(np.int64))
            )
            if not same.all():
                self.collisions += int(np.count_nonzero(~same))
                found[have[~same]] = -1
        new_u = np.nonzero(found < 0)[0]
        overflow = self.n_live + new_u.size - self.max_flows
        if overflow > 0:
            # Over the cap: end the least recently seen flows first; flows this batch continues
            # are the most recently seen of all. A batch that alone holds more new flows than
            # the cap overshoots it by at most one batch.
            victims = self.oldest_slots(min(overflow, self.n_live), exclude=found[found >= 0])
            if victims.size:
                self.evicted += int(victims.size)
                self.on_end(victims, END_EVICTED)
        if new_u.size:
            # New flows take slots in order of their first packet in the batch (``uniq``'s).
            i0 = first[new_u]
            new_slots = self._alloc(int(new_u.size))
            self._init_slots(
                new_slots,
                uniq[new_u],
                keys.a_hi[i0],
                keys.a_lo[i0],
                keys.b_hi[i0],
                keys.b_lo[i0],
                keys.a_port[i0].astype(np.int64),
                keys.b_port[i0].astype(np.int64),
                keys.proto[i0].astype(np.int64),
            )
            found[new_u] = new_slots
        # Group -1 (not eligible, or a collision inside the batch) picks the appended -1.
        slots: npt.NDArray[np.int64] = np.append(found, -1)[keys.group]
        if keys.clashes:
            self.collisions += keys.clashes  # counted and skipped: two keys with one 64-bit hash
        return slots

    def describe(self, s: int) -> tuple[str, int, str, int]:
        """(orig ip, orig port, resp ip, resp port) of a live slot."""
        st = self.state
        a = (ip_from_words(int(st.a_hi[s]), int(st.a_lo[s])), int(st.a_port[s]))
        b = (ip_from_words(int(st.b_hi[s]), int(st.b_lo[s])), int(st.b_port[s]))
        if int(st.orig[s]) == 1:
            a, b = b, a
        return a[0], a[1], b[0], b[1]

    def record(self, s: int, reason: str) -> FlowRecord:
        return self.records(np.array([s], dtype=np.int64), [reason])[0]

    def records(self, slots: I64, reasons: list[str]) -> list[FlowRecord]:
        return self.columns(slots, reasons).records()

    def columns(self, slots: I64, reasons: list[str]) -> FlowColumns:
        """Ended flows' fields, oriented by originator: one numpy gather per field."""
        st = self.state
        o = np.maximum(st.orig[slots], 0)
        r = 1 - o
        swap = o == 1

        def pick(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return np.where(swap, b[slots], a[slots])

        return FlowColumns(
            flow_id=st.flow_id[slots],
            proto=st.proto[slots],
            orig_hi=pick(st.a_hi, st.b_hi),
            orig_lo=pick(st.a_lo, st.b_lo),
            orig_port=pick(st.a_port, st.b_port),
            resp_hi=pick(st.b_hi, st.a_hi),
            resp_lo=pick(st.b_lo, st.a_lo),
            resp_port=pick(st.b_port, st.a_port),
            first_ts=st.first_ts[slots],
            last_ts=st.last_ts[slots],
            orig_packets=st.pkts[slots, o],
            resp_packets=st.pkts[slots, r],
            orig_bytes=st.wire_bytes[slots, o],
            resp_bytes=st.wire_bytes[slots, r],
            orig_payload=st.pl_bytes[slots, o],
            resp_payload=st.pl_bytes[slots, r],
            orig_flags=st.flags_seen[slots, o],
            resp_flags=st.flags_seen[slots, r],
            tcp={
                f"{side}_{name}": getattr(st, name)[slots, idx]
                for name in TCP_COUNTERS
                for side, idx in (("orig", o), ("resp", r))
            },
            reasons=list(reasons),
        )

    def end_reason(self, s: int, now_ns: int) -> str:
        return self.end_reasons(np.array([s], dtype=np.int64), now_ns)[0]

    def end_reasons(self, slots: I64, now_ns: int) -> list[str]:
        """Why flows idle until ``now_ns`` are over: closed (close delay), timeout, or reuse."""
        st = self.state
        idle = now_ns - st.last_ts[slots]
        closed = st.closed[slots]
        done = (((closed & 4) != 0) | ((closed & 3) == 3)) & (
            idle > int(self.timeouts.tcp_closed * 1e9)
        )
        timed_out = idle > st.timeout[slots]
        # Otherwise a new connection on a closed flow's ports.
        reasons: list[str] = np.where(
            done, END_CLOSED, np.where(timed_out, END_TIMEOUT, END_SPLIT)
        ).tolist()
        return reasons

    def idle_slots(self, now_ns: int) -> I64:
        """Live slots whose idle time exceeds their timeout (or the close delay)."""
        n = self.next_slot
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        st = self.state
        idle = now_ns - st.last_ts[:n]
        closed = st.closed[:n]
        done = (((closed & 4) != 0) | ((closed & 3) == 3)) & (
            idle > int(self.timeouts.tcp_closed * 1e9)
        )
        started = (st.pkts[:n, 0] + st.pkts[:n, 1]) > 0
        expired = st.live[:n] & started & ((idle > st.timeout[:n]) | done)
        return np.nonzero(expired)[0].astype(np.int64)

    def oldest_slots(self, count: int, exclude: I64 | None = None) -> I64:
        """The ``count`` live slots seen least recently (eviction candidates), not ``exclude``."""
        live = self.live_slots()
        if exclude is not None and exclude.size:
            live = live[~np.isin(live, exclude)]
        if count >= live.size:
            return live
        last = self.state.last_ts[live]
        part = np.argpartition(last, count)[:count]
        return live[np.sort(part)]
