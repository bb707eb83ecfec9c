"""A pipeline observer around a bare anomaly model (``on_event``/``on_batch``/``on_flows``/
``finish`` returning alerts), for the tests and the anomaly benchmark that run one without the
detection stage's deduplication."""

from __future__ import annotations

from typing import Protocol

from ..alerts.model import Alert
from ..core.events import BaseEvent
from ..decode.flows import FlowColumns
from ..decode.view import BatchView


class AlertSource(Protocol):
    name: str

    def on_event(self, event: BaseEvent) -> list[Alert]: ...
    def on_batch(self, view: BatchView) -> list[Alert]: ...
    def on_flows(self, flows: FlowColumns) -> list[Alert]: ...
    def finish(self) -> list[Alert]: ...


class Collect:
    """Every alert version in order (``emitted``) and the last one per ``alert_id``
    (``alerts``)."""

    def __init__(self, detector: AlertSource) -> None:
        self.detector = detector
        self.name = detector.name
        self.emitted: list[Alert] = []

    def on_event(self, event: BaseEvent) -> None:
        self.emitted += self.detector.on_event(event)

    def on_batch(self, view: BatchView) -> None:
        self.emitted += self.detector.on_batch(view)

    def on_flows(self, flows: FlowColumns) -> None:
        self.emitted += self.detector.on_flows(flows)

    def finish(self) -> None:
        self.emitted += self.detector.finish()

    @property
    def alerts(self) -> list[Alert]:
        last = {a.alert_id: a for a in self.emitted}
        return sorted(last.values(), key=lambda a: (a.ts, a.alert_id))
