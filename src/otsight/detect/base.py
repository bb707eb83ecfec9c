"""The detector plugin contract.

A detector is a small class with a slug ``name``, typed options (a pydantic model, checked once
when the detector is built), and methods that return alerts: ``on_event`` for protocol events
(only the classes listed in ``event_types`` are delivered, so an event nobody wants costs one
dict lookup), and optionally ``on_batch`` (decoded packet columns, for vectorised work),
``on_flows`` (ended flows) and ``finish``. Detectors work in packet time only: the same input
gives the same alerts.

A detector may also take compiled event batches of the classes in ``batch_types`` whole
(``on_event_batch``): it reads their columns and builds objects only for the rows that can
raise an alert, instead of being handed every event of the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from ..alerts.model import Alert
from ..core.events import BaseEvent, EventBatch

if TYPE_CHECKING:
    from ..decode.flows import FlowColumns
    from ..decode.view import BatchView


class DetectorOptions(BaseModel):
    """Base of every detector's options: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


OptionsT = TypeVar("OptionsT", bound=DetectorOptions)


class Detector(Generic[OptionsT]):
    """Base class of detectors; subclasses set ``name``, ``Options`` and ``event_types``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[DetectorOptions]] = DetectorOptions
    event_types: ClassVar[tuple[type[BaseEvent], ...]] = ()
    wants_batches: ClassVar[bool] = False  # on_batch is called only when True
    wants_flows: ClassVar[bool] = False  # on_flows is called only when True
    # False: from compiled polling batches it needs only the summary (every non-read request
    # and the first read of each flow direction), not each read and its answer.
    sees_every_poll: ClassVar[bool] = True
    # Event batch classes taken whole by on_event_batch rather than as events one by one.
    batch_types: ClassVar[tuple[type[EventBatch], ...]] = ()

    def __init__(self, options: OptionsT | None = None) -> None:
        self.options: OptionsT = options if options is not None else cast(OptionsT, self.Options())

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> Detector[Any]:
        """Build from plain settings (a config file section); pydantic names any bad key."""
        options = cls.Options.model_validate(dict(config or {}))
        return cls(cast(OptionsT, options))

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        """One event of a class in ``event_types``, at its capture time."""
        return ()

    def on_event_batch(
        self, batch: EventBatch, summary: bool = False
    ) -> Iterable[tuple[int, Alert]]:
        """A batch of a class in ``batch_types`` in place of its events: what ``on_event``
        would raise and change for each event of ``event_types`` in it, in order, each alert
        with its event's index in ``batch.events()`` (the stage interleaves other detectors'
        alerts by it). With ``summary`` the batch stands for ``batch.summary()`` (and indices
        are the summary's): a detector that can tell from the whole batch that the summary
        holds nothing for it need not build the summary. Overrides work on the columns; this
        one walks the events."""
        kinds = self.event_types
        for row, event in enumerate((batch.summary() if summary else batch).events()):
            if isinstance(event, kinds):
                for alert in self.on_event(event):
                    yield row, alert

    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        """Every decoded packet of a batch (vectorise: no per-packet Python)."""
        return ()

    def on_flows(self, flows: FlowColumns) -> Iterable[Alert]:
        """Flows that ended."""
        return ()

    def finish(self) -> Iterable[Alert]:
        """No more input: raise what was pending."""
        return ()
