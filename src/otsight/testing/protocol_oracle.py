"""Message-by-message comparison of a dissector's events with tshark's decoding.

Both sides are reduced to a multiset of keys (frame number plus the fields that matter); the
agreement of a capture is matched / max(ours, tshark's), so missing and extra messages both
count against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.events import BaseEvent, Event
from ..pipeline.runner import analyze
from ..protocols.base import Dissector, FrameDissector
from ..protocols.registry import DissectorSelector, FrameDispatcher
from . import tshark


@dataclass
class Agreement:
    capture: str
    ours: int
    theirs: int
    matched: int
    only_ours: list[Hashable] = field(default_factory=list)
    only_theirs: list[Hashable] = field(default_factory=list)

    @property
    def compared(self) -> int:
        return max(self.ours, self.theirs)

    @property
    def ratio(self) -> float:
        return self.matched / self.compared if self.compared else 1.0


def dissect(
    path: Path,
    dissectors: Iterable[type[Dissector]],
    frame_dissectors: Iterable[type[FrameDissector]] = (),
) -> list[Event]:
    """Events of ``path`` from the given flow (and link-layer) dissectors, in packet order."""
    events: list[Event] = []
    sink: Callable[[BaseEvent], None] = events.append  # type: ignore[assignment]
    frames = list(frame_dissectors)
    analyze(
        [str(path)],
        handler_factory=DissectorSelector(list(dissectors), sink),
        frame_handler=FrameDispatcher(frames, sink) if frames else None,
    )
    return events


def dissect_frames(path: Path, frame_dissectors: Iterable[type[FrameDissector]]) -> list[BaseEvent]:
    """Link-layer events of ``path`` (ARP, LLDP, ...), in packet order."""
    events: list[BaseEvent] = []
    analyze([str(path)], frame_handler=FrameDispatcher(list(frame_dissectors), events.append))
    return events


def compare(
    path: Path,
    dissectors: Iterable[type[Dissector]],
    fields: list[str],
    tshark_keys: Callable[[list[str]], Iterable[Hashable]],
    event_key: Callable[[Event], Hashable | None],
    display_filter: str | None = None,
    frame_dissectors: Iterable[type[FrameDissector]] = (),
) -> Agreement:
    """``tshark_keys(row)`` turns one tshark row (frame.number first) into message keys."""
    rows = tshark.fields(path, ["frame.number", *fields], display_filter)
    theirs: Counter[Hashable] = Counter()
    for row in rows:
        theirs.update(tshark_keys(row))
    ours: Counter[Hashable] = Counter()
    for event in dissect(path, dissectors, frame_dissectors):
        key = event_key(event)
        if key is not None:
            ours[key] += 1
    matched = sum((ours & theirs).values())
    return Agreement(
        str(path),
        sum(ours.values()),
        sum(theirs.values()),
        matched,
        list((ours - theirs).elements())[:5],
        list((theirs - ours).elements())[:5],
    )


def split(value: str) -> list[str]:
    return [v for v in value.split(",")] if value else []
