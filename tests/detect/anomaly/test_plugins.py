"""The anomaly models as opt-in detector plugins, run by the detection stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otsight.detect.registry import create_detectors
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lab-mixed" / "capture.pcap"


def test_anomaly_models_are_off_unless_configured() -> None:
    names = {d.name for d in create_detectors()}
    assert "packet-anomaly" not in names
    assert "process-values" not in names
    names = {d.name for d in create_detectors({"packet-anomaly": {}, "process-values": {}})}
    assert {"packet-anomaly", "process-values", "ot-commands"} <= names


def test_configured_models_run_in_the_pipeline_and_raise_from_the_attack() -> None:
    config: dict[str, dict[str, Any]] = {
        "packet-anomaly": {"learn_packets": 1500},  # the plant's first ~15 s: before the attack
        "process-values": {"learn_seconds": 12.0},
    }
    stage = DetectionStage(create_detectors(config))
    result = run_files([str(EXAMPLE)], build_stages([stage]))
    assert result.ok
    assert stage.errors == {}
    anomalies = [a for a in stage.alerts if a.detector == "packet-anomaly"]
    assert anomalies, "the scan and the ARP spoofing differ from the learned plant traffic"
    # Alerts carry capture time inside the capture, and evidence.
    assert result.summary.first_ts_ns is not None
    assert result.summary.last_ts_ns is not None
    first, last = result.summary.first_ts_ns / 1e9, result.summary.last_ts_ns / 1e9
    assert all(first <= a.ts <= last for a in anomalies)
    assert all(a.evidence for a in anomalies)
