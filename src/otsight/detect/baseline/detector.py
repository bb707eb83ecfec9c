"""The ``baseline`` detector: learn a period of traffic, then report what deviates from it.

Learning lasts ``learn_s`` seconds of packet time (or ``learn_packets`` packets), summed over
resumed runs: a saved state that has not reached its goal (saved with it) goes on learning.
Then every request (from the inventory's activity facts) and every packet is checked against
the state: a new device or address, a new conversation (client -> server), a new service or
protocol on a known pair, a new operation on an edge, a write outside the learned register or
value range (reads too with ``alert_read_ranges``), and a learned polling loop that falls
silent or speeds up.

Events are queued and handled with the packets of their batch in capture-time order, so the
verdicts do not depend on where batches split (a SYN is seen before the request it opens; only
data a flow delivers when it expires comes later).
Each event raises at most one alert covering everything new about it. A novelty is reported
once per run, except writes outside the learned range (each write changes the process; the
deduplicator folds repeats). What was reported is not learned: it stays a deviation until an
analyst accepts it (:mod:`.feedback`) or, with ``auto_learn_after``, until it has kept
recurring that long after its alert.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ...alerts.model import Alert, AlertEvidence
from ...core.events import BaseEvent
from ...decode.view import BatchView
from ...inventory.facts import HANDLERS
from ..base import Detector, DetectorOptions
from .alerts import (
    Deviation,
    contact_texts,
    device_texts,
    duration,
    make_alert,
    request_texts,
    request_verdict,
    rhythm_texts,
)
from .checks import point_deviations, request_deviations
from .learner import Limits, learn_device, learn_edge, learn_request
from .model import BaselineState, EdgeKey, Series, SeriesKey
from .observe import Request, encode_fields, encode_request, encode_series, requests_of
from .packets import Contact, Source, contacts, sources
from .polling import Monitor, Rhythm

DEFAULT_LEARN_S = 300.0
SILENCE_CHECK_S = 0.5  # packet time between two looks for silent polling loops
MAX_REPORTED = 200_000


class BaselineOptions(DetectorOptions):
    learn_s: float | None = Field(
        default=None, ge=0, description="seconds of packet time to learn (summed over resumed "
        "runs) before detecting; None: the goal saved in the state, else 300 s",
    )
    learn_packets: int | None = Field(
        default=None, ge=0, description="learn this many packets instead of seconds",
    )
    auto_learn_after: float | None = Field(
        default=None, ge=0, description="learn a reported deviation that still recurs this many "
        "seconds after its alert (None: only analyst feedback makes it normal)",
    )
    operations_per_server: bool = Field(
        default=False, description="a learned master may do what any learned master of the "
        "same server did (fewer alerts on maintenance, but a trusted station sending a command "
        "it never sent goes unreported); new masters are judged per edge all the same",
    )
    writes_within_reads: bool = Field(
        default=False, description="a write to a register inside the learned read range of "
        "its table counts as in range (its value is still judged when learned)",
    )
    alert_read_ranges: bool = Field(
        default=False, description="also report reads outside the learned register ranges",
    )
    value_margin: float = Field(
        default=1.0, ge=0, description="a written value may exceed the learned value range of "
        "its register by this fraction of the range's width",
    )
    min_value_samples: int = Field(
        default=5, ge=1, description="writes a register needs in learning before its values "
        "are judged (fewer: only its address is)",
    )
    min_period_samples: int = Field(default=8, ge=2, description="intervals to call a loop regular")
    max_period_dispersion: float = Field(
        default=0.25, ge=0, description="a regular loop's MAD is at most this fraction of its "
        "median interval",
    )
    min_period_s: float = Field(default=0.05, gt=0, description="shorter loops are not watched")
    stop_factor: float = Field(default=5.0, gt=1, description="silent after this many periods")
    stop_min_s: float = Field(default=5.0, ge=0, description="and at least this long")
    fast_factor: float = Field(default=3.0, gt=1, description="faster: this many times the rate")
    fast_window: int = Field(default=8, ge=3, description="intervals in the 'faster' median")
    start_grace_s: float = Field(
        default=60.0, ge=0, description="a loop not yet seen in this run is silent only after "
        "this long (captures that begin while the plant boots)",
    )
    max_devices: int = Field(default=100_000, ge=1, description="memory bound")
    max_edges: int = Field(default=200_000, ge=1, description="memory bound")
    max_point_tables: int = Field(default=50_000, ge=1, description="memory bound")
    max_values_per_table: int = Field(default=10_000, ge=1, description="memory bound")
    max_series: int = Field(default=100_000, ge=1, description="memory bound")




Item = Source | Contact | Request
# (capture time, frame, rank, sequence, item): at one instant, who (0), then whom (1), then
# what (2); the sequence number keeps the order of arrival and makes every key unique
Timed = tuple[float, int, int, int, Item]


class BaselineDetector(Detector[BaselineOptions]):
    """Allow-list of learned behaviour; alerts on deviations (see the module docstring)."""

    name: ClassVar[str] = "baseline"
    description: ClassVar[str] = (
        "learned baseline: new devices, conversations, protocols and operations, writes outside "
        "learned register/value ranges, polling loops that stop or speed up"
    )
    Options = BaselineOptions
    event_types = tuple(HANDLERS)
    wants_batches = True

    def __init__(
        self, options: BaselineOptions | None = None, state: BaselineState | None = None
    ) -> None:
        super().__init__(options)
        o = self.options
        self.state = state if state is not None else BaselineState()
        learning = self.state.learning
        if o.learn_packets is not None:  # the options' goal replaces the saved one
            learning.goal_s, learning.goal_packets = None, o.learn_packets
        elif o.learn_s is not None:
            learning.goal_s, learning.goal_packets = o.learn_s, None
        elif learning.goal_s is None and learning.goal_packets is None:
            learning.goal_s = DEFAULT_LEARN_S
        self.limits = Limits(o.max_devices, o.max_edges, o.max_point_tables,
                             o.max_values_per_table, o.max_series)
        self.rhythm = Rhythm(o.stop_factor, o.stop_min_s, o.fast_factor, o.fast_window,
                             o.start_grace_s)
        self.dropped = 0
        self._begun = self._detecting = self._closed = False
        self._learn_end = -math.inf
        self._first_ts = self._last_ts = 0.0
        self._queue: list[Timed] = []
        self._seq = 0
        self._last_seen: dict[SeriesKey, tuple[float, int]] = {}  # learning: last request
        self._monitors: dict[SeriesKey, Monitor] = {}
        self._reported: dict[tuple[object, ...], float] = {}
        self._contact_edges: set[EdgeKey] = set()
        self._next_check = -math.inf

    # ------------------------------------------------------------------ phase
    @property
    def complete(self) -> bool:
        """The state has learned as much as its goal asks."""
        return self.state.learning.complete

    @property
    def detecting(self) -> bool:
        return self._detecting or (not self._begun and self.complete)

    def _begin(self, ts: float) -> None:
        if self._begun:
            return
        self._begun = True
        self._first_ts = self._last_ts = ts
        learning = self.state.learning
        if learning.complete:
            self._start_detection()
        elif learning.goal_s is not None:
            self._learn_end = ts + (learning.goal_s - learning.seconds)
        else:
            self._learn_end = math.inf  # set when the count is reached (on_batch)

    def _close_learning(self, end: float) -> None:
        o, st = self.options, self.state
        st.learning.seconds += max(0.0, end - self._first_ts)
        st.learning.span(self._first_ts, max(self._first_ts, end))
        st.finalize(o.min_period_samples, o.max_period_dispersion, o.min_period_s)

    def _start_detection(self) -> None:
        self._detecting = True
        learned_here = self._learn_end > -math.inf
        if learned_here:
            self._close_learning(self._learn_end)
        for key, series in self.state.series.items():
            if not series.periodic or series.ignored:
                continue
            last = self._last_seen.get(key)
            start, frame = (self._first_ts, 0) if last is None else last
            monitor = Monitor(series, self.rhythm, start, frame, seen=last is not None)
            if learned_here and self._learn_end - monitor.last_ts > monitor.limit:
                continue  # it fell silent while learning: silence is what was learned
            self._monitors[key] = monitor
        self._last_seen.clear()

    # ------------------------------------------------------------------ input
    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        """Queue the event's requests: they are handled with the packets of their batch."""
        for r in requests_of(event):
            self._seq += 1
            self._queue.append((r.ts, r.frame, 2, self._seq, r))
        return ()

    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        n = len(view.batch)
        if n == 0:
            return self._handle([])
        ts: npt.NDArray[np.float64] = view.batch.ts_ns / 1e9
        first = float(ts[0])
        if self._queue:
            first = min([first, *(q[0] for q in self._queue)])
        self._begin(first)
        if not self._detecting and self._learn_end == math.inf:
            remaining = (self.state.learning.goal_packets or 0) - self.state.learning.packets
            if remaining < n:
                self._learn_end = float(ts[max(remaining, 0)])
        self.state.learning.packets += int((ts < self._learn_end).sum())
        everything = np.ones(n, dtype=np.bool_)
        items: list[Timed] = [(s.ts, s.frame, 0, i, s) for i, s in
                              enumerate(sources(view, ts, everything))]
        items += [(c.ts, c.frame, 1, i, c) for i, c in enumerate(contacts(view, ts, everything))]
        alerts = self._handle(items)
        now = float(ts.max())
        self._last_ts = max(self._last_ts, now)
        alerts.extend(self._check_silence(now))
        return alerts

    def finish(self) -> Iterable[Alert]:
        """End of input: handle what is queued; a run that ended while learning adds what it
        learned to the state."""
        alerts = self._handle([])
        if self._begun and not self._detecting and not self._closed:
            self._closed = True
            self._close_learning(self._last_ts)
        return alerts

    def _handle(self, items: list[Timed]) -> list[Alert]:
        """Learn from or check ``items`` and the queued requests, in capture-time order."""
        if self._queue:
            items.extend(self._queue)
            self._queue = []
        if not items:
            return []
        items.sort()
        self._begin(items[0][0])
        alerts: list[Alert] = []
        for ts, _frame, _rank, _seq, item in items:
            self._last_ts = max(self._last_ts, ts)
            if ts < self._learn_end:
                self._learn(item)
                continue
            if not self._detecting:
                self._start_detection()
            if ts >= self._next_check:
                alerts.extend(self._check_silence(ts))
            alerts.extend(self._check(item))
        return alerts

    # ------------------------------------------------------------------ learning
    def _learn(self, item: Item) -> None:
        st, limits = self.state, self.limits
        if isinstance(item, Source):
            ok = learn_device(st, item.mac, item.ip, item.ts, limits)
        elif isinstance(item, Contact):
            reply = item.reply_of
            ok = (reply is not None and reply in st.edges) or learn_edge(
                st, item.edge, item.ts, limits
            )
        else:
            ok = self._learn_request(item)
        if not ok:
            self.dropped += 1

    def _learn_request(self, r: Request) -> bool:
        ok = learn_request(self.state, r, self.limits)
        key = r.series
        series = self.state.series.get(key)
        if series is None:
            if len(self.state.series) >= self.limits.max_series:
                return False
            series = self.state.series[key] = Series()
        last = self._last_seen.get(key)
        if last is not None and r.ts >= last[0]:
            series.add_interval(r.ts - last[0])
        series.count += 1
        self._last_seen[key] = (r.ts, r.frame)
        return ok

    # ------------------------------------------------------------------ checking
    def _check(self, item: Item) -> list[Alert]:
        if isinstance(item, Source):
            alert = self._check_source(item)
        elif isinstance(item, Contact):
            alert = self._check_contact(item)
        else:
            return self._check_request(item)
        return [alert] if alert is not None else []

    def _decide(
        self, devs: list[Deviation], ts: float, learn: Callable[[], bool]
    ) -> list[Deviation] | None:
        """The deviations to report now (None: nothing), recorded as reported; with
        ``auto_learn_after``, learn instead when every one was reported long enough ago."""
        if not devs:
            return None
        after, reported = self.options.auto_learn_after, self._reported
        if after is not None and all(ts - reported.get(d.key, math.inf) >= after for d in devs):
            if not learn():
                self.dropped += 1
            return None
        fresh = [d for d in devs if not d.once or d.key not in reported]
        if not fresh:
            return None
        for d in devs:
            if d.key in reported:
                continue
            if len(reported) >= MAX_REPORTED:
                self.dropped += 1
            else:
                reported[d.key] = ts
        return fresh

    def _learned(self) -> str:
        return duration(self.state.learning.seconds)

    def _check_request(self, r: Request) -> list[Alert]:
        st, o = self.state, self.options
        alerts = self._watch(r) if self._monitors else []
        edge = st.edges.get(r.edge)
        if (
            edge is not None
            and edge.knows(r.protocol, r.operation)
            and not o.alert_read_ranges
            and not r.writes
        ):
            return alerts  # the usual case: a known read on a known edge
        devs = request_deviations(st, r, r.label, o.operations_per_server)
        devs += point_deviations(st, r, o.value_margin, o.min_value_samples,
                                 o.alert_read_ranges, o.writes_within_reads)
        fresh = self._decide(devs, r.ts, lambda: learn_request(st, r, self.limits))
        if fresh is None:
            return alerts
        kind = fresh[0].kind
        tech, severity = request_verdict(devs, kind, r.category)
        title, explanation = request_texts(
            kind, devs, r.client, r.server, f"{r.protocol} {r.label}", self._learned(), tech
        )
        evidence = AlertEvidence(ts=r.ts, frame=r.frame, flow_id=r.flow_id, protocol=r.protocol,
                                 operation=r.operation, detail=encode_request(r))
        alerts.append(make_alert(
            kind=kind, severity=severity, title=title, explanation=explanation,
            technique_id=tech, evidence=evidence, src_ip=r.client, dst_ip=r.server,
            protocol=r.protocol,
        ))
        return alerts

    def _check_source(self, s: Source) -> Alert | None:
        st = self.state
        devs: list[Deviation] = []
        device = st.devices.get(s.mac) if s.mac is not None else None
        if (s.ip is None or s.ip in st.addresses) and (
            s.mac is None or (device is not None and (s.ip is None or s.ip in device.ips))
        ):
            return None  # the usual case: nothing new
        if s.mac is not None and device is None:
            devs.append(Deviation("new-device", ("mac", s.mac), ""))
        elif s.ip is not None and s.ip not in st.addresses:
            devs.append(Deviation("new-address", ("ip", s.ip), ""))
        owners: list[str] = []
        claim = ("claim", s.mac, s.ip)
        if s.mac is not None and s.ip in st.addresses and claim not in self._reported and (
            device is None or s.ip not in device.ips
        ):
            owners = sorted(m for m, d in st.devices.items() if s.ip in d.ips and m != s.mac)
            if owners:
                devs.append(Deviation("address-claimed", claim, ""))
        fresh = self._decide(devs, s.ts, lambda: learn_device(st, s.mac, s.ip, s.ts, self.limits))
        if fresh is None:
            return None
        kind = fresh[0].kind
        known = ", ".join(sorted(device.ips)) if device is not None else ""
        tech, severity, title, explanation = device_texts(kind, s.mac, s.ip, known, owners,
                                                          self._learned())
        evidence = AlertEvidence(ts=s.ts, frame=s.frame, flow_id=s.flow_id, protocol="ethernet",
                                 operation="frame", detail=encode_fields(mac=s.mac, ip=s.ip))
        return make_alert(kind=kind, severity=severity, title=title, explanation=explanation,
                          technique_id=tech, evidence=evidence, src_ip=s.ip, src_mac=s.mac)

    def _check_contact(self, c: Contact) -> Alert | None:
        st = self.state
        if c.edge in st.edges:
            return None
        reply = c.reply_of
        if reply is not None and (reply in st.edges or reply in self._contact_edges):
            return None
        client, server, transport, port = c.edge
        service = "icmp echo" if transport == "icmp" else f"{transport}/{port}"
        if not st.knows_pair(client, server):
            dev = Deviation("new-conversation", ("pair", client, server),
                            f"{client} had never talked to {server}")
        else:
            dev = Deviation("new-protocol", ("edge", *c.edge),
                            f"{client} talked to {server} before, never on {service}")
        if len(self._contact_edges) < MAX_REPORTED:
            self._contact_edges.add(c.edge)
        if self._decide([dev], c.ts, lambda: learn_edge(st, c.edge, c.ts, self.limits)) is None:
            return None
        title, explanation = contact_texts(dev, client, server, service, self._learned())
        operation = {"tcp": "connect", "udp": "datagram"}.get(transport, "echo-request")
        evidence = AlertEvidence(
            ts=c.ts, frame=c.frame, flow_id=c.flow_id, protocol=transport, operation=operation,
            detail=encode_fields(client=client, server=server, transport=transport, port=port),
        )
        return make_alert(kind=dev.kind, severity="medium", title=title, explanation=explanation,
                          technique_id="", evidence=evidence, src_ip=client, dst_ip=server,
                          protocol=transport)

    # ------------------------------------------------------------------ polling
    def _watch(self, r: Request) -> list[Alert]:
        monitor = self._monitors.get(r.series)
        if monitor is None:
            return []
        alerts = []
        if monitor.fell_silent(r.ts):  # exact even between two periodic looks
            alerts.append(self._rhythm_alert(r.series, monitor, "polling-stopped", 0.0))
        current = monitor.seen(r.ts, r.frame, self.rhythm)
        if current is not None:
            alerts.append(self._rhythm_alert(r.series, monitor, "polling-faster", current))
        return alerts

    def _check_silence(self, now: float) -> list[Alert]:
        if not self._detecting or now < self._next_check:
            return []
        self._next_check = now + SILENCE_CHECK_S
        return [
            self._rhythm_alert(key, m, "polling-stopped", 0.0)
            for key, m in self._monitors.items()
            if m.fell_silent(now)
        ]

    def _rhythm_alert(self, key: SeriesKey, m: Monitor, kind: str, current: float) -> Alert:
        client, server, _transport, _port, protocol, operation, sig = key
        series = self.state.series[key]
        what = f"{protocol} {operation}" + (f" [{sig}]" if sig else "")
        every = f"every {m.median:.3g} s (MAD {series.mad or 0:.2g} s)"
        title, explanation = rhythm_texts(
            kind, client, server, what, every, self._learned(), limit=m.limit,
            last_frame=m.last_frame, window=self.rhythm.window, current=current,
        )
        # The evidence is the last request seen. A silence begins when the next request was
        # due (one learned period later: no packet marks it) and is decided when it outlasts
        # the limit; a speed-up is decided at the request that showed it.
        if kind == "polling-stopped":
            ts, decided = m.last_ts + m.median, m.last_ts + m.limit
        else:
            ts = decided = m.last_ts
        evidence = AlertEvidence(ts=m.last_ts, frame=m.last_frame, flow_id=None,
                                 protocol=protocol, operation=operation,
                                 detail=encode_series(key))
        return make_alert(kind=kind, severity="medium", title=title, explanation=explanation,
                          technique_id="", evidence=evidence, src_ip=client, dst_ip=server,
                          protocol=protocol, ts=ts, detected_ts=decided)


class LearnedPeers:
    """The baseline as unknown-master's ``PeerBaseline``: no opinion while learning."""

    def __init__(self, detector: BaselineDetector) -> None:
        self.detector = detector

    def knows(self, server: str, client: str, protocol: str) -> bool | None:
        if not self.detector.detecting:
            return None
        return self.detector.state.knows_peer(server, client, protocol)
