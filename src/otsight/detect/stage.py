"""The detection stage: an Observer that runs every detector and collects their alerts.

Events are routed by class to the detectors that asked for them (resolved once per class).
Each detector call is contained: an exception is logged (first few), counted per detector and
kept with a short description of the offending input for a bug report; the other detectors and
the pipeline go on. Alerts are deduplicated as they come (bounded memory) and grouped into
incidents on demand.

A compiled event batch goes whole to the detectors that take its class (``on_event_batch``);
its events are built only if another detector wants them one by one. The alerts of both kinds
of detector are collected in the order event-by-event routing gives: by event, then by
detector. A detector that fails inside ``on_event_batch`` keeps what it raised before the
failure and misses the rest of that batch (counted and kept as any failure is).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..alerts.dedup import DEFAULT_WINDOW_S, Deduplicator
from ..alerts.incidents import DEFAULT_GAP_S, Incident, group_incidents
from ..alerts.model import Alert
from ..core.events import BaseEvent, EventBatch
from ..decode.flows import FlowColumns
from ..decode.view import BatchView
from .base import Detector

log = logging.getLogger(__name__)

MAX_LOGGED_PER_DETECTOR = 3
MAX_KEPT_FAILURES = 3
OFFENDING_CHARS = 400
# what becomes of an event batch (on_events)
SKIP, SUMMARY, EVERY = "skip", "summary", "every"


class _BatchPlan:
    """How ``on_events`` treats a kind of batch, decided once per batch class and event types:
    ``plan`` (SKIP, SUMMARY or EVERY), the routed detectors that take the batch ``whole``, and
    whether any routed detector wants its events ``each`` (then they are built)."""

    __slots__ = ("each", "plan", "whole")

    def __init__(self, plan: str, whole: list[Detector[Any]], each: bool) -> None:
        self.plan = plan
        self.whole = whole
        self.each = each


class DetectionStage:
    """Runs ``detectors`` on the pipeline's events, batches and flows."""

    name = "detect"

    def __init__(
        self,
        detectors: Sequence[Detector[Any]],
        *,
        dedup_window_s: float = DEFAULT_WINDOW_S,
        keep_raw: bool = False,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        names = [d.name for d in detectors]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"detector names must be unique: {', '.join(duplicates)}")
        self.detectors = list(detectors)
        self._routes: dict[type, list[Detector[Any]]] = {}
        # what becomes of an event batch, by its class and event_types (decided once each)
        self._batch_plans: dict[tuple[type, tuple[type, ...]], _BatchPlan] = {}
        self._batch = [d for d in self.detectors if d.wants_batches]
        self._flows = [d for d in self.detectors if d.wants_flows]
        self.dedup = Deduplicator(dedup_window_s)
        self.raw: list[Alert] | None = [] if keep_raw else None
        self.on_alert = on_alert
        self.raised: Counter[str] = Counter()  # raw alerts per detector (before dedup)
        self.errors: Counter[str] = Counter()
        self.failures: dict[str, list[str]] = {}  # detector -> "where: error (input)"
        self.finished = False

    # ----------------------------------------------------------------- Observer
    def wants_event(self, cls: type[BaseEvent]) -> bool:
        """Only classes some detector takes: the pipeline then skips the rest (most events)."""
        route = self._routes.get(cls)
        return bool(route if route is not None else self._route(cls))

    def on_event(self, event: BaseEvent) -> None:
        route = self._routes.get(type(event))
        if route is None:
            route = self._route(type(event))
        for detector in route:
            try:
                alerts = detector.on_event(event)
                if alerts:  # the usual empty tuple costs no further call
                    self._collect(detector, alerts)
            except Exception as exc:
                self._failed(detector, "on_event", exc, event)

    def on_events(self, batch: EventBatch) -> None:
        """A compiled batch (Modbus polling) reaches the detectors as its summary when none of
        those its events go to needs every repeated message (the default rules), else whole;
        not at all when no detector wants its kinds of events. Detectors that take its class
        get it as a batch, the others event by event."""
        kinds = tuple(batch.event_types)  # (the same object when it is a tuple already)
        if not kinds:  # routing unknown until the events are built: each one is routed
            self._each(batch, {})
            return
        key = (type(batch), kinds)
        plan = self._batch_plans.get(key)
        if plan is None:
            plan = self._batch_plans[key] = self._plan(type(batch), kinds)
        if plan.plan == SKIP:
            return  # (its events would each find no detector)
        # Detectors that take the batch whole are told to judge its summary: one that sees
        # nothing for it in the batch need not build it. Events one by one are the summary's.
        summary = plan.plan == SUMMARY
        if summary and plan.each:
            batch, summary = batch.summary(), False
        raised: dict[Detector[Any], list[tuple[int, Alert]]] = {}
        for detector in plan.whole:
            pairs = raised[detector] = []
            try:
                # (taken as they come: what a detector raised before it failed counts)
                pairs.extend(detector.on_event_batch(batch, summary))
            except Exception as exc:
                where = f"batch of {len(batch)} {batch.protocol} events"
                self._failed(detector, "on_event_batch", exc, where)
        if plan.each:
            self._each(batch, raised)
            return
        detectors = list(raised)  # in routing order
        ordered = [(row, i, alert) for i, pairs in enumerate(raised.values())
                   for row, alert in pairs]
        if len(detectors) > 1:  # by event, then by detector, as routing one by one gives
            ordered.sort(key=lambda item: (item[0], item[1]))
        for _, i, alert in ordered:
            self._collect(detectors[i], (alert,))

    def _each(
        self, batch: EventBatch, raised: dict[Detector[Any], list[tuple[int, Alert]]]
    ) -> None:
        """The events of ``batch`` routed one by one; the alerts ``raised`` by the detectors
        that took it whole come in at the events that raised them, in routing order."""
        at: dict[Detector[Any], dict[int, list[Alert]]] = {}
        for detector, pairs in raised.items():
            rows = at[detector] = defaultdict(list)
            for row, alert in pairs:
                rows[row].append(alert)
        routes = self._routes  # as on_event does, inlined: one call less per event
        for row, event in enumerate(batch.events()):
            route = routes.get(type(event))
            if route is None:
                route = self._route(type(event))
            for detector in route:
                by_row = at.get(detector)
                if by_row is not None:  # it took the batch whole
                    alerts = by_row.get(row)
                    if alerts:
                        self._collect(detector, alerts)
                    continue
                try:
                    raised_now = detector.on_event(event)
                    if raised_now:  # the usual empty tuple costs no further call
                        self._collect(detector, raised_now)
                except Exception as exc:
                    self._failed(detector, "on_event", exc, event)

    def on_batch(self, view: BatchView) -> None:
        for detector in self._batch:
            try:
                self._collect(detector, detector.on_batch(view))
            except Exception as exc:
                where = f"batch of {len(view.batch)} frames from {view.batch.source}"
                self._failed(detector, "on_batch", exc, where)

    def on_flows(self, flows: FlowColumns) -> None:
        for detector in self._flows:
            try:
                self._collect(detector, detector.on_flows(flows))
            except Exception as exc:
                self._failed(detector, "on_flows", exc, f"{len(flows)} flows")

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        for detector in self.detectors:
            try:
                self._collect(detector, detector.finish())
            except Exception as exc:
                self._failed(detector, "finish", exc, "end of input")

    # ----------------------------------------------------------------- results
    @property
    def alerts(self) -> list[Alert]:
        """Deduplicated alerts in capture-time order."""
        return self.dedup.alerts()

    def incidents(self, gap_s: float = DEFAULT_GAP_S) -> list[Incident]:
        return group_incidents(self.alerts, gap_s)

    @property
    def dropped(self) -> dict[str, int]:
        """Items detectors did not track because a memory bound was reached (counted skips)."""
        counts = {d.name: int(getattr(d, "dropped", 0)) for d in self.detectors}
        return {name: n for name, n in counts.items() if n}

    # ----------------------------------------------------------------- internals
    def _plan(self, cls: type[EventBatch], kinds: tuple[type, ...]) -> _BatchPlan:
        routed = {d for kind in kinds for d in self._route(kind)}
        if not routed:
            return _BatchPlan(SKIP, [], False)
        plan = EVERY if any(d.sees_every_poll for d in routed) else SUMMARY
        ordered = [d for d in self.detectors if d in routed]
        whole = [d for d in ordered if issubclass(cls, d.batch_types)]
        return _BatchPlan(plan, whole, len(whole) < len(ordered))

    def _route(self, cls: type) -> list[Detector[Any]]:
        route = [d for d in self.detectors if issubclass(cls, d.event_types)]
        self._routes[cls] = route
        return route

    def _collect(self, detector: Detector[Any], alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            self.raised[detector.name] += 1
            if self.raw is not None:
                self.raw.append(alert)
            if self.dedup.add(alert) and self.on_alert is not None:
                self.on_alert(alert)

    def _failed(self, detector: Detector[Any], where: str, exc: Exception, item: object) -> None:
        name = detector.name
        self.errors[name] += 1
        kept = self.failures.setdefault(name, [])
        if len(kept) < MAX_KEPT_FAILURES:
            kept.append(f"{where}: {type(exc).__name__}: {exc} ({repr(item)[:OFFENDING_CHARS]})")
        if self.errors[name] <= MAX_LOGGED_PER_DETECTOR:
            log.error(
                "detector %s failed in %s (it keeps running)", name, where, exc_info=exc
            )
