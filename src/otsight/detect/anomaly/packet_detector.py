"""Packet-level anomaly detection: damped per-packet statistics (features) into KitNET.

Learns for ``learn_packets`` packets or ``learn_seconds`` of packet time: the start maps
features to autoencoders, the middle trains, the last part is only scored and fits the
threshold. Then every packet is scored in one vectorised pass per batch; anomalous packets of
one source close in time become one alert (:mod:`.grouping`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ...alerts.model import Alert, AlertEvidence
from ...core.events import BaseEvent
from ...core.types import ip_from_words, mac_to_str
from ...decode.flows import FlowColumns
from ...decode.table import L3_ARP, L3_IPV4, L3_IPV6, PROTO_TCP, PROTO_UDP, PacketTable
from ...decode.view import BatchView
from .base import QuantileThreshold, Threshold
from .features import FeatureExtractor, describe
from .grouping import Burst, BurstGrouper, alert_id
from .kitnet import KitNET
from .persist import Arrays, load_model, save_state
from .phases import (
    CALIBRATE,
    DETECT,
    MAP,
    PHASES,
    TRAIN,
    bursts_from_json,
    bursts_to_json,
    phase_of,
    sub_arrays,
)

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
MAX_EVIDENCE = 8


@dataclass(frozen=True, slots=True)
class PacketAnomalyConfig:
    """Learning ends after ``learn_packets`` packets or ``learn_seconds`` of packet time,
    whichever comes first (set at least one). The first ``mapping_fraction`` of the training
    part builds the feature map; the last ``calibration_fraction`` of the learning period is
    only scored, and the threshold is ``threshold_margin`` times the ``threshold_q`` quantile
    of those scores."""

    learn_packets: int | None = 100_000
    learn_seconds: float | None = None
    mapping_fraction: float = 0.1
    calibration_fraction: float = 0.2
    lambdas: tuple[float, ...] = (5.0, 3.0, 1.0, 0.1, 0.01)
    max_ae: int = 10
    hidden_ratio: float = 0.75
    learning_rate: float = 0.1
    seed: int = 0
    threshold_q: float = 1.0
    threshold_margin: float = 1.5
    gap_s: float = 2.0  # anomalous packets of one source closer than this form one burst
    max_rows: int = 1 << 17  # per key table of the feature extractor
    feature_threads: int = 1  # 2: the feature kernels of the four key kinds on two cores

    def __post_init__(self) -> None:
        if self.learn_packets is None and self.learn_seconds is None:
            raise ValueError("set learn_packets or learn_seconds")
        if self.learn_packets is not None and self.learn_packets < 10:
            raise ValueError(f"learn_packets must be >= 10: {self.learn_packets}")
        if self.learn_seconds is not None and self.learn_seconds <= 0.0:
            raise ValueError(f"learn_seconds must be > 0: {self.learn_seconds}")
        if not (0.0 < self.mapping_fraction < 1.0 and 0.0 < self.calibration_fraction < 1.0):
            raise ValueError("mapping_fraction and calibration_fraction must be in (0, 1)")


@dataclass
class PacketAnomalyStats:
    packets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    warmup: int = 0  # detection packets whose alerts were suppressed after a resume
    flagged: int = 0
    alerts: int = 0
    threshold_from: str = ""


class AnomalyDetector:
    """Kitsune-style packet anomaly detector.

    No ATT&CK technique is assigned: an unusual packet pattern says that the traffic of a
    source changed, not which technique changed it; the explanation names the statistics that
    deviated most so an analyst can tell a scan from a flood or a spoofed address.
    """

    name = "packet-anomaly"
    kind = "packet-anomaly"

    def __init__(self, config: PacketAnomalyConfig | None = None) -> None:
        self.config = c = config or PacketAnomalyConfig()
        self.features = FeatureExtractor(c.lambdas, max_rows=c.max_rows, threads=c.feature_threads)
        self.model = KitNET(self.features.n_features, c.max_ae, c.hidden_ratio,
                            c.learning_rate, mapping_samples=1 << 62, seed=c.seed)
        self.threshold: Threshold = QuantileThreshold(c.threshold_q, c.threshold_margin)
        self.calibration: list[npt.NDArray[np.float64]] = []
        self.learning = True
        self.t0_ns: int | None = None  # first packet of the learning period
        self.seen = 0
        self.quiet_s = 0.0  # after a resume: alerts suppressed for this long...
        self.quiet_until_ns: int | None = None  # ...from the first packet after it
        self.stats = PacketAnomalyStats()
        self.grouper = BurstGrouper(c.gap_s, self._render, MAX_EVIDENCE)
        self._names = self.features.feature_names()
        self._buf = np.empty((self.features.n_features, 0), dtype=np.float32)  # reused per batch

    # ------------------------------------------------------------------ stage methods

    def on_event(self, event: BaseEvent) -> list[Alert]:
        return []

    def on_flows(self, flows: FlowColumns) -> list[Alert]:
        return []

    def finish(self) -> list[Alert]:
        alerts = self.grouper.close_all()
        self.stats.alerts += len(alerts)
        self.features.close()
        return alerts

    def on_batch(self, view: BatchView) -> list[Alert]:
        batch = view.batch
        n = len(batch)
        if n == 0:
            return []
        if self._buf.shape[1] < n:
            self._buf = np.empty((self.features.n_features, n), dtype=np.float32)
        XT = self.features.extract(view.table, batch.ts_ns, batch.wirelen, self._buf)
        if self.t0_ns is None:
            self.t0_ns = int(batch.ts_ns[0])
        if not self.learning:
            self.stats.packets["detect"] += n
            return self._detect(view, XT, np.arange(n))
        t = (batch.ts_ns - self.t0_ns).astype(np.float64) / 1e9
        phase = phase_of(self._progress(t, n), self.config.mapping_fraction,
                         self.config.calibration_fraction)
        self.seen += n
        for p, name in enumerate(PHASES):
            self.stats.packets[name] += int(np.count_nonzero(phase == p))
        m = phase == MAP
        if m.any() and not self.model.mapped:
            self.model.corr.update(XT[:, m].T.astype(np.float64))
        if (phase > MAP).any():
            self.model.build_map()
        m = phase == TRAIN
        if m.any():
            self.model.train(np.ascontiguousarray(XT[:, m].T, dtype=np.float64))
        m = phase == CALIBRATE
        if m.any():
            self.calibration.append(self.model.score_columns(XT[:, m]))
        idx = np.flatnonzero(phase == DETECT)
        if not idx.size:
            return []
        self.end_learning()
        return self._detect(view, XT[:, idx], idx)

    # ------------------------------------------------------------------ control

    def end_learning(self) -> None:
        """Stop learning now and fit the threshold on the calibration scores so far."""
        if not self.learning:
            return
        self.learning = False
        self.model.build_map()
        scores = np.concatenate(self.calibration) if self.calibration else np.zeros(0)
        if scores.size and self.model.trained:
            self.threshold.fit(scores)
            self.stats.threshold_from = f"calibration ({scores.size} packets)"
        else:
            self.threshold.fit(np.zeros(1))
            self.threshold.value = np.inf
            self.stats.threshold_from = "nothing learned or calibrated: alerting disabled"
            log.warning("packet-anomaly: learning ended without training and calibration data")

    def resume(self, warmup_s: float = 10.0) -> list[Alert]:
        """Start on new traffic (another capture, a restarted sensor) after loading a state.

        The damped statistics restart from nothing, as they would in a fresh process; their
        first ``warmup_s`` seconds of packet time are scored but raise no alert (counted), so
        keys that are merely new to the restarted statistics do not page anyone.
        """
        if warmup_s < 0.0:
            raise ValueError(f"warmup_s must be >= 0: {warmup_s}")
        self.end_learning()
        alerts = self.grouper.close_all()
        c = self.config
        self.features.close()
        self.features = FeatureExtractor(c.lambdas, max_rows=c.max_rows, threads=c.feature_threads)
        self.quiet_s = warmup_s
        self.quiet_until_ns = None
        return alerts

    # ------------------------------------------------------------------ internals

    def _progress(self, t: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
        c = self.config
        progress = np.zeros(n)
        if c.learn_packets is not None:
            progress = (self.seen + np.arange(n, dtype=np.float64)) / c.learn_packets
        if c.learn_seconds is not None:
            progress = np.maximum(progress, t / c.learn_seconds)
        return progress

    def _detect(self, view: BatchView, XT: F32, idx: I64) -> list[Alert]:
        ts_ns = view.batch.ts_ns
        scores = self.model.score_columns(XT)
        hit = self.threshold.flags(scores)
        if self.quiet_s > 0.0:
            if self.quiet_until_ns is None:
                self.quiet_until_ns = int(ts_ns[idx[0]]) + int(self.quiet_s * 1e9)
            quiet = ts_ns[idx] < self.quiet_until_ns
            self.stats.warmup += int(np.count_nonzero(quiet))
            hit &= ~quiet
        hits = np.flatnonzero(hit)
        alerts: list[Alert] = []
        if hits.size:
            self.stats.flagged += int(hits.size)
            alerts += self._group(view, XT, idx, hits, scores)
        alerts += self.grouper.expire(float(ts_ns[-1]) / 1e9)
        self.stats.alerts += len(alerts)
        return alerts

    def _group(
        self, view: BatchView, XT: F32, idx: I64, hits: I64, scores: npt.NDArray[np.float64]
    ) -> list[Alert]:
        """Runs of anomalous packets per source within this batch, fed to the grouper."""
        tab = view.table
        rows = idx[hits]
        has_ip = _has_ip(tab.l3[rows])
        keys = np.stack([
            has_ip.astype(np.uint64),
            np.where(has_ip, tab.src_hi[rows], 0).astype(np.uint64),
            np.where(has_ip, tab.src_lo[rows], tab.src_mac[rows].view(np.uint64)),
        ], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        ts = view.batch.ts_ns[rows].astype(np.float64) / 1e9
        runs: list[tuple[int, I64]] = []
        for u in range(uniq.shape[0]):
            members = np.flatnonzero(inverse == u)
            cuts = np.flatnonzero(np.diff(ts[members]) > self.config.gap_s) + 1
            runs += [(int(m[0]), m) for m in np.split(members, cuts)]
        runs.sort(key=lambda r: r[0])  # packet order, whatever the order of the keys
        alerts: list[Alert] = []
        for _, members in runs:
            key = tuple(int(x) for x in keys[members[0]])
            alerts += self._add_run(view, XT, hits[members], rows[members], scores, key)
        return alerts

    def _add_run(
        self, view: BatchView, XT: F32, cols: I64, rows: I64,
        scores: npt.NDArray[np.float64], key: tuple[int, ...],
    ) -> list[Alert]:
        """One run: ``cols`` index the scored columns, ``rows`` the batch's packets."""
        batch, tab = view.batch, view.table
        first, last = int(rows[0]), int(rows[-1])
        run_scores = scores[cols]
        top = int(np.argmax(run_scores))
        deviating = self.model.explain(XT[:, int(cols[top])].astype(np.float64))
        peak = {"score": float(run_scores[top]), "frame": batch.first_frame + int(rows[top]),
                "features": [describe(self._names[i]) for i, _ in deviating]}
        context = {
            "src": _address(tab, first, "src"),
            "src_mac": mac_to_str(int(tab.src_mac[first]) & 0xFFFFFFFFFFFF),
            "dst": _address(tab, first, "dst"),
            "ip": bool(_has_ip(tab.l3[first : first + 1])[0]),
            "protocol": _transport(tab, first),
        }
        evidence = [self._evidence(view, int(r), float(s))
                    for r, s in zip(rows[:MAX_EVIDENCE], run_scores[:MAX_EVIDENCE],
                                    strict=True)]
        return self.grouper.add(
            key, float(batch.ts_ns[first]) / 1e9, float(batch.ts_ns[last]) / 1e9,
            int(rows.size), batch.first_frame + first, float(run_scores[top]), evidence,
            context, peak,
        )

    def _evidence(self, view: BatchView, i: int, score: float) -> AlertEvidence:
        tab = view.table
        dport = f":{int(tab.dport[i])}" if tab.has_ports[i] else ""
        flow = int(view.flow_ids[i])
        return AlertEvidence(
            ts=float(view.batch.ts_ns[i]) / 1e9,
            frame=view.batch.first_frame + i,
            flow_id=flow or None,
            protocol=_transport(tab, i),
            operation="anomalous-packet",
            detail=(f"score {score:.3g} (threshold {self.threshold.value:.3g}); "
                    f"{_address(tab, i, 'src')} -> {_address(tab, i, 'dst')}{dport}, "
                    f"{int(view.batch.wirelen[i])} bytes"),
        )

    def _render(self, burst: Burst) -> Alert:
        ctx = burst.context
        thr = self.threshold.value
        ratio = burst.max_score / thr if thr > 0 else float("inf")
        span = burst.last_ts - burst.first_ts
        features = "; ".join(burst.peak.get("features", [])) or "n/a"
        explanation = (
            f"{burst.count} packet(s) from {ctx['src']} over {span:.1f} s scored above the "
            f"threshold learned on benign traffic (highest {burst.max_score:.3g}, "
            f"{ratio:.1f}x the threshold {thr:.3g}, frame {burst.peak.get('frame')}). "
            f"Statistics that deviated most: {features}. The traffic of this source no "
            f"longer looks like what was learned: check for scanning, floods, spoofing or a "
            f"new device before dismissing it."
        )
        return Alert(
            alert_id=alert_id(self.name, self.kind, burst.key, burst.first_frame,
                              burst.first_ts),
            ts=burst.first_ts,
            detector=self.name,
            kind=self.kind,
            severity="medium" if ratio >= 10.0 else "low",
            title=f"Anomalous traffic from {ctx['src']}",
            explanation=explanation,
            technique_id="",
            technique="",
            src_ip=ctx["src"] if ctx["ip"] else None,
            dst_ip=ctx["dst"] if ctx["ip"] else None,
            src_mac=ctx["src_mac"],
            protocol=ctx["protocol"],
            last_ts=burst.last_ts,
            count=burst.count,
            evidence=tuple(burst.evidence),
            detected_ts=burst.first_ts,  # raised at the burst's first anomaly, not its end
        )

    # ------------------------------------------------------------------ state

    def save(self, prefix: str) -> list[Alert]:
        """Write ``prefix.npz`` + ``prefix.json``: statistics, model, threshold, open bursts.
        Returns no alerts (nothing is pending); the signature matches the value detector's."""
        fx_arrays, fx_meta = self.features.state()
        model_arrays, model_meta = self.model.state()
        arrays: Arrays = {f"fx.{k}": v for k, v in fx_arrays.items()}
        arrays |= {f"model.{k}": v for k, v in model_arrays.items()}
        arrays["calibration"] = (np.concatenate(self.calibration) if self.calibration
                                 else np.zeros(0))
        meta = {
            "detector": self.name, "config": asdict(self.config), "features": fx_meta,
            "model": model_meta, "threshold": self.threshold.to_json(),
            "learning": self.learning, "t0_ns": self.t0_ns, "seen": self.seen,
            "quiet_s": self.quiet_s, "quiet_until_ns": self.quiet_until_ns,
            "stats": asdict(self.stats), "bursts": bursts_to_json(self.grouper),
        }
        save_state(prefix, arrays, meta)
        return []

    @classmethod
    def load(cls, prefix: str) -> AnomalyDetector:
        return load_model(prefix, cls.name, cls._from_state)

    @classmethod
    def _from_state(cls, arrays: Arrays, meta: dict[str, Any]) -> AnomalyDetector:
        cfg = dict(meta["config"])
        cfg["lambdas"] = tuple(cfg["lambdas"])
        det = cls(PacketAnomalyConfig(**cfg))
        det.features = FeatureExtractor.from_state(sub_arrays(arrays, "fx."), meta["features"],
                                                   det.config.feature_threads)
        det.model = KitNET.from_state(sub_arrays(arrays, "model."), meta["model"])
        det.threshold = Threshold.from_json(meta["threshold"])
        cal = arrays["calibration"]
        det.calibration = [cal.astype(np.float64)] if cal.size else []
        det.learning = bool(meta["learning"])
        det.t0_ns = meta["t0_ns"]
        det.seen = int(meta["seen"])
        det.quiet_s = float(meta["quiet_s"])
        det.quiet_until_ns = meta["quiet_until_ns"]
        det.stats = PacketAnomalyStats(**meta["stats"])
        bursts_from_json(det.grouper, meta["bursts"])
        return det


def _has_ip(l3: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = (l3 == L3_IPV4) | (l3 == L3_IPV6) | (l3 == L3_ARP)
    return out


def _address(tab: PacketTable, i: int, side: str) -> str:
    if _has_ip(tab.l3[i : i + 1])[0]:
        return ip_from_words(int(getattr(tab, f"{side}_hi")[i]),
                             int(getattr(tab, f"{side}_lo")[i]))
    return mac_to_str(int(getattr(tab, f"{side}_mac")[i]) & 0xFFFFFFFFFFFF)


def _transport(tab: PacketTable, i: int) -> str:
    l3 = int(tab.l3[i])
    if l3 == L3_ARP:
        return "arp"
    if l3 in (L3_IPV4, L3_IPV6):
        proto = int(tab.proto[i])
        names = {PROTO_TCP: "tcp", PROTO_UDP: "udp", 1: "icmp", 58: "icmpv6"}
        return names.get(proto, f"ip-{proto}")
    return f"ethertype-0x{int(tab.ethertype[i]):04x}"
