"""The detector plugin contract.

A detector is a small class with a slug ``name``, typed options (a pydantic model, checked once
when the detector is built), and methods that return alerts: ``on_event`` for protocol events
(only the classes listed in ``event_types`` are delivered, so an event nobody wants costs one
dict lookup), and optionally ``on_batch`` (decoded packet columns, for vectorised work),
``on_flows`` (ended flows) and ``finish``. Detectors work in packet time only: the same input
gives the same alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from ..alerts.model import Alert
from ..core.events import BaseEvent

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

    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        """Every decoded packet of a batch (vectorise: no per-packet Python)."""
        return ()

    def on_flows(self, flows: FlowColumns) -> Iterable[Alert]:
        """Flows that ended."""
        return ()

    def finish(self) -> Iterable[Alert]:
        """No more input: raise what was pending."""
        return ()
