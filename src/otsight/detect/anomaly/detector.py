"""The anomaly detectors the pipeline runs, in one place.

- :class:`AnomalyDetector` (``packet-anomaly``): damped per-packet statistics into KitNET.
- :class:`ProcessValueDetector` (``process-values``): range, rate and forecast models on Modbus
  register values.

Both learn for a while in packet time, fit their thresholds on the last part of that benign
period (scored, never learned), then raise alerts grouped into bursts. Both expose ``name``
and ``on_event`` / ``on_batch`` / ``on_flows`` / ``finish`` returning alerts, ``end_learning``,
``resume`` (new traffic after loading a state) and ``save`` / ``load`` (``.npz`` + ``.json``).
"""

from __future__ import annotations

from .packet_detector import AnomalyDetector, PacketAnomalyConfig, PacketAnomalyStats
from .process_detector import ProcessValueConfig, ProcessValueDetector, ProcessValueStats

__all__ = [
    "AnomalyDetector",
    "PacketAnomalyConfig",
    "PacketAnomalyStats",
    "ProcessValueConfig",
    "ProcessValueDetector",
    "ProcessValueStats",
]
