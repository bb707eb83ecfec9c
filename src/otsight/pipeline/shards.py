"""Dissect a capture with two processes: both read it whole, each dissects its share of flows.

Why: decoding and flow tracking are compiled and cheap; the dissectors are Python and are the
cost. On a machine with a second core, a forked worker reads the same files, decodes them
identically (same flows, same flow ids) and dissects the flows :func:`owner` gives it, while
the main process dissects the others and runs everything after the protocol layer.

Results stay exactly those of one process. Everything a dissector emits happens at an engine
position (:attr:`Engine.position`, the same in both processes), so at every batch the worker
sends its events, the main process merges them with its own (and its flow reports) in position
order and only then hands them to the observers; batches of the same compiled path at the same
position are joined into one (:meth:`EventBatch.merged`). When nothing observes events (a count
per protocol is all that is wanted) the worker sends only its counts at the end. Link-layer
frames (ARP, LLDP, ...) stay with the main process.

A worker that fails stops the run with a :class:`ShardError` (the main process never waits
for a dead worker); files only: standard input and live capture are read once.

Opt-in (``analyze --processes 2``): both processes decode everything and the main one also
runs the observers, so on the project's 2-CPU machine it shortens ``--dissect`` by a tenth to
a sixth and does not shorten ``--alerts``, for about 1.5 times the CPU time.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import pickle
import queue
import signal
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..capture.pcap import BATCH_FRAMES
from ..core.events import BaseEvent, EventBatch
from ..core.plugins import FrameHandler, Observer
from ..decode.flows import FlowColumns
from ..decode.view import BatchView
from .engine import Engine
from .fanout import Fanout
from .runner import AnalysisResult, Progress, analyze

if TYPE_CHECKING:  # assemble imports this module when a run asks for two processes
    from .assemble import Stages

EVENT, BATCH, FLOWS = 0, 1, 2
# The main process's share of the flows when it also runs observers (detectors, inventory,
# writers); an estimate, not tuned (with two processes --alerts was no faster either way).
MAIN_SHARE_OBSERVED = 0.35
AHEAD = 4  # batches of events the worker may send before this process takes them
MAIN, WORKER = 0, 1
# (engine position, source process, sequence in that process, kind, payload): tuples compare
# by position then source and sequence, which are unique, so payloads are never compared.
Record = tuple[tuple[int, ...], int, int, int, Any]


class ShardError(RuntimeError):
    """The worker process failed or vanished: the run's results would be incomplete."""


def owner(flow_id: int, share: float) -> int:
    """MAIN for about ``share`` of the flows, else WORKER. A multiplicative hash spreads flows
    started together (consecutive ids: a poll burst, a scan) over both processes."""
    return MAIN if (flow_id * 0x9E3779B1) & 0xFFFF < int(share * 0x10000) else WORKER


def shardable(names: Sequence[str]) -> bool:
    """Inputs both processes can read independently: files and directories, not stdin."""
    return bool(names) and all(name != "-" and os.path.exists(name) for name in names)


class _Recording:
    """Keeps what the protocol layer emits, each with the engine position it happened at."""

    def __init__(self, source: int) -> None:
        self.source = source
        self.records: list[Record] = []
        self.position: list[int] = []  # the engine's own list, bound once it exists
        self._seq = 0

    def bind(self, engine: Engine, owns: Callable[[int], bool]) -> None:
        self.position = engine.position
        engine.owns = owns

    def keep(self, kind: int, payload: Any) -> None:
        self.records.append((tuple(self.position), self.source, self._seq, kind, payload))
        self._seq += 1

    def take(self) -> list[Record]:
        records, self.records = self.records, []
        return records


class MergingFanout(Fanout):
    """The main process's fanout: holds its own events and flow reports until the worker's
    of the same batch are in, then hands both to the observers in position order."""

    def __init__(self, observers: Sequence[Observer], conn: IO[bytes]) -> None:
        super().__init__(observers)
        self.recording = _Recording(MAIN)
        self.worker_counts: dict[str, Any] = {}
        # A thread drains the pipe (reading releases the GIL) so the worker may run a few
        # batches ahead instead of waiting at every batch for this process to read.
        self._inbox: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD)
        self._conn = conn
        self._reader = threading.Thread(
            target=_drain, args=(conn, self._inbox), name="otsight-shard-reader", daemon=True
        )
        self._reader.start()

    def close(self) -> None:
        """After the worker ended: let the reader see the end of the pipe, then close it."""
        while self._reader.is_alive():
            with contextlib.suppress(queue.Empty):
                self._inbox.get(timeout=0.05)  # room for the reader's last put
        self._conn.close()

    def __call__(self, event: BaseEvent) -> None:
        self.recording.keep(EVENT, event)

    def on_events(self, batch: EventBatch) -> None:
        self.recording.keep(BATCH, batch)

    def on_flows(self, flows: FlowColumns) -> None:
        self.recording.keep(FLOWS, flows)

    def on_batch(self, view: BatchView) -> None:
        self._replay(self._receive("batch"))
        super().on_batch(view)

    def finish(self) -> None:
        self._replay(self._receive("end"))
        super().finish()

    def _receive(self, expected: str) -> list[Record]:
        data = self._inbox.get()
        if data is None:
            raise ShardError("the worker process ended without its results")
        message = pickle.loads(data)
        if message[0] == "error":
            raise ShardError(f"the worker process failed: {message[1]}")
        if message[0] != expected:
            raise ShardError(f"the worker process is out of step ({message[0]} at {expected})")
        if expected == "end":
            self.worker_counts = message[2]
        records: list[Record] = message[1]
        return records

    def _replay(self, theirs: list[Record]) -> None:
        batches: list[EventBatch] = []
        at: tuple[int, ...] = ()
        for position, _source, _seq, kind, payload in heapq.merge(self.recording.take(), theirs):
            if kind == BATCH and (not batches or position == at):
                batches.append(payload)
                at = position
                continue
            if batches:
                self._batches(batches)
                batches = []
            if kind == BATCH:
                batches.append(payload)
                at = position
            elif kind == EVENT:
                super().__call__(payload)
            else:
                super().on_flows(payload)
        if batches:
            self._batches(batches)

    def _batches(self, batches: list[EventBatch]) -> None:
        """Batches of one position: one compiled path's run, cut in two by the shards."""
        by_type: dict[type[EventBatch], list[EventBatch]] = {}
        for batch in batches:
            by_type.setdefault(type(batch), []).append(batch)
        for kind, group in by_type.items():
            joined = group[0] if len(group) == 1 else kind.merged(group)
            if joined is not None:
                super().on_events(joined)
                continue
            # A batch type that cannot join: its events one by one, in packet order.
            events = sorted((e for b in group for e in b.events()), key=lambda e: e.frame)
            for event in events:
                super().__call__(event)


class _WorkerFanout(Fanout):
    """The worker's fanout: records (or, when nobody observes events, drops) what its
    dissectors emit and sends it at every batch; flows are the main process's to report."""

    def __init__(self, conn: IO[bytes], ship: bool) -> None:
        super().__init__([])
        self.recording = _Recording(WORKER)
        self.conn = conn
        self.ship = ship

    def __call__(self, event: BaseEvent) -> None:
        if self.ship:
            self.recording.keep(EVENT, event)

    def on_events(self, batch: EventBatch) -> None:
        if self.ship:
            self.recording.keep(BATCH, batch)

    def on_flows(self, flows: FlowColumns) -> None:
        pass

    def on_batch(self, view: BatchView) -> None:
        _send(self.conn, ("batch", self.recording.take()))

    def finish(self) -> None:
        pass


def analyze_sharded(
    names: list[str],
    stages: Stages,
    progress: Progress | None = None,
    batch_frames: int = BATCH_FRAMES,
    share: float = 0.5,
) -> AnalysisResult:
    """:func:`runner.analyze` with ``stages`` (assemble.Stages) run by two processes; the
    main process keeps about ``share`` of the flows (it also runs the observers)."""
    read_fd, write_fd = os.pipe()
    ship = bool(stages.fanout.observers)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child (its coverage is not collected)
        os.close(read_fd)
        _work(names, stages, batch_frames, share, os.fdopen(write_fd, "wb"), ship)
    os.close(write_fd)
    receive = os.fdopen(read_fd, "rb")
    merge = MergingFanout(stages.fanout.observers, receive)
    stages.selector.send_to(merge)
    stages.frames.sink = merge
    stages.fanout = merge
    finished = False
    try:
        result = _run(names, stages, merge, stages.frames, MAIN, share, batch_frames, progress)
        finished = True
    finally:
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        merge.close()
    counts = merge.worker_counts
    stages.selector.flows.update(counts["flows"])
    stages.selector.events.update(counts["events"])
    stages.selector.probe_errors += counts["probe_errors"]
    result.summary.handler_errors += counts["handler_errors"]
    return result


def _run(
    names: list[str],
    stages: Stages,
    fanout: MergingFanout | _WorkerFanout,
    frames: FrameHandler | None,
    side: int,
    share: float,
    batch_frames: int,
    progress: Progress | None,
) -> AnalysisResult:
    """One process's run: its dissectors see only the flows :func:`owner` gives ``side``."""
    return analyze(
        names,
        handler_factory=stages.selector,
        frame_handler=frames,
        progress=progress,
        fanout=fanout,
        batch_frames=batch_frames,
        engine_hook=lambda engine: fanout.recording.bind(
            engine, lambda flow_id: owner(flow_id, share) == side
        ),
    )


def _work(
    names: list[str],
    stages: Stages,
    batch_frames: int,
    share: float,
    conn: IO[bytes],
    ship: bool,
) -> None:  # pragma: no cover - runs in the child
    """The worker: the same run over its flows; never returns (the child exits here)."""
    status = 0
    try:
        # The main process reports problems with the input itself; the worker's copies of
        # those warnings would only repeat them.
        logging.getLogger("otsight.pipeline.runner").setLevel(logging.ERROR)
        out = _WorkerFanout(conn, ship)
        stages.selector.send_to(out)
        result = _run(names, stages, out, None, WORKER, share, batch_frames, None)
        counts = {
            "flows": Counter(stages.selector.flows),
            "events": Counter(stages.selector.events),
            "probe_errors": stages.selector.probe_errors,
            "handler_errors": result.summary.handler_errors,
        }
        _send(conn, ("end", out.recording.take(), counts))
    except BaseException as exc:  # everything, so the main process hears of it
        status = 1
        with contextlib.suppress(Exception):
            _send(conn, ("error", f"{type(exc).__name__}: {exc}"))
    finally:
        os._exit(status)


def _send(conn: IO[bytes], message: tuple[Any, ...]) -> None:
    """One message: its length, then its pickle (a plain pipe: the multiprocessing package
    would cost more start-up time than this whole module)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    conn.write(len(data).to_bytes(8, "little"))
    conn.write(data)
    conn.flush()


def _drain(conn: IO[bytes], inbox: queue.Queue[bytes | None]) -> None:
    """Put each message's bytes in ``inbox``, then None once the worker closed the pipe (it
    ended or died)."""
    while True:
        try:
            head = conn.read(8)
            size = int.from_bytes(head, "little") if len(head) == 8 else -1
            data = conn.read(size) if size >= 0 else b""
        except (OSError, ValueError):
            size, data = -1, b""
        if size < 0 or len(data) < size:
            inbox.put(None)
            return
        inbox.put(data)
