"""Run the engine over a list of inputs, keeping going when one of them is bad."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..capture.batch import FrameBatch
from ..capture.pcap import BATCH_FRAMES
from ..capture.sources import Input, expand_inputs, read_input
from ..core.errors import CaptureError
from ..core.plugins import FrameHandler, HandlerFactory
from ..decode.flows import FlowColumns
from ..decode.view import BatchView
from .engine import Engine, EngineConfig
from .fanout import Fanout
from .summary import InputReport, Summary

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # input name, bytes read, total bytes (0 if unknown)


@dataclass
class AnalysisResult:
    summary: Summary
    errors: list[CaptureError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def analyze(
    names: list[str],
    config: EngineConfig | None = None,
    handler_factory: HandlerFactory | None = None,
    progress: Progress | None = None,
    frame_handler: FrameHandler | None = None,
    fanout: Fanout | None = None,
    batch_frames: int = BATCH_FRAMES,
    engine_hook: Callable[[Engine], None] | None = None,
) -> AnalysisResult:
    """Analyse captures in order as one stream (flows may continue from file to file).

    ``batch_frames`` trades memory for per-batch overhead: stages that keep a lot of state
    (the inventory at tens of thousands of hosts) run with smaller batches. ``engine_hook``
    sees the engine before the first packet (a sharded run binds it: pipeline.shards).
    """
    inputs, errors = expand_inputs(names)
    summary = Summary()
    engine = _engine(summary, config, handler_factory, frame_handler, fanout)
    if engine_hook is not None:
        engine_hook(engine)
    with collect_rarely():
        for item in inputs:
            report = InputReport(item.name)
            summary.inputs.append(report)
            try:
                for batch in read_input(item, batch_frames, progress=_bind(progress, item)):
                    report.packets += len(batch)
                    engine.process(batch)
            except CaptureError as exc:
                report.error = exc.reason
                errors.append(exc)
                log.warning("%s", exc)
        _finish(engine, summary, fanout)
    return AnalysisResult(summary, errors)


def analyze_batches(
    source: str,
    batches: Iterable[FrameBatch],
    config: EngineConfig | None = None,
    handler_factory: HandlerFactory | None = None,
    frame_handler: FrameHandler | None = None,
    fanout: Fanout | None = None,
) -> AnalysisResult:
    """Same as :func:`analyze` for an already open source (live capture, tests)."""
    summary = Summary()
    engine = _engine(summary, config, handler_factory, frame_handler, fanout)
    report = InputReport(source)
    summary.inputs.append(report)
    errors: list[CaptureError] = []
    with collect_rarely():
        try:
            for batch in batches:
                report.packets += len(batch)
                engine.process(batch)
        except CaptureError as exc:
            report.error = exc.reason
            errors.append(exc)
        _finish(engine, summary, fanout)
    return AnalysisResult(summary, errors)


# Objects allocated (net) between young-generation collections while a capture runs.
GC_YOUNG_THRESHOLD = 50_000


@contextlib.contextmanager
def collect_rarely() -> Iterator[None]:
    """Run the cycle collector far less often while packets flow, and never over what existed
    before. The pipeline makes hundreds of thousands of short-lived objects that reference
    counting frees; at Python's default threshold (700) the collector ran ~350 times per
    million packets and found next to nothing, and each older-generation pass walked every
    long-lived object (numba's typing tables, the protocol modules): ~0.2 s of a 3 s run.
    Cycles are still collected, every GC_YOUNG_THRESHOLD allocations."""
    thresholds = gc.get_threshold()
    gc.freeze()  # what exists now stays out of the walk until the run ends
    gc.set_threshold(GC_YOUNG_THRESHOLD, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _engine(
    summary: Summary,
    config: EngineConfig | None,
    handler_factory: HandlerFactory | None,
    frame_handler: FrameHandler | None = None,
    fanout: Fanout | None = None,
) -> Engine:
    if fanout is None:
        return Engine(
            config,
            handler_factory,
            on_flows_end=summary.add_flows,
            on_batch=summary.add_batch,
            frame_handler=frame_handler,
        )
    stages = fanout

    def on_batch(view: BatchView) -> None:
        summary.add_batch(view)
        stages.on_batch(view)

    def on_flows(flows: FlowColumns) -> None:
        summary.add_flows(flows)
        stages.on_flows(flows)

    return Engine(
        config,
        handler_factory,
        on_flows_end=on_flows,
        on_batch=on_batch,
        frame_handler=frame_handler,
    )


def _finish(engine: Engine, summary: Summary, fanout: Fanout | None) -> None:
    engine.finish()
    summary.flush()
    if fanout is not None:
        fanout.finish()
        summary.observer_errors = dict(fanout.errors)
    fs = engine.fragments.stats
    summary.fragments = {
        "fragments": fs.fragments,
        "reassembled": fs.reassembled,
        "overlaps": fs.overlaps,
        "expired": fs.expired,
        "dropped": fs.dropped,
    }
    summary.flow_table = {
        "evicted": engine.flows.evicted,
        "hash_collisions": engine.flows.collisions,
        "max_flows": engine.flows.max_flows,
        "forced_tcp_gaps": engine.tcp.forced_gaps,
    }
    summary.handler_errors = engine.stats.handler_errors


def _bind(progress: Progress | None, item: Input) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    name = item.name

    def report(done: int, total: int) -> None:
        progress(name, done, total)

    return report
