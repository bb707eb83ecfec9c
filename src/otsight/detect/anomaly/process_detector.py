"""Process-value anomaly detection on Modbus register values (range, rate, forecast).

Values come from read responses (FC 3/4/23, addressed through their matched request) and
write requests (FC 6/16/23). ``on_event`` only buffers them (a few Python operations per
value); the compiled kernel of :mod:`.process_kernel` scores them in order at the next
``on_batch``/``on_flows``/``finish`` or when the buffer is full, so an alert can come one batch
after its event; its time is always the event's. Per event the Python work is one dict lookup
(the event's register block) and a few appends; everything per value is numpy or compiled.

Coils and discrete inputs (single bits) are not modelled; DNP3 point values are not either,
as the DNP3 events do not carry them yet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ...alerts.model import Alert, AlertEvidence
from ...core.events import BaseEvent
from ...decode.flows import FlowColumns
from ...decode.view import BatchView
from ...protocols.modbus.events import ModbusRequest, ModbusResponse
from .base import QuantileThreshold, Threshold
from .grouping import Burst, BurstGrouper, alert_id
from .persist import Arrays, load_model, save_state
from .phases import (
    CALIBRATE,
    DETECT,
    TRAIN,
    bursts_from_json,
    bursts_to_json,
    phase_of,
    sub_arrays,
)
from .process import SCORE_NAMES, ProcessParams, SeriesBank
from .process_kernel import HAS_LAST, HAS_LEVEL, LEARN, SCORE

READ_TABLES = {3: "holding register", 4: "input register", 23: "holding register"}
WRITE_FUNCTIONS = (6, 16, 23)
MAX_REGISTERS_LISTED = 32
MAX_BLOCKS = 65536  # register blocks whose bank rows are remembered
UNLEARNED = -1
OVER_LIMIT = -2


@dataclass(frozen=True, slots=True)
class ProcessValueConfig:
    """Learning lasts ``learn_seconds`` of packet time from the first register value; its last
    ``calibration_fraction`` is only scored, to fit one threshold per test: the largest
    calibration score times ``threshold_margin``, never below the test's floor."""

    learn_seconds: float = 600.0
    calibration_fraction: float = 0.25
    params: ProcessParams = field(default_factory=ProcessParams)
    threshold_margin: float = 1.5
    range_floor: float = 0.5  # half a learned span outside the range
    rate_floor: float = 2.0  # twice the fastest change learned
    forecast_floor: float = 10.0  # ten mean residuals off the forecast
    gap_s: float = 30.0  # anomalous values of one device closer than this form one burst
    buffer: int = 65536  # values kept before they are scored (bounded memory)
    max_series: int = 100_000  # registers modelled at most; later ones are counted, not kept

    def __post_init__(self) -> None:
        if self.learn_seconds <= 0.0 or not 0.0 < self.calibration_fraction < 1.0:
            raise ValueError("need learn_seconds > 0 and 0 < calibration_fraction < 1")
        if (self.threshold_margin <= 0.0 or self.gap_s < 0.0 or self.buffer < 1
                or self.max_series < 1):
            raise ValueError("need threshold_margin > 0, gap_s >= 0, buffer >= 1, max_series >= 1")


@dataclass
class ProcessValueStats:
    values: dict[str, int] = field(
        default_factory=lambda: {"learn": 0, "calibrate": 0, "detect": 0})
    unlearned: int = 0  # values of registers first seen after learning (not scored)
    over_limit: int = 0  # values of new registers beyond ``max_series`` (not kept)
    flagged: int = 0
    alerts: int = 0


class _Block(NamedTuple):
    """The values of one event: registers ``address`` .. ``address + len(values) - 1`` (a
    named tuple: built once per event, so cheaper than a frozen dataclass)."""

    event: ModbusRequest | ModbusResponse
    address: int
    table: str
    write: bool
    server: str


@dataclass(frozen=True, slots=True)
class _Value:
    block: _Block
    register: int
    value: float


class ProcessValueDetector:
    """Learned range, rate of change and forecast residual per (device, unit, register).

    ATT&CK for ICS: an anomalous value *written* by a client is T0836 Modify Parameter. A value
    *reported* by a device gets no technique: from the value alone it may be a process upset, a
    sensor fault, or manipulated control or view.
    """

    name = "process-values"
    kind = "process-value-anomaly"

    def __init__(self, config: ProcessValueConfig | None = None) -> None:
        self.config = c = config or ProcessValueConfig()
        self.bank = SeriesBank(c.params)
        self.thresholds: list[Threshold] = [
            QuantileThreshold(1.0, c.threshold_margin, floor)
            for floor in (c.range_floor, c.rate_floor, c.forecast_floor)
        ]
        self.calibration: list[npt.NDArray[np.float64]] = []
        self.learning = True
        self.t0: float | None = None
        self.now = 0.0
        self.stats = ProcessValueStats()
        self.grouper = BurstGrouper(c.gap_s, self._render)
        # buffered events: one block, one row array and one time each; values flat
        self._blocks: list[_Block] = []
        self._rows: list[npt.NDArray[np.int64]] = []
        self._t: list[float] = []
        self._values: list[int] = []
        self._block_rows: dict[tuple[str, int, str, int, int], npt.NDArray[np.int64]] = {}

    # ------------------------------------------------------------------ stage methods

    def on_event(self, event: BaseEvent) -> list[Alert]:
        if isinstance(event, ModbusResponse):
            fc = event.function_code
            if (fc not in READ_TABLES or event.values is None or event.address is None
                    or event.exception_code is not None):
                return []
            self._add(event, event.address, event.values, READ_TABLES[fc], False,
                      event.src_ip)
        elif isinstance(event, ModbusRequest):
            fc = event.function_code
            address = event.write_address if fc == 23 else event.address
            if fc not in WRITE_FUNCTIONS or event.values is None or address is None:
                return []
            self._add(event, address, event.values, "holding register", True, event.dst_ip)
        else:
            return []
        return self._drain() if len(self._values) >= self.config.buffer else []

    def on_batch(self, view: BatchView) -> list[Alert]:
        return self._drain()

    def on_flows(self, flows: FlowColumns) -> list[Alert]:
        return self._drain()

    def finish(self) -> list[Alert]:
        alerts = self._drain()
        closed = self.grouper.close_all()
        self.stats.alerts += len(closed)
        return alerts + closed

    # ------------------------------------------------------------------ control

    def end_learning(self) -> None:
        """Stop learning now and fit the thresholds on the calibration scores so far."""
        if not self.learning:
            return
        self.learning = False
        scores = np.concatenate(self.calibration) if self.calibration else np.zeros((1, 3))
        for j, thr in enumerate(self.thresholds):
            thr.fit(scores[:, j])

    def resume(self) -> list[Alert]:
        """Start on new traffic after loading a state: learning ends, and each register's
        last value and forecast level are forgotten (the first new value re-seeds them)."""
        alerts = self._drain()
        self.end_learning()
        self.bank.state[:, HAS_LAST] = 0.0
        self.bank.state[:, HAS_LEVEL] = 0.0
        closed = self.grouper.close_all()
        self.stats.alerts += len(closed)
        return alerts + closed

    # ------------------------------------------------------------------ internals

    def _add(
        self, event: ModbusRequest | ModbusResponse, address: int, values: tuple[int, ...],
        table: str, write: bool, server: str,
    ) -> None:
        """Buffer one event's values: a dict lookup per event, not per value."""
        if not values:
            return
        if self.t0 is None:
            self.t0 = event.ts
        block = (server, event.unit_id, table, address, len(values))
        rows = self._block_rows.get(block)
        if rows is None:
            rows = self._rows_of(block, self.learning and
                                 event.ts - self.t0 < self.config.learn_seconds)
        self._blocks.append(_Block(event, address, table, write, server))
        self._rows.append(rows)
        self._t.append(event.ts)
        self._values.extend(values)

    def _rows_of(
        self, block: tuple[str, int, str, int, int], learning: bool
    ) -> npt.NDArray[np.int64]:
        """Bank rows of a block's registers: -1 for a register first seen after learning,
        -2 beyond ``max_series``. Kept per block (the same reads recur): no new register is
        added after learning, so a kept answer stays right."""
        server, unit, table, address, count = block
        rows = np.empty(count, dtype=np.int64)
        bank = self.bank
        for k in range(count):
            key = (server, unit, table, address + k)
            r = bank.rows.get(key)
            if r is None:
                if not learning:
                    r = UNLEARNED
                elif len(bank.keys) >= self.config.max_series:
                    r = OVER_LIMIT
                else:
                    r = bank.row(key)
            rows[k] = r
        if len(self._block_rows) >= MAX_BLOCKS:
            self._block_rows.clear()
        self._block_rows[block] = rows
        return rows

    def _drain(self) -> list[Alert]:
        if not self._blocks:
            return []
        assert self.t0 is not None  # set with the first value
        blocks = self._blocks
        sizes = np.fromiter((r.shape[0] for r in self._rows), dtype=np.int64,
                            count=len(self._rows))
        times = np.asarray(self._t)
        v = np.asarray(self._values, dtype=np.float64)
        # Events can arrive grouped by path (the Modbus batch path hands a batch's events
        # before the stream path's): put them back in capture order, so a register's series
        # never depends on how the pipeline happened to deliver its values.
        frames = np.fromiter((b.event.frame for b in blocks), dtype=np.int64, count=len(blocks))
        order = np.lexsort((frames, times))
        if (order != np.arange(order.shape[0])).any():
            starts = np.cumsum(sizes) - sizes
            within = np.arange(int(sizes.sum())) - np.repeat(
                np.cumsum(sizes[order]) - sizes[order], sizes[order]
            )
            v = v[np.repeat(starts[order], sizes[order]) + within]
            blocks = [blocks[i] for i in order.tolist()]
            self._rows = [self._rows[i] for i in order.tolist()]
            sizes, times = sizes[order], times[order]
        rows = np.concatenate(self._rows)
        t = np.repeat(times, sizes)
        block_of = np.repeat(np.arange(len(blocks)), sizes)
        offset = np.arange(rows.shape[0]) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        self._blocks, self._rows, self._t, self._values = [], [], [], []
        if (rows < 0).any():
            self.stats.unlearned += int(np.count_nonzero(rows == UNLEARNED))
            self.stats.over_limit += int(np.count_nonzero(rows == OVER_LIMIT))
            keep = rows >= 0
            rows, t, v, block_of, offset = (rows[keep], t[keep], v[keep], block_of[keep],
                                            offset[keep])
            if not rows.size:
                return []
        counts = self.stats.values
        alerts: list[Alert] = []
        if self.learning:
            progress = np.maximum(t - self.t0, 0.0) / self.config.learn_seconds
            phase = phase_of(progress, 0.0, self.config.calibration_fraction)
            modes = np.where(phase == TRAIN, LEARN, SCORE).astype(np.int64)
            scores, prev = self.bank.run(rows, t, v, modes)
            counts["learn"] += int(np.count_nonzero(phase == TRAIN))
            cal = phase == CALIBRATE
            counts["calibrate"] += int(np.count_nonzero(cal))
            if cal.any():
                self.calibration.append(scores[cal])
            det = np.flatnonzero(phase == DETECT)
        else:
            scores, prev = self.bank.run(rows, t, v, np.full(rows.shape[0], SCORE, np.int64))
            det = np.arange(rows.shape[0])
        counts["detect"] += int(det.size)
        if det.size:
            self.end_learning()
            flags = [thr.flags(scores[det, j]) for j, thr in enumerate(self.thresholds)]
            hits = np.flatnonzero(flags[0] | flags[1] | flags[2])
            for k in hits:
                i = int(det[k])
                block = blocks[int(block_of[i])]
                value = _Value(block, block.address + int(offset[i]), float(v[i]))
                alerts += self._flag(value, int(rows[i]), float(t[i]), float(prev[i]),
                                     scores[i], np.array([f[k] for f in flags]))
            self.stats.flagged += int(hits.size)
        self.now = max(self.now, float(t.max()))
        alerts += self.grouper.expire(self.now)
        self.stats.alerts += len(alerts)
        return alerts

    def _flag(
        self, o: _Value, row: int, ts: float, prev: float,
        scores: npt.NDArray[np.float64], flags: npt.NDArray[np.bool_],
    ) -> list[Alert]:
        b = o.block
        e = b.event
        learned = self.bank.learned(row)
        tests = [f"{SCORE_NAMES[j]} {scores[j]:.3g} > {self.thresholds[j].value:.3g}"
                 for j in range(3) if flags[j]]
        what = f"{b.table} {o.register} on {b.server} unit {e.unit_id}"
        by = f" (written by {e.src_ip})" if b.write else ""
        learned_text = (f"learned range {learned['min']:g}-{learned['max']:g} over "
                        f"{learned['n']:g} values, largest rate {learned['max_rate']:.3g}/s")
        if flags[1] and np.isfinite(prev):
            sentence = f"{what} jumped from {prev:g} to {o.value:g}{by}; {learned_text}"
        else:
            verb = "written as" if b.write else "read as"
            before = f" (previous value {prev:g})" if np.isfinite(prev) else ""
            sentence = f"{what} was {verb} {o.value:g}{by}{before}; {learned_text}"
        evidence = AlertEvidence(ts=ts, frame=e.frame, flow_id=e.flow_id, protocol="modbus",
                                 operation=e.action, detail=f"{sentence}; {', '.join(tests)}")
        key = (b.server, e.unit_id, "write" if b.write else "read")
        burst = self.grouper.open.get(key)
        if burst is not None and ts - burst.last_ts <= self.config.gap_s:
            regs = burst.context["registers"]
            if o.register not in regs and len(regs) < MAX_REGISTERS_LISTED:
                regs.append(o.register)
        context = {"sentence": sentence, "tests": tests, "write": b.write,
                   "client": e.src_ip if b.write else e.dst_ip, "server": b.server,
                   "unit": e.unit_id, "registers": [o.register]}
        ratio = max(float(scores[j]) / max(self.thresholds[j].value, 1e-12) for j in range(3))
        return self.grouper.add(key, ts, ts, 1, e.frame, ratio, [evidence], context)

    def _render(self, burst: Burst) -> Alert:
        ctx = burst.context
        regs = ", ".join(str(r) for r in sorted(ctx["registers"]))
        more = (f" {burst.count} anomalous values over {burst.last_ts - burst.first_ts:.1f} s "
                f"(registers {regs})." if burst.count > 1 else "")
        if ctx["write"]:
            why = ("A write outside the learned behaviour changes how the process runs "
                   "(ATT&CK for ICS T0836 Modify Parameter).")
            technique_id, technique, severity = "T0836", "Modify Parameter", "high"
            title = f"Unusual value written to {ctx['server']} unit {ctx['unit']}"
            src, dst = ctx["client"], ctx["server"]
        else:
            why = ("A reported value outside the learned behaviour may be a process upset, a "
                   "sensor fault, or manipulated control or view; no technique is assigned "
                   "from the value alone.")
            technique_id, technique, severity = "", "", "medium"
            title = f"Unusual process value reported by {ctx['server']} unit {ctx['unit']}"
            src, dst = ctx["server"], ctx["client"]
        sentence = ctx["sentence"]
        return Alert(
            alert_id=alert_id(self.name, self.kind, burst.key, burst.first_frame,
                              burst.first_ts),
            ts=burst.first_ts,
            detector=self.name,
            kind=self.kind,
            severity=severity,
            title=title,
            explanation=(f"{sentence[0].upper()}{sentence[1:]} ({'; '.join(ctx['tests'])})."
                         f"{more} {why}"),
            technique_id=technique_id,
            technique=technique,
            src_ip=src,
            dst_ip=dst,
            protocol="modbus",
            last_ts=burst.last_ts,
            count=burst.count,
            evidence=tuple(burst.evidence),
            detected_ts=burst.first_ts,  # raised at the burst's first anomaly, not its end
        )

    # ------------------------------------------------------------------ state

    def save(self, prefix: str) -> list[Alert]:
        """Write ``prefix.npz`` + ``prefix.json``. Pending values are scored first; their
        alerts (if any) are returned."""
        alerts = self._drain()
        bank_arrays, bank_meta = self.bank.state_arrays()
        arrays: Arrays = {f"bank.{k}": v for k, v in bank_arrays.items()}
        arrays["calibration"] = (np.concatenate(self.calibration) if self.calibration
                                 else np.zeros((0, 3)))
        meta = {
            "detector": self.name, "config": asdict(self.config), "bank": bank_meta,
            "thresholds": [t.to_json() for t in self.thresholds], "learning": self.learning,
            "t0": self.t0, "now": self.now, "stats": asdict(self.stats),
            "bursts": bursts_to_json(self.grouper),
        }
        save_state(prefix, arrays, meta)
        return alerts

    @classmethod
    def load(cls, prefix: str) -> ProcessValueDetector:
        return load_model(prefix, cls.name, cls._from_state)

    @classmethod
    def _from_state(cls, arrays: Arrays, meta: dict[str, Any]) -> ProcessValueDetector:
        cfg = dict(meta["config"])
        cfg["params"] = ProcessParams(**cfg["params"])
        det = cls(ProcessValueConfig(**cfg))
        det.bank = SeriesBank.from_state(sub_arrays(arrays, "bank."), meta["bank"])
        det.thresholds = [Threshold.from_json(d) for d in meta["thresholds"]]
        cal = arrays["calibration"]
        det.calibration = [cal.astype(np.float64)] if cal.size else []
        det.learning = bool(meta["learning"])
        det.t0 = meta["t0"]
        det.now = float(meta["now"])
        det.stats = ProcessValueStats(**meta["stats"])
        bursts_from_json(det.grouper, meta["bursts"])
        return det
