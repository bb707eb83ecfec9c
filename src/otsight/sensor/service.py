"""The sensor: one interface captured live into the store, continuously, until told to stop.

The pipeline is the one ``otsight analyze --db`` runs (every dissector, the inventory, the
detectors, a :class:`~otsight.store.sink.StoreSink`), driven differently because it never ends:

- The store fills on the wall clock, not in packet time: after a batch or an idle tick, the
  assets and conversations are written if anything came in and ``checkpoint_s`` has passed
  since the last write (the first batch is written at once, so an operator sees the sensor work),
  and a newly raised alert is written right after the batch that raised it (so within the
  capture's 0.1 s batch timeout plus one commit: 0.2 s measured), not at a checkpoint.
- Capture runs on its own thread into a queue bounded in bytes (:mod:`.reader`); an idle tick
  keeps checkpoints and reports on time on a quiet link.
- :meth:`Sensor.stop` is safe from a signal handler: it only asks the capture to end. The main
  loop then processes what was read, ends every flow, writes the store and the final counters,
  and :meth:`Sensor.run` returns.
- Memory is bounded by design, not by luck (see ``deploy/README.md`` for the figures): the flow
  table holds at most ``max_flows`` live flows (the oldest are evicted and counted), TCP
  reassembly, IP fragments, the inventory's per-asset sets and every detector have their own
  caps, and no per-address summary (the ``analyze`` summary's talker tables) is kept. What does
  grow is what the site has: its assets, their conversations and the deduplicated alerts.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType

from sqlalchemy.orm import Session, sessionmaker

from ..capture.live import LiveCapture, LiveStats
from ..detect.registry import create_detectors
from ..detect.stage import DetectionStage
from ..inventory.builder import InventoryBuilder
from ..inventory.oui import OuiRegistry
from ..pipeline.assemble import build_stages
from ..pipeline.engine import Engine, EngineConfig
from ..store.batch import BatchFailed, BatchWriter
from ..store.sink import StoreSink
from .counters import SensorCounters, memory
from .options import SensorOptions
from .reader import CaptureReader, LiveSource
from .status import StatusWriter, status_name

log = logging.getLogger(__name__)


def open_capture(options: SensorOptions) -> LiveCapture:
    """The live capture the options describe (raises CaptureError with the reason)."""
    return LiveCapture(options.interface, bpf_filter=options.bpf_filter)


class Sensor:
    """Capture -> dissectors -> inventory -> detection -> store, until :meth:`stop`."""

    def __init__(
        self,
        options: SensorOptions,
        sessions: sessionmaker[Session],
        *,
        oui: OuiRegistry | None = None,
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.source = f"live:{options.interface}"
        self._clock = clock
        self.writer = BatchWriter(sessions)
        self.inventory = InventoryBuilder(oui=oui)
        detection = DetectionStage(create_detectors(options.detectors))
        self.detection = detection
        # Packet-time checkpoints are off (infinite): the sensor checkpoints on the wall clock.
        self.sink = StoreSink(
            self.writer,
            self.source,
            inventory=self.inventory,
            alerts=lambda: detection.alerts,
            incidents=detection.incidents,
            checkpoint_s=math.inf,
        )
        detection.on_alert = self.sink.alert_raised
        self.stages = build_stages([self.inventory, self.detection, self.sink])
        self.engine = Engine(
            EngineConfig(max_flows=options.max_flows),
            self.stages.selector,
            on_flows_end=self.stages.fanout.on_flows,
            on_batch=self.stages.fanout.on_batch,
            frame_handler=self.stages.frames,
        )
        self.status = StatusWriter(
            sessions, name or status_name(options.interface), options.settings()
        )
        self.state = "starting"
        self._capture: LiveSource | None = None
        self._reader: CaptureReader | None = None
        self._stopping = False
        self._started = clock()
        self._dirty = False
        self._next_checkpoint = -math.inf
        self._last_checkpoint_at: float | None = None  # wall clock (time.time) of the last save
        self._next_stats = math.inf
        self._assets = 0

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """End the run soon and cleanly; safe from a signal handler and from other threads."""
        self._stopping = True
        capture = self._capture
        if capture is not None:
            capture.stop()

    @contextlib.contextmanager
    def handle_signals(
        self, signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
    ) -> Iterator[None]:
        """Turn ``signals`` into :meth:`stop` while inside (main thread only)."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if self._stopping:
                log.warning("%s again: already stopping (SIGKILL ends at once)", name)
                return
            log.warning("%s: stopping; finishing the pipeline and writing the store", name)
            self.stop()

        old = {sig: signal.signal(sig, on_signal) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    # ------------------------------------------------------------------ running
    def run(self, capture: LiveSource) -> SensorCounters:
        """Process ``capture`` until it ends (stop, or the interface failed); then end every
        flow, write the store and the final counters. A capture failure is raised after that."""
        self._capture = capture
        if self._stopping:  # stopped before the capture existed
            capture.stop()
        self._started = self._clock()
        self._next_stats = self._started + self.options.stats_every_s
        reader = CaptureReader(capture, self.options.queue_bytes)
        self._reader = reader
        self.state = "running"
        reader.start()
        failed = True
        try:
            self._loop(reader)
            failed = False
        finally:
            if failed:
                reader.abandon()
            else:
                reader.join()
            self.state = "failed" if failed or reader.error is not None else "stopped"
            self._finish()
        if reader.error is not None:
            raise reader.error
        return self.counters()

    def _loop(self, reader: CaptureReader) -> None:
        queue = reader.queue
        while True:
            batch = queue.get(self.options.tick_s)
            if batch is not None:
                self.engine.process(batch)
                self._dirty = True
            elif queue.drained:
                return
            self._tick()

    def _tick(self) -> None:
        """Between batches: new alerts now, a checkpoint when due, counters when due."""
        now = self._clock()
        if self.sink.new_alerts:
            self.sink.save_recent()
        if self._dirty and now >= self._next_checkpoint:
            self.checkpoint()
            self._next_checkpoint = now + self.options.checkpoint_s
        if now >= self._next_stats:
            self.report()
            self._next_stats = now + self.options.stats_every_s

    def checkpoint(self) -> None:
        """Write everything found so far (assets, conversations, alerts, incidents, notes)."""
        self.sink.save()
        self._last_checkpoint_at = time.time()
        self._assets = len(self.inventory.assets())  # cached by the save: costs nothing
        self._dirty = False

    def _finish(self) -> None:
        """End every flow, finish the stages, write the store and the final counters; a
        failure here is logged, so what was found is still written and the first error wins."""
        try:
            self.engine.finish()  # every live flow ends: conversations and flow detectors
        except Exception:
            log.exception("ending the live flows failed; writing what was found")
        self.stages.fanout.finish()  # inventory, detectors, then the sink writes it all
        try:
            self.writer.close()
        except BatchFailed as exc:
            log.error("store: %s", exc)
        self._last_checkpoint_at = time.time()
        self._assets = len(self.inventory.assets())
        self.report()

    # ------------------------------------------------------------------ counters
    def counters(self) -> SensorCounters:
        capture = self._capture
        stats = capture.stats if capture is not None else LiveStats(0, 0, 0)
        queue = self._reader.queue if self._reader is not None else None
        engine = self.engine
        resident, peak = memory()
        written = self.writer.stats
        return SensorCounters(
            interface=self.options.interface,
            uptime_s=self._clock() - self._started,
            captured=stats.delivered,
            kernel_received=stats.received,
            kernel_dropped=stats.dropped,
            processed=engine.stats.packets,
            queue_bytes=queue.bytes if queue is not None else 0,
            queue_peak_bytes=queue.peak_bytes if queue is not None else 0,
            queue_waits=queue.waits if queue is not None else 0,
            flows_live=engine.flows.live,
            flows_total=engine.flows.next_flow_id - 1,
            flows_evicted=engine.flows.evicted,
            assets=self._assets,
            alerts=len(self.detection.dedup),
            alerts_raised=sum(self.detection.raised.values()),
            detector_skips=sum(self.detection.dropped.values()),
            fragments_dropped=engine.fragments.stats.dropped,
            stage_errors=engine.stats.handler_errors
            + sum(self.stages.fanout.errors.values())
            + sum(self.detection.errors.values()),
            store_batches=written.batches,
            store_failed_batches=written.failed_batches,
            store_lost=written.lost,
            rss_bytes=resident,
            peak_rss_bytes=peak,
        )

    def report(self) -> SensorCounters:
        """Log the counters and store them as the sensor's status row."""
        counters = self.counters()
        log.info("%s", counters.line())
        self.status.write(counters, self.state, self._last_checkpoint_at)
        return counters
