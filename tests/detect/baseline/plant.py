"""A hand-made Modbus plant for the baseline tests: an HMI polling two PLCs every second and
trimming a setpoint every 8 s, an engineering workstation reading a configuration block every
6 s on fresh connections, and the deviations an attacker or a change brings."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otsight.alerts.model import Alert
from otsight.detect.base import Detector
from otsight.detect.baseline.detector import BaselineDetector, BaselineOptions
from otsight.detect.baseline.model import BaselineState
from otsight.detect.stage import DetectionStage

from ..builders import ATK, EWS, HMI, PLC, PLC2, Capture, detect, modbus

__all__ = ["ATK", "EWS", "HMI", "PLC", "PLC2", "Plant", "baseline", "run"]


class Plant(Capture):
    """A capture with Modbus helpers that number their transactions."""

    def __init__(self) -> None:
        super().__init__()
        self.tid = 0
        self.conn = 42000

    def request(self, t: float, client: str, server: str, sport: int, pdu: bytes,
                answer: bytes | None = None, unit: int = 1) -> None:
        self.tid += 1
        self.exchange(t, client, server, sport, 502, modbus(self.tid, pdu, unit),
                      modbus(self.tid, answer if answer is not None else pdu, unit))

    def read(self, t: float, client: str, server: str, sport: int, address: int,
             count: int, fc: int = 3) -> None:
        data = b"".join(struct.pack(">H", 100 + i) for i in range(count))
        self.request(t, client, server, sport, struct.pack(">BHH", fc, address, count),
                     bytes([fc, len(data)]) + data)

    def write_register(self, t: float, client: str, server: str, sport: int, address: int,
                       value: int) -> None:
        self.request(t, client, server, sport, struct.pack(">BHH", 6, address, value))

    def write_registers(self, t: float, client: str, server: str, sport: int, address: int,
                   values: Sequence[int]) -> None:
        data = struct.pack(f">{len(values)}H", *values)
        pdu = struct.pack(">BHHB", 16, address, len(values), len(data)) + data
        self.request(t, client, server, sport, pdu, struct.pack(">BHH", 16, address,
                                                                len(values)))

    def connect(self, t: float, client: str, server: str, port: int = 502) -> int:
        """A TCP handshake on a fresh client port; returns the port."""
        self.conn += 1
        sport = self.conn
        self.tcp(t, client, server, sport, port, flags="S")
        self.tcp(t + 0.001, server, client, port, sport, flags="SA")
        self.tcp(t + 0.002, client, server, sport, port, flags="A")
        return sport

    def normal(self, start: int, end: int, plc2_until: float | None = None) -> Plant:
        """Normal operation from ``start`` to ``end`` seconds."""
        for i in range(start, end):
            self.read(i, HMI, PLC, 40001, 0, 2)
            if plc2_until is None or i < plc2_until:
                self.read(i + 0.2, HMI, PLC2, 40002, 0, 2)
        for k, t in enumerate(range(start + 1, end, 8)):
            self.write_register(t + 0.5, HMI, PLC, 40001, 0, 780 + (k * 17) % 60)
        for t in range(start + 3, end, 6):
            sport = self.connect(t, EWS, PLC)
            self.read(t + 0.01, EWS, PLC, sport, 0, 10)
        return self


def baseline(state: BaselineState | None = None, **options: Any) -> BaselineDetector:
    return BaselineDetector(BaselineOptions(**options), state)


def run(paths: Sequence[Path] | Path, *detectors: Detector[Any]) -> DetectionStage:
    """Detectors over the capture(s) through the whole pipeline."""
    return detect([paths] if isinstance(paths, Path) else list(paths), list(detectors))


def summary(alerts: Sequence[Alert]) -> list[tuple[str, str | None, str | None]]:
    return [(a.kind, a.src_ip, a.dst_ip) for a in alerts]
