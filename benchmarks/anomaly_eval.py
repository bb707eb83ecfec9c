"""Detection quality and cost of the anomaly detectors (packet-level KitNET, process values).

Usage::

    .venv/bin/python benchmarks/anomaly_eval.py [--lab /tmp/anom-] [--lab-long /tmp/anom-long-]
        [--labelled DIR] [--margin 1.5] [--sweep 1.5,3,10] [--throughput 1000000] [--runs 3]
        [--skip-lab] [--skip-labelled] [--verbose] [--json OUT]

Captures come from ``otsight lab run --scenario NAME --out PREFIX+NAME`` (see the report of
issue 6 for the exact commands); missing ones are skipped with a note.

Lab, learned on normal: both detectors learn on the whole ``normal`` capture (its last 20 % /
25 % only calibrates the thresholds), the state is saved, then every other capture (dos,
recon, manipulation, mitm, mixed, benign-change, a second normal run) is scored from that state
after ``resume`` (fresh packet statistics, 10 s warm-up without packet alerts).

Lab, in-stream: long captures (``--lab-long``) learn on their own start, up to 5 s before the
first attack step, and go on scoring the same stream.

Labelled Modbus dataset (Lemay & Fernandez, CSET 2016; per-frame labels): both detectors learn
on the benign start of ``send_a_fake_command`` (up to 1 s before its first attack frame) and go
on scoring that capture; the other captures of the same network are scored from the saved state
with the same resume. Events are contiguous runs of attack frames.

Event level, never point-adjusted: an event (attack step or labelled segment) is detected if an
alert *starts* inside [event start, event end + 2 s]; time to detect runs from the event start
to that alert. Every alert starting outside all event windows is a false alert (an alert caused
by an attack's lasting effect after its window counts as false too); false alerts per hour use
the scored time (after learning or warm-up). Alerts count once per ``alert_id`` (the final
version of a burst). The sweep repeats everything for other threshold margins.

Throughput: the synthetic plant capture of ``benchmarks/throughput.py`` through L2-L4 only,
with the packet detector and with its feature kernels on two threads, best of ``--runs``;
feature extraction alone is timed in a separate run and scoring is the remainder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from otsight.alerts.model import Alert
from otsight.capture.sources import Input, read_input
from otsight.core.events import BaseEvent
from otsight.decode.flows import FlowColumns
from otsight.decode.view import BatchView
from otsight.detect.anomaly.detector import (
    AnomalyDetector,
    PacketAnomalyConfig,
    ProcessValueConfig,
    ProcessValueDetector,
)
from otsight.pipeline.assemble import build_stages, run_files
from otsight.pipeline.fanout import Fanout
from otsight.pipeline.runner import analyze
from otsight.testing import synth
from otsight.testing.collect import AlertSource, Collect
from otsight.testing.corpus import shared_data

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("dos", "recon", "manipulation", "mitm", "mixed", "benign-change", "normal2")
LABELLED = "labelled/antoine-lemay_Modbus_dataset"
LABELLED_BASE = "send_a_fake_command_modbus_6RTU_with_operate"
LABELLED_OTHERS = (
    "CnC_uploading_exe_modbus_6RTU_with_operate",
    "characterization_modbus_6RTU_with_operate",
    "exploit_ms08_netapi_modbus_6RTU_with_operate",
    "moving_two_files_modbus_6RTU",
)
SLACK_S = 2.0
WARMUP_S = 10.0
DETECTORS = ("packet-anomaly", "process-values")


def run(path: Path, detectors: Sequence[AlertSource]) -> dict[str, list[Alert]]:
    collectors = [Collect(d) for d in detectors]
    result = run_files([str(path)], build_stages(collectors))
    if result.summary.observer_errors:
        raise RuntimeError(f"{path}: detector errors {result.summary.observer_errors}")
    return {c.name: c.alerts for c in collectors}


# ----------------------------------------------------------------------------- scoring


@dataclass
class Window:
    name: str
    label: str  # technique or "segment"
    start: float
    end: float


@dataclass
class Outcome:
    """One capture scored by one detector (or "any": both together)."""

    detected: dict[str, float | None] = field(default_factory=dict)  # window -> TTD or None
    alerts: int = 0
    true_alerts: int = 0
    false_alerts: int = 0
    hours: float = 0.0

    @property
    def fp_per_hour(self) -> float:
        return self.false_alerts / self.hours if self.hours > 0 else 0.0

    @property
    def recall(self) -> float:
        n = len(self.detected)
        return sum(v is not None for v in self.detected.values()) / n if n else float("nan")

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else float("nan")


def score(alerts: list[Alert], windows: list[Window], start: float, end: float) -> Outcome:
    """Event-level outcome of ``alerts`` against ``windows`` on [start, end] (seconds)."""
    out = Outcome(hours=max(end - start, 0.0) / 3600.0)
    for w in windows:
        inside = [a.ts for a in alerts if w.start <= a.ts <= w.end + SLACK_S]
        out.detected[w.name] = min(inside) - w.start if inside else None
    for a in alerts:
        if a.ts < start:
            continue
        out.alerts += 1
        if any(w.start <= a.ts <= w.end + SLACK_S for w in windows):
            out.true_alerts += 1
        else:
            out.false_alerts += 1
    return out


def outcomes(
    found: dict[str, list[Alert]], windows: list[Window], start: float, end: float
) -> dict[str, Outcome]:
    every = sorted((a for name in DETECTORS for a in found[name]), key=lambda a: a.ts)
    res = {name: score(found[name], windows, start, end) for name in DETECTORS}
    res["any"] = score(every, windows, start, end)
    return res


# ----------------------------------------------------------------------------- lab


def truth_of(directory: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((directory / "truth.json").read_text())
    return doc


def detectors(margin: float, learn_seconds: float) -> tuple[AnomalyDetector,
                                                            ProcessValueDetector]:
    packet = AnomalyDetector(PacketAnomalyConfig(
        learn_packets=None, learn_seconds=learn_seconds, threshold_margin=margin))
    values = ProcessValueDetector(ProcessValueConfig(
        learn_seconds=learn_seconds, threshold_margin=margin))
    return packet, values


def learned(packet: AnomalyDetector, values: ProcessValueDetector) -> str:
    return (f"packets {packet.stats.packets}, {len(packet.model.groups)} autoencoders, "
            f"threshold {packet.threshold.value:.4g}; values {values.stats.values}, thresholds "
            f"{[round(t.value, 3) for t in values.thresholds]}")


def lab_windows(t: dict[str, Any]) -> tuple[list[Window], list[Window]]:
    steps = [Window(s["step_id"], s["technique_ids"][0], s["start"], s["end"])
             for s in t["attack_steps"]]
    benign = [Window(c["change_id"], "benign", c["start"], c["end"])
              for c in t.get("benign_changes", [])]
    return steps, benign


def in_windows(found: dict[str, list[Alert]], windows: list[Window]) -> dict[str, int]:
    return {det: sum(1 for a in found[det]
                     if any(w.start <= a.ts <= w.end + SLACK_S for w in windows))
            for det in DETECTORS}


def lab_eval(prefix: str, margin: float, log: Console) -> dict[str, Any]:
    """Learn on the whole normal capture, score the other captures from the saved state."""
    base = Path(prefix + "normal")
    if not (base / "capture.pcap").exists():
        log.print(f"[yellow]lab: no {base}/capture.pcap, skipped[/]")
        return {}
    truth = truth_of(base)
    duration = truth["capture"]["end"] - truth["capture"]["start"]
    packet, values = detectors(margin, duration)
    run(base / "capture.pcap", [packet, values])
    packet.end_learning()
    values.end_learning()
    log.print(f"lab baseline (margin {margin:g}): learned {duration:.0f} s of normal; "
              f"{learned(packet, values)}")
    state = Path(tempfile.mkdtemp(prefix="anomaly-eval-"))
    packet.save(str(state / "packet"))
    values.save(str(state / "values"))
    results: dict[str, Any] = {}
    for name in SCENARIOS:
        directory = Path(prefix + name)
        if not (directory / "truth.json").exists():
            log.print(f"[yellow]lab: {directory} missing, skipped[/]")
            continue
        t = truth_of(directory)
        pk = AnomalyDetector.load(str(state / "packet"))
        pv = ProcessValueDetector.load(str(state / "values"))
        pk.resume(WARMUP_S)
        pv.resume()
        found = run(directory / "capture.pcap", [pk, pv])
        steps, benign = lab_windows(t)
        start = t["capture"]["start"] + WARMUP_S
        results[name] = {"outcomes": outcomes(found, steps, start, t["capture"]["end"]),
                         "windows": steps, "in_benign": in_windows(found, benign),
                         "alerts": found, "t0": t["capture"]["start"]}
    return results


def lab_instream_eval(prefix: str, margin: float, log: Console) -> dict[str, Any]:
    """Long captures: learn on each capture's own start (up to 5 s before its first step),
    then go on scoring the same stream."""
    results: dict[str, Any] = {}
    for name in ("dos", "recon", "manipulation", "mitm"):
        directory = Path(prefix + name)
        if not (directory / "truth.json").exists():
            log.print(f"[yellow]lab in-stream: {directory} missing, skipped[/]")
            continue
        t = truth_of(directory)
        steps, _ = lab_windows(t)
        t0 = t["capture"]["start"]
        learn = min(w.start for w in steps) - t0 - 5.0
        packet, values = detectors(margin, learn)
        found = run(directory / "capture.pcap", [packet, values])
        log.print(f"lab in-stream {name} (margin {margin:g}): learned {learn:.0f} s; "
                  f"{learned(packet, values)}")
        results[name] = {"outcomes": outcomes(found, steps, t0 + learn, t["capture"]["end"]),
                         "windows": steps, "alerts": found, "t0": t0}
    return results


# ----------------------------------------------------------------------------- labelled


def frame_times(path: Path) -> np.ndarray[Any, np.dtype[np.float64]]:
    stamps = [b.ts_ns for b in read_input(Input(str(path), path))]
    return np.concatenate(stamps).astype(np.float64) / 1e9


def segments(csv: Path, times: np.ndarray[Any, np.dtype[np.float64]]) -> list[Window]:
    labels = np.array([int(line.split(";")[1]) for line in csv.read_text().split()
                       if ";" in line])
    if labels.shape[0] != times.shape[0]:
        raise ValueError(f"{csv}: {labels.shape[0]} labels for {times.shape[0]} frames")
    edges = np.diff(np.concatenate([[0], labels, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [Window(f"seg{i + 1}@frame{s + 1}", "segment", float(times[s]), float(times[e]))
            for i, (s, e) in enumerate(zip(starts, ends, strict=True))]


def labelled_eval(root: Path, margin: float, log: Console) -> dict[str, Any]:
    base = root / f"{LABELLED_BASE}.pcap"
    times = frame_times(base)
    wins = segments(root / f"{LABELLED_BASE}_labeled.csv", times)
    learn = wins[0].start - times[0] - 1.0
    packet, values = detectors(margin, learn)
    found = run(base, [packet, values])
    log.print(f"labelled (margin {margin:g}): learned {learn:.0f} s of {LABELLED_BASE}; "
              f"{learned(packet, values)}")
    results: dict[str, Any] = {
        LABELLED_BASE: {"outcomes": outcomes(found, wins, times[0] + learn, float(times[-1])),
                        "windows": wins, "alerts": found, "t0": float(times[0])}
    }
    state = Path(tempfile.mkdtemp(prefix="anomaly-eval-"))
    packet.save(str(state / "packet"))
    values.save(str(state / "values"))
    for name in LABELLED_OTHERS:
        path = root / f"{name}.pcap"
        times = frame_times(path)
        wins = segments(root / f"{name}_labeled.csv", times)
        pk = AnomalyDetector.load(str(state / "packet"))
        pv = ProcessValueDetector.load(str(state / "values"))
        pk.resume(WARMUP_S)
        pv.resume()
        found = run(path, [pk, pv])
        results[name] = {
            "outcomes": outcomes(found, wins, float(times[0]) + WARMUP_S, float(times[-1])),
            "windows": wins, "alerts": found, "t0": float(times[0]),
            "in_warmup": sum(1 for w in wins if w.end < times[0] + WARMUP_S),
        }
    return results


# ----------------------------------------------------------------------------- throughput


class Timed:
    """Runs the packet detector (or only its feature extraction) in the L2-L4 pipeline and
    times it, apart for the learning period."""

    name = "packet-anomaly"

    def __init__(self, detector: AnomalyDetector, features_only: bool = False) -> None:
        self.d = detector
        self.features_only = features_only
        self.learn_s = 0.0
        self.detect_s = 0.0
        self.learn_packets = 0
        self.detect_packets = 0

    def on_event(self, event: BaseEvent) -> None:
        pass

    def on_batch(self, view: BatchView) -> None:
        learning = self.d.learning and not self.features_only
        started = time.perf_counter()
        if self.features_only:
            self.d.features.extract(view.table, view.batch.ts_ns, view.batch.wirelen)
        else:
            self.d.on_batch(view)
        elapsed = time.perf_counter() - started
        if learning:
            self.learn_s += elapsed
            self.learn_packets += len(view.batch)
        else:
            self.detect_s += elapsed
            self.detect_packets += len(view.batch)

    def on_flows(self, flows: FlowColumns) -> None:
        pass

    def finish(self) -> None:
        self.d.finish()


def throughput(packets: int, runs: int, log: Console) -> dict[str, float]:
    """Best of ``runs`` for each measurement (this 2-core machine is shared: the minimum is
    the least disturbed run)."""
    data = ROOT / "benchmarks" / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"synth-{packets}-seed1.pcap"
    if not path.exists():
        log.print(f"generating {packets:,} synthetic packets -> {path}")
        synth.generate(path, packets, 1)
    warm = AnomalyDetector(PacketAnomalyConfig(learn_packets=2000))  # fills numba caches
    analyze([str(path)], fanout=Fanout([Timed(warm)]))

    def timed_run(stage: Timed | None) -> float:
        started = time.perf_counter()
        analyze([str(path)], fanout=Fanout([stage]) if stage else None)
        return time.perf_counter() - started

    base_s = min(timed_run(None) for _ in range(runs))
    feats = [Timed(AnomalyDetector(), features_only=True) for _ in range(runs)]
    for f in feats:
        timed_run(f)
    features_s = min(f.detect_s for f in feats) * 1e6 / packets
    threaded_s = min(
        timed_run(Timed(AnomalyDetector(PacketAnomalyConfig(learn_packets=100_000,
                                                            feature_threads=2))))
        for _ in range(runs))
    stages = [Timed(AnomalyDetector(PacketAnomalyConfig(learn_packets=100_000)))
              for _ in range(runs)]
    with_s = min(timed_run(t) for t in stages)
    best = min(stages, key=lambda t: t.detect_s)
    per_m = 1e6 / max(best.detect_packets, 1)
    return {
        "packets": float(packets),
        "l2l4_s": base_s,
        "l2l4_with_detector_s": with_s,
        "l2l4_with_detector_2_threads_s": threaded_s,
        "learn_packets": float(best.learn_packets),
        "learn_s": min(t.learn_s for t in stages),
        "detect_packets": float(best.detect_packets),
        "detect_s_per_1m": best.detect_s * per_m,
        "features_s_per_1m": features_s,
        "scoring_s_per_1m": best.detect_s * per_m - features_s,
        "autoencoders": float(len(best.d.model.groups)),
        "alerts": float(best.d.stats.alerts),
    }


# ----------------------------------------------------------------------------- report


def fmt_ttd(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} s"


def report(datasets: dict[str, dict[str, Any]], log: Console) -> None:
    for title, results in datasets.items():
        if not results:
            continue
        steps = Table(title=escape(f"{title}: events (detected = an alert starts in "
                                   "[start, end + 2 s]; time to detect)"))
        for col in ("capture", "event", "label", *DETECTORS, "any"):
            steps.add_column(col)
        for name, r in results.items():
            for w in r["windows"]:
                steps.add_row(name, w.name, w.label,
                              *[fmt_ttd(r["outcomes"][d].detected[w.name])
                                for d in (*DETECTORS, "any")])
        if steps.row_count:
            log.print(steps)
        tab = Table(title=f"{title}: per capture")
        for col in ("capture", "events", "detector", "recall", "alerts", "precision",
                    "false", "FP/h", "median TTD", "in benign change"):
            tab.add_column(col)
        for name, r in results.items():
            for det in (*DETECTORS, "any"):
                o: Outcome = r["outcomes"][det]
                ttds = [v for v in o.detected.values() if v is not None]
                benign = r.get("in_benign", {}).get(det)
                tab.add_row(
                    name, str(len(o.detected)), det,
                    f"{o.recall:.2f}" if o.detected else "n/a", str(o.alerts),
                    f"{o.precision:.2f}" if o.alerts else "n/a", str(o.false_alerts),
                    f"{o.fp_per_hour:.0f}", f"{np.median(ttds):.2f} s" if ttds else "-",
                    "" if benign is None else str(benign),
                )
        log.print(tab)


def totals(results: dict[str, Any], det: str) -> tuple[int, int, int, float]:
    """Events detected, events, false alerts, scored hours over a dataset."""
    found = events = false = 0
    hours = 0.0
    for r in results.values():
        o: Outcome = r["outcomes"][det]
        found += sum(v is not None for v in o.detected.values())
        events += len(o.detected)
        false += o.false_alerts
        hours += o.hours
    return found, events, false, hours


def sweep_report(sweep: dict[float, dict[str, dict[str, Any]]], log: Console) -> None:
    tab = Table(title="Threshold margin sweep (events detected / events; false alerts per hour)")
    for col in ("margin", "dataset", *[f"{d} events" for d in (*DETECTORS, "any")],
                *[f"{d} FP/h" for d in (*DETECTORS, "any")]):
        tab.add_column(col)
    for margin, datasets in sweep.items():
        for title, results in datasets.items():
            if not results:
                continue
            cells = [totals(results, d) for d in (*DETECTORS, "any")]
            tab.add_row(f"{margin:g}", title, *[f"{c[0]}/{c[1]}" for c in cells],
                        *[f"{c[2] / c[3]:.0f}" if c[3] else "-" for c in cells])
    log.print(tab)


def to_json(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, r in results.items():
        out[name] = {
            det: {"recall": o.recall, "precision": o.precision, "alerts": o.alerts,
                  "false_alerts": o.false_alerts, "fp_per_hour": o.fp_per_hour,
                  "ttd": o.detected}
            for det, o in r["outcomes"].items()
        }
    return out


def evaluate(args: argparse.Namespace, margin: float, log: Console) -> dict[str, Any]:
    datasets: dict[str, dict[str, Any]] = {}
    if not args.skip_lab:
        datasets["Lab, learned on normal"] = lab_eval(args.lab, margin, log)
        datasets["Lab, in-stream (long captures)"] = lab_instream_eval(args.lab_long, margin,
                                                                        log)
    if not args.skip_labelled:
        root = args.labelled
        if root is None:
            shared = shared_data()
            root = shared / LABELLED if shared else None
        if root is None or not root.is_dir():
            log.print("[yellow]labelled dataset not found, skipped[/]")
        else:
            datasets["Labelled Modbus dataset"] = labelled_eval(root, margin, log)
    return datasets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lab", default="/tmp/anom-", help="prefix of the lab output dirs")
    ap.add_argument("--lab-long", default="/tmp/anom-long-",
                    help="prefix of long lab captures scored in-stream")
    ap.add_argument("--labelled", type=Path, default=None)
    ap.add_argument("--margin", type=float, default=1.5, help="threshold margin reported")
    ap.add_argument("--sweep", default="1.5,3,10", help="margins for the sweep table ('' off)")
    ap.add_argument("--throughput", type=int, default=1_000_000, help="packets (0: skip)")
    ap.add_argument("--runs", type=int, default=3, help="throughput: best of this many")
    ap.add_argument("--skip-lab", action="store_true")
    ap.add_argument("--skip-labelled", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="list every alert")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    log = Console(width=160)
    datasets = evaluate(args, args.margin, log)
    report(datasets, log)
    if args.verbose:
        for results in datasets.values():
            for name, r in results.items():
                for det in DETECTORS:
                    for a in r["alerts"][det]:
                        log.print(f"{name} {a.ts - r['t0']:8.2f} {det} x{a.count} "
                                  f"{a.title}", markup=False)
    margins = [float(m) for m in args.sweep.split(",") if m]
    if margins:
        quiet = Console(quiet=True)
        sweep = {m: datasets if m == args.margin else evaluate(args, m, quiet)
                 for m in margins}
        sweep_report(sweep, log)
    tp: dict[str, float] = {}
    if args.throughput:
        tp = throughput(args.throughput, args.runs, log)
        log.print(
            f"throughput on {tp['packets']:,.0f} synthetic packets (best of {args.runs}): L2-L4 "
            f"{tp['l2l4_s']:.2f} s, "
            f"with the packet detector {tp['l2l4_with_detector_s']:.2f} s (feature kernels on 2 "
            f"threads: {tp['l2l4_with_detector_2_threads_s']:.2f} s); learning "
            f"{tp['learn_packets']:,.0f} packets took {tp['learn_s']:.2f} s; detection "
            f"{tp['detect_s_per_1m']:.2f} s per 1M packets (features "
            f"{tp['features_s_per_1m']:.2f} s, scoring {tp['scoring_s_per_1m']:.2f} s, "
            f"{tp['autoencoders']:.0f} autoencoders, {tp['alerts']:.0f} alerts)"
        )
    if args.json:
        args.json.write_text(json.dumps(
            {"datasets": {k: to_json(v) for k, v in datasets.items()}, "throughput": tp},
            indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
