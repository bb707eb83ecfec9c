"""Hand events, batches and ended flows to every stage after the protocol layer."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

from ..core.events import BaseEvent, EventBatch
from ..core.plugins import Observer
from ..decode.flows import FlowColumns
from ..decode.view import BatchView

log = logging.getLogger(__name__)

MAX_LOGGED_PER_OBSERVER = 3


class Fanout:
    """Calls each observer in order; an observer that raises is logged and counted, not fatal.

    It is also the protocol layer's event sink (``fanout(event)``, ``fanout.on_events(batch)``).
    Single events go only to the observers that want their class (``wants_event``, asked once
    per class; an observer without it, or whose answer fails, gets every event): most events
    of a capture (DNS, TLS...) interest no detector, and a call per event and observer adds up.
    """

    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = list(observers)
        self.errors: Counter[str] = Counter()
        self._on_event = [o.on_event for o in self.observers]
        self._on_events: list[Callable[[EventBatch], None] | None] = [
            getattr(o, "on_events", None) for o in self.observers
        ]
        # event class -> (observer index, its on_event) of the observers that want it
        self._routes: dict[type, list[tuple[int, Callable[[BaseEvent], None]]]] = {}
        self._takers: dict[type, frozenset[int]] = {}  # the same, as observer indices

    def __call__(self, event: BaseEvent) -> None:
        route = self._routes.get(type(event))
        if route is None:
            route = self._route(type(event))
        for i, handle in route:
            try:
                handle(event)
            except Exception:  # a broken stage must not stop the others
                self._failed(self.observers[i], "on_event")

    def _route(self, cls: type) -> list[tuple[int, Callable[[BaseEvent], None]]]:
        route: list[tuple[int, Callable[[BaseEvent], None]]] = []
        for i, observer in enumerate(self.observers):
            wants = getattr(observer, "wants_event", None)
            if wants is not None:
                try:
                    if not wants(cls):
                        continue
                except Exception:  # it gets every event, as if it had not said
                    self._failed(observer, "wants_event")
            route.append((i, self._on_event[i]))
        self._routes[cls] = route
        self._takers[cls] = frozenset(i for i, _ in route)
        return route

    def on_events(self, batch: EventBatch) -> None:
        """A batch of events: whole to observers that take batches, else event by event (each
        event's failure contained and counted as ``on_event`` would be)."""
        for i, take in enumerate(self._on_events):
            if take is not None:
                try:
                    take(batch)
                except Exception:
                    self._failed(self.observers[i], "on_events")
                continue
            handle = self._on_event[i]
            takers = self._takers
            for event in batch.events():
                cls = type(event)
                if cls not in takers:
                    self._route(cls)
                if i not in takers[cls]:
                    continue  # (not a class this observer wants)
                try:
                    handle(event)
                except Exception:
                    self._failed(self.observers[i], "on_event")

    def on_batch(self, view: BatchView) -> None:
        for observer in self.observers:
            try:
                observer.on_batch(view)
            except Exception:
                self._failed(observer, "on_batch")

    def on_flows(self, flows: FlowColumns) -> None:
        for observer in self.observers:
            try:
                observer.on_flows(flows)
            except Exception:
                self._failed(observer, "on_flows")

    def finish(self) -> None:
        for observer in self.observers:
            try:
                observer.finish()
            except Exception:
                self._failed(observer, "finish")

    def _failed(self, observer: Observer, where: str) -> None:
        name = getattr(observer, "name", type(observer).__name__)
        self.errors[name] += 1
        if self.errors[name] <= MAX_LOGGED_PER_OBSERVER:
            log.exception("observer %s failed in %s (it keeps running)", name, where)
