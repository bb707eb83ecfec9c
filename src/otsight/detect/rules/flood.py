"""Connection and packet floods: a destination's rate over a short window against its own past.

Per destination service (IP, TCP port) the detector counts connection attempts (SYN without
ACK), and per destination IP every packet, in one-second buckets of packet time. A flood is a
``window_s`` sum that reaches both an absolute floor (``min_connections`` / ``min_packets``) and
``factor`` times the destination's own recent rate (an exponentially weighted average of past
buckets, frozen while a flood lasts so the attack does not become the norm). One alert per
episode: the destination re-arms when its window falls below half the threshold. Denial of
Service, T0814.

Vectorised: packets are counted per (destination, second) without sorting them, through a
perfect hash of the destinations seen so far (:class:`KeyIndex`: a few gathers per packet, then
one ``bincount``); a batch with more distinct destinations than that table holds is sorted
instead, with the same result. Python runs once per destination-second above a small floor
(``floor_share`` of the per-second threshold), so quiet destinations cost nothing and their
history is zero, which the absolute floor covers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ...alerts.factory import new_alert
from ...alerts.model import Alert, AlertEvidence
from ...core.types import ip_from_words
from ...decode.table import L3_IPV4, L3_IPV6, PROTO_TCP, TCP_ACK, TCP_SYN
from ...decode.view import BatchView
from ..base import Detector, DetectorOptions
from ..keyindex import INTP, U64, KeyIndex

NS = 1_000_000_000


@dataclass(slots=True)
class _Groups:
    """Packets of one batch grouped by (key, second), in key then second order; within a group
    in (time, frame) order (what a sort by key, second and time gives)."""

    keys: U64  # (groups, key columns)
    bucket: U64
    counts: npt.NDArray[np.int64]
    first: INTP  # batch row of each group's first packet
    members: Callable[[int], INTP]  # group -> its batch rows, in order


def _sorted_groups(idx: INTP, keys: U64, bucket: U64, ts_ns: npt.NDArray[np.int64]) -> _Groups:
    """Groups by sorting every packet (any number of keys)."""
    rows = np.concatenate([keys, bucket[:, None]], axis=1)
    order = np.lexsort((ts_ns, *rows.T[::-1]))  # by key, bucket, then time
    rows, idx = rows[order], idx[order]
    starts = np.flatnonzero(np.r_[True, np.any(rows[1:] != rows[:-1], axis=1)])
    counts = np.diff(np.r_[starts, len(rows)])

    def members(n: int) -> INTP:
        return idx[starts[n] : starts[n] + counts[n]]

    return _Groups(rows[starts, :-1], rows[starts, -1], counts, idx[starts], members)


def _hashed_groups(
    index: KeyIndex, idx: INTP, cols: list[U64], bucket: U64, ts_ns: npt.NDArray[np.int64]
) -> _Groups | None:
    """The groups :func:`_sorted_groups` finds, counted through ``index`` instead of a sort:
    None when the index cannot code the keys or (key, second) pairs are too many to count in
    a table."""
    n = int(idx.shape[0])
    if n > 1 and not (ts_ns[1:] >= ts_ns[:-1]).all():  # out of order: put them in time order
        order = np.argsort(ts_ns, kind="stable")
        idx, bucket = idx[order], bucket[order]
        cols = [col[order] for col in cols]
    codes = index.codes(cols)
    if codes is None:
        return None
    first_bucket = bucket.min()
    span = int(bucket.max() - first_bucket) + 1
    ranks = len(index)
    limit = max(4 * n, 1 << 16)
    if ranks * span > limit:  # count only the keys present in this batch
        present = np.flatnonzero(np.bincount(codes, minlength=ranks))
        if present.shape[0] * span > limit:
            return None
        remap = np.zeros(ranks, np.int64)
        remap[present] = np.arange(present.shape[0])
        codes = remap[codes]
        ranks = int(present.shape[0])
    else:
        present = np.arange(ranks)
    cell = codes * span + (bucket - first_bucket).astype(np.int64)
    counts = np.bincount(cell, minlength=ranks * span)
    groups = np.flatnonzero(counts)
    first = np.full(ranks * span, n, np.intp)
    np.minimum.at(first, cell, np.arange(n, dtype=np.intp))
    key_rows = present[groups // span]
    keys = np.stack([col[key_rows] for col in index.keys], axis=1)

    def members(g: int) -> INTP:
        return idx[np.flatnonzero(cell == groups[g])]

    return _Groups(
        keys, first_bucket + (groups % span).astype(np.uint64), counts[groups],
        idx[first[groups]], members,
    )


class FloodOptions(DetectorOptions):
    window_s: int = Field(default=5, ge=1, description="seconds summed (one-second buckets)")
    min_connections: int = Field(default=100, ge=1, description="SYNs per window, at least")
    min_packets: int = Field(default=5000, ge=1, description="packets per window, at least")
    factor: float = Field(default=10.0, gt=1.0, description="times the destination's own rate")
    half_life_s: float = Field(default=300.0, gt=0, description="memory of the recent rate")
    min_history_s: float = Field(
        default=60.0, gt=0, description="history needed before the average is fully trusted"
    )
    floor_share: float = Field(
        default=0.25, gt=0, le=1, description="buckets below this share of the per-second "
        "floor are not tracked (cost control)"
    )
    max_destinations: int = Field(default=50_000, ge=1, description="memory bound (~1 kB each)")


class _Rate:
    """One destination's recent buckets and long-run average rate (per second)."""

    __slots__ = ("bucket", "ewma", "flooding", "recent", "total", "weight")

    def __init__(self, bucket: int) -> None:
        self.bucket = bucket
        self.ewma = 0.0
        self.weight = 0.0  # how much history the average holds (bias correction of a young one)
        self.flooding = False
        self.recent: deque[tuple[int, int, float, int]] = deque()  # bucket, n, first ts, frame
        self.total = 0

    def rate(self, min_weight: float) -> float:
        """Recent connections/packets per second. The average is bias-corrected for a young
        destination, but never by more than ``min_weight`` (the weight of ``min_history_s``):
        the first seconds of a flood must not become the history it is judged against."""
        return self.ewma / max(self.weight, min_weight)

    def advance(self, bucket: int, window: int, keep: float) -> None:
        """Move to ``bucket``: close the buckets in between into the average."""
        if bucket <= self.bucket:
            return
        if not self.flooding:
            closed = sum(n for b, n, _, _ in self.recent if b == self.bucket)
            self.ewma = keep * self.ewma + (1.0 - keep) * closed
            self.weight = keep * self.weight + (1.0 - keep)
            quiet = keep ** (bucket - self.bucket - 1)  # the empty seconds in between
            self.ewma *= quiet
            self.weight = quiet * self.weight + (1.0 - quiet)
        self.bucket = bucket
        while self.recent and self.recent[0][0] <= bucket - window:
            self.total -= self.recent.popleft()[1]


class FloodDetector(Detector[FloodOptions]):
    """Connection floods per destination service, packet floods per destination host."""

    name: ClassVar[str] = "flood"
    description: ClassVar[str] = "connection and packet floods against a destination's own rate"
    Options = FloodOptions
    wants_batches = True

    def __init__(self, options: FloodOptions | None = None) -> None:
        super().__init__(options)
        self._rates: dict[tuple[str, tuple[int, ...]], _Rate] = {}
        # Counts of the latest second of a key still below the tracking floor: a second cut by
        # a batch boundary adds up as if it had come in one batch.
        self._below: dict[tuple[str, tuple[int, ...]], tuple[int, int, float, int]] = {}
        self._index = {"connection-flood": KeyIndex(3), "packet-flood": KeyIndex(2)}
        self.dropped = 0

    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        t = view.table
        if len(t) == 0:
            return ()
        ip = (t.err == 0) & ((t.l3 == L3_IPV4) | (t.l3 == L3_IPV6))
        syn = ip & (t.proto == PROTO_TCP) & ((t.tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
        alerts: list[Alert] = []
        opts = self.options
        if syn.any():
            idx = np.flatnonzero(syn)
            cols = [t.dst_hi[idx], t.dst_lo[idx], t.dport[idx].astype(np.uint64)]
            alerts += self._count(view, "connection-flood", idx, cols, opts.min_connections)
        if ip.any():
            if ip.all():  # the usual batch: no gathers needed
                idx, cols = np.arange(len(t), dtype=np.intp), [t.dst_hi, t.dst_lo]
            else:
                idx = np.flatnonzero(ip)
                cols = [t.dst_hi[idx], t.dst_lo[idx]]
            alerts += self._count(view, "packet-flood", idx, cols, opts.min_packets)
        return alerts

    def _groups(self, view: BatchView, kind: str, idx: INTP, cols: list[U64]) -> _Groups:
        ts_ns = view.batch.ts_ns if idx.shape[0] == len(view.batch) else view.batch.ts_ns[idx]
        bucket = (ts_ns // NS).astype(np.uint64)
        groups = _hashed_groups(self._index[kind], idx, cols, bucket, ts_ns)
        if groups is None:
            groups = _sorted_groups(idx, np.stack(cols, axis=1), bucket, ts_ns)
        return groups

    def _count(
        self, view: BatchView, kind: str, idx: INTP, cols: list[U64], minimum: int
    ) -> list[Alert]:
        """``idx``: the batch rows that count; ``cols``: their key columns."""
        opts = self.options
        g = self._groups(view, kind, idx, cols)
        counts = g.counts
        ts_ns = view.batch.ts_ns
        floor = opts.floor_share * minimum / opts.window_s
        # A second cut by batch boundaries must be judged as if whole: the floor applies to
        # the second's count so far (pieces below it are carried over), and once a second is
        # tracked its later pieces are too. Only the batch's first second can continue an
        # earlier batch's, and only its last one can go on into the next batch.
        group_bucket = g.bucket
        first, last = int(group_bucket.min()), int(group_bucket.max())
        carried = np.zeros(len(counts), dtype=np.int64)
        carried_from: dict[int, tuple[float, int]] = {}  # group -> (ts, frame) of its 1st piece
        keep_rows = counts >= floor
        for n in np.flatnonzero(group_bucket == first).tolist():
            key = tuple(g.keys[n].tolist())
            held = self._below.pop((kind, key), None)
            if held is not None and held[0] == first:
                carried[n] = held[1]
                carried_from[n] = (held[2], held[3])
            tracked = self._rates.get((kind, key))
            if tracked is not None and tracked.recent and tracked.recent[-1][0] == first:
                keep_rows[n] = True
        if self._below:
            self._below = {k: v for k, v in self._below.items() if k[0] != kind or v[0] >= last}
        keep_rows |= counts + carried >= floor
        for n in np.flatnonzero(~keep_rows & (group_bucket == last)).tolist():
            row = int(g.first[n])
            key = tuple(g.keys[n].tolist())
            piece_ts, piece_frame = carried_from.get(
                n, (float(ts_ns[row]) / 1e9, view.batch.first_frame + row)
            )
            self._below[(kind, key)] = (last, int(counts[n] + carried[n]), piece_ts, piece_frame)
        if len(self._below) > 2 * opts.max_destinations:
            self._below.clear()  # memory bound: forget partial seconds rather than grow
        if not keep_rows.any():
            return []
        keep = 0.5 ** (1.0 / opts.half_life_s)
        min_weight = 1.0 - keep**opts.min_history_s
        alerts: list[Alert] = []
        # process in time order of buckets so windows slide forward
        chosen = np.flatnonzero(keep_rows)
        chosen = chosen[np.argsort(group_bucket[chosen], kind="stable")]
        for n in chosen.tolist():
            count = int(counts[n])
            extra = int(carried[n])
            row = int(g.first[n])
            frame = view.batch.first_frame + row
            first_ts, first_frame = carried_from.get(n, (float(ts_ns[row]) / 1e9, frame))
            key = tuple(g.keys[n].tolist())
            b = int(group_bucket[n])
            state = self._rates.get((kind, key))
            if state is None:
                if len(self._rates) >= opts.max_destinations:
                    self.dropped += 1
                    continue
                state = self._rates[(kind, key)] = _Rate(b)
            state.advance(b, opts.window_s, keep)
            threshold = max(float(minimum), opts.factor * state.rate(min_weight) * opts.window_s)
            if state.flooding and state.total < threshold / 2:
                state.flooding = False  # the episode is over (judged before this bucket)
            state.total += extra  # earlier batches' part of this second, below the floor then
            before = state.total
            state.recent.append((b, count + extra, first_ts, first_frame))
            state.total += count
            if not state.flooding and state.total >= threshold:
                state.flooding = True
                at = max(0, min(count - 1, int(np.ceil(threshold)) - before - 1))
                members = g.members(n)
                alerts.append(self._alert(view, kind, key, state, int(members[at]),
                                          members[: at + 1], threshold, before + at + 1))
        return alerts

    def _alert(
        self,
        view: BatchView,
        kind: str,
        key: tuple[int, ...],
        state: _Rate,
        crossing: int,
        bucket_rows: npt.NDArray[np.intp],
        threshold: float,
        seen: int,
    ) -> Alert:
        """``seen``: how many had come in the window when the threshold was reached."""
        t, batch = view.table, view.batch
        _, _, first_ts, first_frame = state.recent[0]
        dst = ip_from_words(key[0], key[1])
        target = f"{dst}:{key[2]}/tcp" if kind == "connection-flood" else dst
        sources = np.stack([t.src_hi[bucket_rows], t.src_lo[bucket_rows]], axis=1)
        uniq, share = np.unique(sources, axis=0, return_counts=True)
        top = int(np.argmax(share))
        src = ip_from_words(int(uniq[top, 0]), int(uniq[top, 1])) if (
            share[top] * 2 >= len(bucket_rows)
        ) else None
        what = "connection attempts" if kind == "connection-flood" else "packets"
        window = self.options.window_s
        title = f"{'Connection' if kind == 'connection-flood' else 'Packet'} flood on {target}: " \
            f"{seen} {what} in {window} s"
        keep = 0.5 ** (1.0 / self.options.half_life_s)
        usual = f"{state.rate(1.0 - keep**self.options.min_history_s):.1f}/s"
        explanation = (
            f"{target} received {seen} {what} within {window} s, "
            f"{'from ' + src + ' mostly' if src else f'from {len(uniq)} sources'}; its usual "
            f"rate is {usual} (threshold {threshold:.0f}): a flood like this exhausts the "
            "device's connections or CPU, and controllers stop serving their masters (denial "
            "of service)."
        )

        def fact(row: int, detail: str) -> AlertEvidence:
            flow = int(view.flow_ids[row])
            return AlertEvidence(
                ts=float(batch.ts_ns[row]) / 1e9, frame=batch.first_frame + row,
                flow_id=flow or None, protocol="tcp" if kind == "connection-flood" else "ip",
                operation="syn" if kind == "connection-flood" else "packet", detail=detail,
            )

        evidence = (
            AlertEvidence(
                ts=first_ts, frame=first_frame, flow_id=None,
                protocol="tcp" if kind == "connection-flood" else "ip",
                operation="flood-start", detail=f"first of the window to {target}",
            ),
            fact(crossing, f"threshold {threshold:.0f} reached"),
        )
        return new_alert(
            detector=self.name, kind=kind, severity="high", title=title,
            explanation=explanation, technique_id="T0814", ts=first_ts, frame=first_frame,
            src_ip=src, dst_ip=dst, protocol="tcp" if kind == "connection-flood" else None,
            evidence=evidence, detected_ts=float(batch.ts_ns[crossing]) / 1e9,
        )
