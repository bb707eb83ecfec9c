"""The learned baseline: what normal looks like on one network, as plain data.

Devices (MACs with their IPs, and local IPs), edges (client, server, transport, port) with the
application protocols and operations seen on each, register/point ranges per (server,
protocol, unit, table) for reads and writes (with value ranges of written registers), and
polling series (one per edge, protocol, operation and point signature) with robust period
statistics (median interval and MAD over a bounded sample). Everything is learned in packet
time; the state is JSON-serialisable (:mod:`.persist`) and two states merge.

The model knows nothing of packets or alerts: :mod:`.learner` feeds it, :mod:`.detector` asks it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_INTERVALS = 128  # polling intervals kept per series (the most recent)
MAX_IPS_PER_MAC = 64  # a router's MAC carries many; beyond this, new ones are not recorded

EdgeKey = tuple[str, str, str, int]  # client, server, transport ("tcp"/"udp"/"icmp"), port
PointKey = tuple[str, str, int, str]  # server, protocol, unit, table
SeriesKey = tuple[str, str, str, int, str, str, str]  # edge + protocol, operation, signature


@dataclass(slots=True)
class Learning:
    """How much traffic the baseline has learned from (summed over resumed runs), and how much
    it is to learn (``goal_s`` seconds or ``goal_packets`` packets; kept so that a resumed run
    goes on towards the goal it was given)."""

    seconds: float = 0.0
    packets: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    goal_s: float | None = None
    goal_packets: int | None = None

    @property
    def complete(self) -> bool:
        if self.goal_packets is not None:
            return self.packets >= self.goal_packets
        return self.goal_s is not None and self.seconds >= self.goal_s

    def span(self, first: float, last: float) -> None:
        self.first_ts = first if self.first_ts is None else min(self.first_ts, first)
        self.last_ts = last if self.last_ts is None else max(self.last_ts, last)


@dataclass(slots=True)
class Device:
    """A MAC address seen as a frame source, and the IPs it used."""

    first_ts: float
    ips: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Edge:
    """Who talks to whom on which service; operations counted per application protocol."""

    first_ts: float
    protocols: dict[str, dict[str, int]] = field(default_factory=dict)

    def knows(self, protocol: str, operation: str) -> bool:
        ops = self.protocols.get(protocol)
        return ops is not None and operation in ops


@dataclass(slots=True)
class Span:
    """A closed integer interval [lo, hi]."""

    lo: int
    hi: int

    def covers(self, lo: int, hi: int) -> bool:
        return self.lo <= lo and hi <= self.hi

    def widen(self, lo: int, hi: int) -> None:
        self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)


@dataclass(slots=True)
class Points:
    """Addresses read and written in one table of one server, and the values written."""

    read: Span | None = None
    write: Span | None = None
    # address -> (min, max, writes seen) of written values
    values: dict[int, tuple[float, float, int]] = field(default_factory=dict)

    def learn_read(self, lo: int, hi: int) -> None:
        if self.read is None:
            self.read = Span(lo, hi)
        else:
            self.read.widen(lo, hi)

    def learn_write(self, lo: int, hi: int) -> None:
        if self.write is None:
            self.write = Span(lo, hi)
        else:
            self.write.widen(lo, hi)

    def learn_value(self, address: int, value: float, max_values: int) -> bool:
        """False when the table already holds ``max_values`` addresses (not recorded)."""
        old = self.values.get(address)
        if old is None:
            if len(self.values) >= max_values:
                return False
            self.values[address] = (value, value, 1)
        else:
            self.values[address] = (min(old[0], value), max(old[1], value), old[2] + 1)
        return True


@dataclass(slots=True)
class Series:
    """Intervals between consecutive requests of one kind on one edge (a polling loop).

    ``median``/``mad`` are computed by :meth:`finalize` when learning ends; ``periodic`` says
    the series is regular enough to watch; ``ignored`` is analyst feedback ("its changes are
    expected"): it is never watched again.
    """

    count: int = 0
    intervals: list[float] = field(default_factory=list)
    max_interval: float = 0.0
    median: float | None = None
    mad: float | None = None
    periodic: bool = False
    ignored: bool = False

    def add_interval(self, dt: float) -> None:
        self.intervals.append(dt)
        if len(self.intervals) > MAX_INTERVALS:
            del self.intervals[: len(self.intervals) - MAX_INTERVALS]
        self.max_interval = max(self.max_interval, dt)

    def finalize(self, min_samples: int, max_dispersion: float, min_period_s: float) -> None:
        if not self.intervals:
            self.median = self.mad = None
            self.periodic = False
            return
        med = statistics.median(self.intervals)
        mad = statistics.median(abs(x - med) for x in self.intervals)
        self.median, self.mad = med, mad
        self.periodic = (
            not self.ignored
            and len(self.intervals) >= min_samples
            and med >= min_period_s
            and mad <= max_dispersion * med
        )


@dataclass(slots=True)
class BaselineState:
    """Everything learned; see the module docstring. Mutable: the learner updates it."""

    learning: Learning = field(default_factory=Learning)
    devices: dict[str, Device] = field(default_factory=dict)  # by MAC
    addresses: dict[str, float] = field(default_factory=dict)  # local IP -> first seen
    edges: dict[EdgeKey, Edge] = field(default_factory=dict)
    points: dict[PointKey, Points] = field(default_factory=dict)
    series: dict[SeriesKey, Series] = field(default_factory=dict)
    # derived, not saved: (client, server) -> protocols between them; server -> operations
    _pairs: dict[tuple[str, str], set[str]] = field(default_factory=dict, repr=False)
    _served: dict[str, set[tuple[str, str]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the derived pair index (after ``edges`` was filled directly)."""
        self._pairs, self._served = {}, {}
        for key, edge in self.edges.items():
            self._pairs.setdefault((key[0], key[1]), set()).update(edge.protocols)
            served = self._served.setdefault(key[1], set())
            for protocol, ops in edge.protocols.items():
                served.update((protocol, op) for op in ops)

    # ----------------------------------------------------------------- updates
    def add_edge(self, key: EdgeKey, ts: float) -> Edge:
        edge = self.edges.get(key)
        if edge is None:
            edge = self.edges[key] = Edge(ts)
            self._pairs.setdefault((key[0], key[1]), set())
        return edge

    def add_operation(
        self, key: EdgeKey, protocol: str, operation: str, ts: float, count: int = 1
    ) -> None:
        ops = self.add_edge(key, ts).protocols.setdefault(protocol, {})
        ops[operation] = ops.get(operation, 0) + count
        self._pairs[(key[0], key[1])].add(protocol)
        self._served.setdefault(key[1], set()).add((protocol, operation))

    # ----------------------------------------------------------------- questions
    def knows_pair(self, client: str, server: str) -> bool:
        return (client, server) in self._pairs

    def knows_peer(self, server: str, client: str, protocol: str) -> bool:
        """``client`` was learned talking ``protocol`` to ``server`` (any port)."""
        return protocol in self._pairs.get((client, server), ())

    def serves(self, server: str, protocol: str, operation: str) -> bool:
        """Some learned client had ``server`` do ``operation``."""
        return (protocol, operation) in self._served.get(server, ())

    def operations(self) -> int:
        return sum(len(ops) for e in self.edges.values() for ops in e.protocols.values())

    def finalize(self, min_samples: int, max_dispersion: float, min_period_s: float) -> None:
        """Compute every series' period statistics (end of a learning period)."""
        for series in self.series.values():
            series.finalize(min_samples, max_dispersion, min_period_s)


# --------------------------------------------------------------------------------- merge
def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _span(a: Span | None, b: Span | None) -> Span | None:
    if a is None:
        return None if b is None else Span(b.lo, b.hi)
    if b is None:
        return Span(a.lo, a.hi)
    return Span(min(a.lo, b.lo), max(a.hi, b.hi))


def merge(states: Iterable[BaselineState]) -> BaselineState:
    """One baseline that allows everything any of ``states`` allows (learning summed, ranges
    widened, polling samples pooled; a series ignored in one is ignored in the result).
    Period statistics must be recomputed with :meth:`BaselineState.finalize`."""
    out = BaselineState()
    for s in states:
        out.learning.seconds += s.learning.seconds
        out.learning.packets += s.learning.packets
        out.learning.first_ts = _min(out.learning.first_ts, s.learning.first_ts)
        out.learning.last_ts = _max(out.learning.last_ts, s.learning.last_ts)
        out.learning.goal_s = _max(out.learning.goal_s, s.learning.goal_s)
        if s.learning.goal_packets is not None:
            out.learning.goal_packets = (out.learning.goal_packets or 0) + s.learning.goal_packets
        for mac, dev in s.devices.items():
            mine = out.devices.setdefault(mac, Device(dev.first_ts))
            mine.first_ts = min(mine.first_ts, dev.first_ts)
            mine.ips |= dev.ips
        for ip, ts in s.addresses.items():
            out.addresses[ip] = min(out.addresses.get(ip, ts), ts)
        for key, edge in s.edges.items():
            mine_edge = out.add_edge(key, edge.first_ts)
            mine_edge.first_ts = min(mine_edge.first_ts, edge.first_ts)
            for proto, ops in edge.protocols.items():
                for op, n in ops.items():
                    out.add_operation(key, proto, op, edge.first_ts, n)
        for pkey, pts in s.points.items():
            mine_pts = out.points.setdefault(pkey, Points())
            mine_pts.read = _span(mine_pts.read, pts.read)
            mine_pts.write = _span(mine_pts.write, pts.write)
            for address, (lo, hi, n) in pts.values.items():
                old = mine_pts.values.get(address)
                mine_pts.values[address] = (lo, hi, n) if old is None else (
                    min(old[0], lo), max(old[1], hi), old[2] + n
                )
        for skey, ser in s.series.items():
            mine_ser = out.series.setdefault(skey, Series())
            mine_ser.count += ser.count
            for dt in ser.intervals:
                mine_ser.add_interval(dt)
            mine_ser.max_interval = max(mine_ser.max_interval, ser.max_interval)
            mine_ser.ignored = mine_ser.ignored or ser.ignored
    return out
