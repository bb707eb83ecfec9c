"""The detection stage: an Observer that runs every detector and collects their alerts.

Events are routed by class to the detectors that asked for them (resolved once per class).
Each detector call is contained: an exception is logged (first few), counted per detector and
kept with a short description of the offending input for a bug report; the other detectors and
the pipeline go on. Alerts are deduplicated as they come (bounded memory) and grouped into
incidents on demand.
"""

from __future__ import annotations

import logging
from collections import Counter
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
        # what becomes of an event batch, by its event_types (decided once per tuple)
        self._batch_plans: dict[tuple[type, ...], str] = {}
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
        those its events go to needs every repeated message (the default rules), else event
        by event; not at all when no detector wants its kinds of events."""
        kinds = tuple(batch.event_types)  # (the same object when it is a tuple already)
        if kinds:
            plan = self._batch_plans.get(kinds)
            if plan is None:
                plan = self._batch_plans[kinds] = self._plan(kinds)
            if plan == SKIP:
                return  # (its events would each find no detector)
            if plan == SUMMARY:
                batch = batch.summary()
        routes = self._routes  # as on_event does, inlined: one call less per event
        for event in batch.events():
            route = routes.get(type(event))
            if route is None:
                route = self._route(type(event))
            for detector in route:
                try:
                    alerts = detector.on_event(event)
                    if alerts:
                        self._collect(detector, alerts)
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
    def _plan(self, kinds: tuple[type, ...]) -> str:
        routed = {d for kind in kinds for d in self._route(kind)}
        if not routed:
            return SKIP
        return EVERY if any(d.sees_every_poll for d in routed) else SUMMARY

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
