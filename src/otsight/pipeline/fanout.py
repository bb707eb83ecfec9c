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
    """

    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = list(observers)
        self.errors: Counter[str] = Counter()
        self._on_event = [o.on_event for o in self.observers]
        self._on_events: list[Callable[[EventBatch], None] | None] = [
            getattr(o, "on_events", None) for o in self.observers
        ]

    def __call__(self, event: BaseEvent) -> None:
        for i, handle in enumerate(self._on_event):
            try:
                handle(event)
            except Exception:  # a broken stage must not stop the others
                self._failed(self.observers[i], "on_event")

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
            for event in batch.events():
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
