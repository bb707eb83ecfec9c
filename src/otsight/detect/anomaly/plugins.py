"""The anomaly models as detector plugins (opt-in: name them in the detector config).

They are not on by default: the packet model costs about 2 s per million packets, beyond the
throughput budget of a default run, and both need a learning period that only the operator can
say is clean. ``otsight analyze CAPTURE --alerts --detectors cfg.json`` with
``{"packet-anomaly": {"learn_packets": 100000}, "process-values": {"learn_seconds": 600}}``
turns them on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from ...alerts.model import Alert
from ...core.events import BaseEvent
from ...decode.flows import FlowColumns
from ...decode.view import BatchView
from ...protocols.modbus.events import ModbusRequest, ModbusResponse
from ..base import Detector, DetectorOptions
from .packet_detector import AnomalyDetector, PacketAnomalyConfig
from .process_detector import ProcessValueConfig, ProcessValueDetector


class PacketAnomalyOptions(DetectorOptions):
    learn_packets: int | None = 100_000
    learn_seconds: float | None = None
    threshold_margin: float = 1.5
    seed: int = 0
    feature_threads: int = 1


class PacketAnomalyPlugin(Detector[PacketAnomalyOptions]):
    """Kitsune-style per-packet anomaly scores (KitNET over damped statistics)."""

    name: ClassVar[str] = "packet-anomaly"
    description: ClassVar[str] = "per-packet traffic anomalies (autoencoder ensemble)"
    Options: ClassVar[type[DetectorOptions]] = PacketAnomalyOptions
    wants_batches: ClassVar[bool] = True

    def __init__(self, options: PacketAnomalyOptions | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.model = AnomalyDetector(
            PacketAnomalyConfig(
                learn_packets=o.learn_packets,
                learn_seconds=o.learn_seconds,
                threshold_margin=o.threshold_margin,
                seed=o.seed,
                feature_threads=o.feature_threads,
            )
        )

    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        return self.model.on_batch(view)

    def finish(self) -> Iterable[Alert]:
        return self.model.finish()


class ProcessValueOptions(DetectorOptions):
    learn_seconds: float = 600.0
    threshold_margin: float = 1.5


class ProcessValuePlugin(Detector[ProcessValueOptions]):
    """Learned range, rate of change and forecast residual of Modbus register values."""

    name: ClassVar[str] = "process-values"
    description: ClassVar[str] = "process values out of their learned range, rate or forecast"
    Options: ClassVar[type[DetectorOptions]] = ProcessValueOptions
    event_types: ClassVar[tuple[type[BaseEvent], ...]] = (ModbusRequest, ModbusResponse)
    wants_batches: ClassVar[bool] = True  # buffered values are scored at the next batch
    wants_flows: ClassVar[bool] = True

    def __init__(self, options: ProcessValueOptions | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.model = ProcessValueDetector(
            ProcessValueConfig(learn_seconds=o.learn_seconds, threshold_margin=o.threshold_margin)
        )

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        return self.model.on_event(event)

    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        return self.model.on_batch(view)

    def on_flows(self, flows: FlowColumns) -> Iterable[Alert]:
        return self.model.on_flows(flows)

    def finish(self) -> Iterable[Alert]:
        return self.model.finish()
