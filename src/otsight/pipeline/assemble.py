"""Assemble the protocol layer and the stages after it from what the command asked for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..capture.batch import FrameBatch
from ..capture.pcap import BATCH_FRAMES
from ..core.plugins import Observer
from ..protocols.registry import (
    DissectorSelector,
    FrameDispatcher,
    builtin_dissectors,
    builtin_frame_dissectors,
    plugin_dissectors,
)
from .fanout import Fanout
from .runner import AnalysisResult, Progress, analyze, analyze_batches


@dataclass
class Stages:
    """The protocol layer wired to the observers that consume its events."""

    selector: DissectorSelector
    frames: FrameDispatcher
    fanout: Fanout

    def dissected(self) -> dict[str, dict[str, int]]:
        """Flows and events per protocol, for the summary."""
        events = self.selector.events + self.frames.events
        return {
            name: {"flows": self.selector.flows[name], "events": events[name]}
            for name in sorted(set(self.selector.flows) | set(events))
        }


def build_stages(observers: Sequence[Observer], plugins: bool = True) -> Stages:
    """Every built-in dissector (and installed plugins) feeding ``observers`` in order."""
    fanout = Fanout(observers)
    flow_dissectors = builtin_dissectors() + (plugin_dissectors() if plugins else [])
    return Stages(
        DissectorSelector(flow_dissectors, fanout),
        FrameDispatcher(builtin_frame_dissectors(), fanout),
        fanout,
    )


def run_files(
    names: list[str],
    stages: Stages | None,
    progress: Progress | None = None,
    batch_frames: int = BATCH_FRAMES,
    processes: int = 1,
) -> AnalysisResult:
    """Analyse capture files through ``stages`` (or L2-L4 only when None).

    With ``processes`` 2 (more is taken as 2) and inputs that can be read twice, a second
    process dissects part of the flows (pipeline.shards); results are the same."""
    if stages is None:
        return analyze(names, progress=progress, batch_frames=batch_frames)
    if processes > 1:
        from .shards import MAIN_SHARE_OBSERVED, analyze_sharded, shardable

        if shardable(names):
            # The main process also runs what observes the events: it keeps fewer flows then.
            share = MAIN_SHARE_OBSERVED if stages.fanout.observers else 0.5
            return analyze_sharded(names, stages, progress, batch_frames, share)
    return analyze(
        names,
        handler_factory=stages.selector,
        frame_handler=stages.frames,
        progress=progress,
        fanout=stages.fanout,
        batch_frames=batch_frames,
    )


def run_batches(
    source: str, batches: Iterable[FrameBatch], stages: Stages | None
) -> AnalysisResult:
    """Same as :func:`run_files` for an open source (live capture)."""
    if stages is None:
        return analyze_batches(source, batches)
    return analyze_batches(
        source,
        batches,
        handler_factory=stages.selector,
        frame_handler=stages.frames,
        fanout=stages.fanout,
    )
