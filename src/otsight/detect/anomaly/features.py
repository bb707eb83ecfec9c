"""Per-packet features from decoded columns: damped statistics per host, channel and socket.

In the spirit of Kitsune's AfterImage: for every packet, four keys are updated with its size
(bytes on the wire) and its inter-arrival time, over several decay rates (``lambdas``; a rate
of 5 forgets in a fraction of a second, 0.01 over minutes):

- ``mi``: source MAC + source IP (an IP claimed by a new MAC shows up here: ARP spoofing),
- ``host``: source IP (source MAC for frames without IP),
- ``channel``: the IP pair (MAC pair without IP), both directions in one row,
- ``socket``: the IP:port pair with the transport (ARP and other frames: the address pair and
  ethertype).

ARP packets use the addresses the ARP body claims (the decoder puts them in the IP columns).
Only packet time is used, relative to the first packet seen, so the same capture always gives
the same features. The per-packet work runs in the compiled kernels of :mod:`.statkernel`;
Python only builds key columns with numpy and grows or purges a table when it fills up.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ...decode.table import L3_ARP, L3_IPV4, L3_IPV6, PacketTable
from .statkernel import (
    KEY_WORDS,
    PAIR_BLOCK,
    PAIR_HEAD,
    PAIR_STATS,
    SINGLE_STATS,
    rebuild_index,
    update_pair,
    update_single,
)

F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

DEFAULT_LAMBDAS = (5.0, 3.0, 1.0, 0.1, 0.01)
SINGLE_NAMES = ("weight", "size_mean", "size_std", "iat_mean", "iat_std")
PAIR_NAMES = (*SINGLE_NAMES, "magnitude", "radius", "covariance", "pcc")
KINDS = ("mi", "host", "channel", "socket")
PAIR_KINDS = frozenset({"channel", "socket"})

_ADDR_IP = np.uint64(1)
_ADDR_MAC = np.uint64(2)
_ARP_TAG = np.uint64(1 << 40)
_OTHER_TAG = np.uint64(2 << 40)


@dataclass
class KeyTable:
    """One kind's rows (keys and one float64 record each) and its hash index."""

    pair: bool
    lambdas: int
    capacity: int
    keys: U64 = field(init=False)
    index: npt.NDArray[np.int64] = field(init=False)
    count: npt.NDArray[np.int64] = field(init=False)
    rec: F64 = field(init=False)

    def __post_init__(self) -> None:
        self.count = np.zeros(1, np.int64)
        self._allocate(self.capacity)

    @property
    def width(self) -> int:
        return PAIR_HEAD + PAIR_BLOCK * self.lambdas if self.pair else 1 + 6 * self.lambdas

    def _allocate(self, cap: int) -> None:
        self.capacity = cap
        self.keys = np.zeros((cap, KEY_WORDS), np.uint64)
        self.index = np.full(2 * cap, -1, np.int64)
        self.rec = np.zeros((cap, self.width))

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The live rows, for saving."""
        n = int(self.count[0])
        return {"keys": self.keys[:n], "rec": self.rec[:n]}

    def load(self, arrays: dict[str, npt.NDArray[np.generic]]) -> None:
        """Restore rows saved by :meth:`arrays` (capacity grows to fit them)."""
        n = int(arrays["keys"].shape[0])
        if arrays["rec"].shape != (n, self.width):
            raise ValueError(f"feature rows of shape {arrays['rec'].shape}, want ({n}, "
                             f"{self.width})")
        cap = self.capacity
        while cap < n:
            cap *= 2
        self._allocate(cap)
        self.keys[:n] = arrays["keys"]
        self.rec[:n] = arrays["rec"]
        self.count[0] = n
        rebuild_index(self.keys, n, self.index)

    def keep(self, rows: npt.NDArray[np.int64], capacity: int) -> None:
        """Keep only ``rows`` (in their order) in a table of ``capacity`` rows."""
        keys, rec = self.keys[rows], self.rec[rows]
        self._allocate(capacity)
        n = int(rows.shape[0])
        self.keys[:n] = keys
        self.rec[:n] = rec
        self.count[0] = n
        rebuild_index(self.keys, n, self.index)

    @property
    def t(self) -> F64:
        """Last update time of every live row (column 0 of both layouts)."""
        out: F64 = self.rec[: int(self.count[0]), 0]
        return out


@dataclass
class ExtractorStats:
    """What the extractor did: packets seen, table growth and rows evicted when full."""

    packets: int = 0
    grown: int = 0
    purged_rows: int = 0
    evicted_rows: int = 0


class FeatureExtractor:
    """Stateful per-packet feature extraction over successive batches.

    ``max_rows`` bounds each table (memory); when a full table cannot grow, rows idle for
    ``idle_s`` of packet time go first, then the least recently updated half (counted).
    With ``threads`` > 1 the four key kinds are updated by worker threads (their tables are
    independent and the kernels release the GIL): the same features, sooner, on a second core.
    """

    def __init__(
        self,
        lambdas: tuple[float, ...] = DEFAULT_LAMBDAS,
        initial_rows: int = 1024,
        max_rows: int = 1 << 17,
        idle_s: float = 1000.0,
        threads: int = 1,
    ) -> None:
        if not lambdas or any(not (lam > 0.0) for lam in lambdas):
            raise ValueError(f"decay rates must be positive: {lambdas}")
        if initial_rows < 1 or max_rows < initial_rows:
            raise ValueError(f"need 1 <= initial_rows <= max_rows: {initial_rows}, {max_rows}")
        if threads not in (1, 2, 4):
            raise ValueError(f"threads must be 1, 2 or 4: {threads}")
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self.lambdas = np.asarray(lambdas, dtype=np.float64)
        self.decay = self.lambdas  # the kernels decay by 2 ** (-lambda * dt)
        self.max_rows = max_rows
        self.idle_s = idle_s
        self.t0_ns: int | None = None
        self.tables = {
            kind: KeyTable(kind in PAIR_KINDS, len(lambdas), initial_rows) for kind in KINDS
        }
        self.stats = ExtractorStats()

    # ------------------------------------------------------------------ description

    @property
    def n_features(self) -> int:
        nl = len(self.lambdas)
        return sum((PAIR_STATS if k in PAIR_KINDS else SINGLE_STATS) * nl for k in KINDS)

    def feature_names(self) -> list[str]:
        """``kind.stat.lLAMBDA`` for every column, in column order."""
        names = []
        for kind in KINDS:
            stats = PAIR_NAMES if kind in PAIR_KINDS else SINGLE_NAMES
            for lam in self.lambdas:
                names += [f"{kind}.{s}.l{lam:g}" for s in stats]
        return names

    # ------------------------------------------------------------------ extraction

    def times(self, ts_ns: npt.NDArray[np.int64]) -> F64:
        """Seconds since the first packet this extractor saw (packet time only)."""
        if self.t0_ns is None:
            if ts_ns.shape[0] == 0:
                return np.zeros(0)
            self.t0_ns = int(ts_ns[0])
        return (ts_ns - self.t0_ns).astype(np.float64) / 1e9

    def extract(
        self, table: PacketTable, ts_ns: npt.NDArray[np.int64], wirelen: npt.NDArray[np.int32],
        out: npt.NDArray[np.float32] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Update the statistics with one batch, in packet order.

        Returns features x packets (float32, C order): each feature is one contiguous row, which
        is what gathering a feature group for scoring wants; ``.T`` gives packets x features.
        ``out`` (features x at least n, C order) is written instead of a new array: a caller
        that reuses one buffer saves the page faults of a fresh one per batch.
        """
        n = len(table)
        if out is None:
            out = np.empty((self.n_features, n), dtype=np.float32)
        elif (out.dtype != np.float32 or out.ndim != 2 or out.shape[0] != self.n_features
              or out.shape[1] < n or not out.flags.c_contiguous):
            raise ValueError(f"out must be C-ordered float32 ({self.n_features}, >= {n})")
        else:
            out = out[:, :n]
        if n == 0:
            return out
        t = self.times(ts_ns)
        size = wirelen.astype(np.float64)
        keys = build_keys(table)
        cols, col = {}, 0
        for kind in KINDS:
            cols[kind] = col
            col += (PAIR_STATS if kind in PAIR_KINDS else SINGLE_STATS) * len(self.lambdas)
        if self.threads == 1:
            counts = [self._update(kind, keys[kind], t, size, out, cols[kind]) for kind in KINDS]
        else:  # the kinds' tables are independent and the kernels release the GIL
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="features")
            jobs = [self._pool.submit(self._update, kind, keys[kind], t, size, out, cols[kind])
                    for kind in ("socket", "channel", "mi", "host")]
            counts = [job.result() for job in jobs]
        for grown, purged, evicted in counts:
            self.stats.grown += grown
            self.stats.purged_rows += purged
            self.stats.evicted_rows += evicted
        self.stats.packets += n
        return out

    def _update(
        self, kind: str, keys: tuple[U64, npt.NDArray[np.int64]], t: F64, size: F64,
        out: npt.NDArray[np.float32], col: int,
    ) -> tuple[int, int, int]:
        """One kind's kernel over the batch, making room when its table fills up; returns
        (times grown, rows purged, rows evicted)."""
        tab = self.tables[kind]
        qkeys, direction = keys
        n = qkeys.shape[0]
        start = 0
        counts = (0, 0, 0)
        while start < n:
            if tab.pair:
                start = update_pair(start, qkeys, direction, t, size, self.decay, tab.keys,
                                    tab.index, tab.count, tab.rec, out, col)
            else:
                start = update_single(start, qkeys, t, size, self.decay, tab.keys, tab.index,
                                      tab.count, tab.rec, out, col)
            if start < n:
                room = self._make_room(tab, float(t[start]))
                counts = (counts[0] + room[0], counts[1] + room[1], counts[2] + room[2])
        return counts

    def close(self) -> None:
        """Stop the worker threads (only started with ``threads > 1``)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _make_room(self, tab: KeyTable, now: float) -> tuple[int, int, int]:
        """Purge idle rows, grow, or (at ``max_rows``) evict the least recently updated half;
        returns (grown, purged, evicted)."""
        n = int(tab.count[0])
        fresh = np.flatnonzero(now - tab.t < self.idle_s)
        stale = n - int(fresh.shape[0])
        if stale > 0 and stale >= n // 4:  # worth a rebuild: frees at least a quarter
            tab.keep(fresh, tab.capacity)
            return 0, stale, 0
        if tab.capacity < self.max_rows:
            tab.keep(np.arange(n), min(2 * tab.capacity, self.max_rows))
            return 1, 0, 0
        order = np.argsort(-tab.t, kind="stable")  # most recent first
        kept = np.sort(order[: n // 2])  # n >= 1, so at least one row is freed
        tab.keep(kept, tab.capacity)
        return 0, 0, n - int(kept.shape[0])

    # ------------------------------------------------------------------ state

    def state(self) -> tuple[dict[str, npt.NDArray[np.generic]], dict[str, Any]]:
        arrays = {
            f"{kind}.{name}": value
            for kind, tab in self.tables.items()
            for name, value in tab.arrays().items()
        }
        meta: dict[str, Any] = {
            "lambdas": [float(x) for x in self.lambdas],
            "max_rows": self.max_rows,
            "idle_s": self.idle_s,
            "t0_ns": self.t0_ns,
            "capacity": {kind: tab.capacity for kind, tab in self.tables.items()},
            "stats": vars(self.stats).copy(),
        }
        return arrays, meta

    @classmethod
    def from_state(
        cls, arrays: dict[str, npt.NDArray[np.generic]], meta: dict[str, Any], threads: int = 1
    ) -> FeatureExtractor:
        ext = cls(
            tuple(float(x) for x in meta["lambdas"]),
            max_rows=int(meta["max_rows"]),
            idle_s=float(meta["idle_s"]),
            threads=threads,
        )
        t0 = meta["t0_ns"]
        ext.t0_ns = None if t0 is None else int(t0)
        for kind, tab in ext.tables.items():
            tab.capacity = int(meta["capacity"][kind])
            prefix = f"{kind}."
            tab.load({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
        ext.stats = ExtractorStats(**{k: int(v) for k, v in meta["stats"].items()})
        return ext


_KIND_WORDS = {"mi": "this MAC/IP pair", "host": "this source", "channel": "this host pair",
               "socket": "this conversation"}
_STAT_WORDS = {
    "weight": "packet rate", "size_mean": "mean packet size", "size_std": "packet size spread",
    "iat_mean": "mean gap between packets", "iat_std": "jitter of the gaps",
    "magnitude": "packet sizes both ways", "radius": "size spread both ways",
    "covariance": "size co-variation both ways", "pcc": "size correlation both ways",
}


def describe(name: str) -> str:
    """``socket.iat_std.l5`` -> ``jitter of the gaps of this conversation (0.2 s half-life)``."""
    kind, stat, lam = name.split(".", 2)
    half_life = 1.0 / float(lam[1:])
    return f"{_STAT_WORDS[stat]} of {_KIND_WORDS[kind]} ({half_life:.2g} s half-life)"


def build_keys(table: PacketTable) -> dict[str, tuple[U64, npt.NDArray[np.int64]]]:
    """Key words (and, for pairs, the packet's direction in the canonical pair) per kind."""
    n = len(table)
    l3 = table.l3
    has_ip = (l3 == L3_IPV4) | (l3 == L3_IPV6) | (l3 == L3_ARP)
    is_arp = l3 == L3_ARP
    src_mac = table.src_mac.view(np.uint64)
    dst_mac = table.dst_mac.view(np.uint64)
    zero = np.zeros(n, np.uint64)
    s_hi = np.where(has_ip, table.src_hi, zero)
    s_lo = np.where(has_ip, table.src_lo, src_mac)
    d_hi = np.where(has_ip, table.dst_hi, zero)
    d_lo = np.where(has_ip, table.dst_lo, dst_mac)
    addr = np.where(has_ip, _ADDR_IP, _ADDR_MAC)
    with_ports = has_ip & ~is_arp & table.has_ports
    sp = np.where(with_ports, table.sport, 0).astype(np.uint64)
    dp = np.where(with_ports, table.dport, 0).astype(np.uint64)

    mi = np.stack([addr, src_mac, s_hi, s_lo, zero, zero], axis=1)
    host = np.stack([addr, s_hi, s_lo, zero, zero, zero], axis=1)
    flip_ch = (s_hi > d_hi) | ((s_hi == d_hi) & (s_lo > d_lo))
    flip_so = flip_ch | ((s_hi == d_hi) & (s_lo == d_lo) & (sp > dp))
    a_hi, a_lo, b_hi, b_lo = _order(flip_ch, s_hi, s_lo, d_hi, d_lo)
    channel = np.stack([addr, a_hi, a_lo, b_hi, b_lo, zero], axis=1)
    a_hi, a_lo, b_hi, b_lo = _order(flip_so, s_hi, s_lo, d_hi, d_lo)
    pa = np.where(flip_so, dp, sp)
    pb = np.where(flip_so, sp, dp)
    proto = table.proto.astype(np.uint64)
    ports = np.where(
        has_ip & ~is_arp,
        (proto << np.uint64(32)) | (pa << np.uint64(16)) | pb,
        np.where(is_arp, _ARP_TAG, _OTHER_TAG | table.ethertype.astype(np.uint64)),
    )
    socket = np.stack([addr, a_hi, a_lo, b_hi, b_lo, ports], axis=1)
    none = np.zeros(n, np.int64)
    return {
        "mi": (mi, none),
        "host": (host, none),
        "channel": (channel, flip_ch.astype(np.int64)),
        "socket": (socket, flip_so.astype(np.int64)),
    }


def _order(
    flip: npt.NDArray[np.bool_], s_hi: U64, s_lo: U64, d_hi: U64, d_lo: U64
) -> tuple[U64, U64, U64, U64]:
    return (
        np.where(flip, d_hi, s_hi),
        np.where(flip, d_lo, s_lo),
        np.where(flip, s_hi, d_hi),
        np.where(flip, s_lo, d_lo),
    )
