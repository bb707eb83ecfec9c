"""Scoring rules: matching by time window and endpoints, recall, precision, time to detect,
false alerts per hour of normal traffic."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from otsight.alerts.factory import new_alert
from otsight.alerts.model import Alert, AlertEvidence
from otsight.detect.evaluate import (
    MatchRule,
    load_truth,
    matches,
    normal_seconds,
    score,
    truth_from_dict,
)

START = 1000.0
ATK, PLC, HMI, OTHER = "192.0.2.66", "192.0.2.10", "192.0.2.20", "192.0.2.99"


def _device(name: str, ip: str, mac: str) -> dict[str, Any]:
    return {"name": name, "ips": [ip], "macs": [mac]}


def _truth(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "scenario": "test",
        "capture": {"start": START, "end": START + 3600.0},
        "devices": [
            _device("atk", ATK, "b8:27:eb:00:00:66"),
            _device("plc1", PLC, "00:80:f4:00:00:10"),
            _device("hmi", HMI, "00:14:22:00:00:20"),
        ],
        "attack_steps": [
            {"step_id": "s1", "name": "scan", "technique_ids": ["T0846"], "attacker": "atk",
             "victims": ["plc1"], "start": START + 100, "end": START + 110, "ok": True},
            {"step_id": "s2", "name": "write", "technique_ids": ["T0855"], "attacker": "atk",
             "victims": ["plc1"], "start": START + 500, "end": START + 500, "ok": True},
            {"step_id": "s3", "name": "failed", "technique_ids": ["T0814"], "attacker": "atk",
             "victims": ["plc1"], "start": START + 900, "end": START + 901, "ok": False},
        ],
        "benign_changes": [
            {"change_id": "m1", "name": "maintenance", "actor": "hmi", "targets": ["plc1"],
             "start": START + 2000, "end": START + 2010, "ok": True},
        ],
    }
    doc.update(extra)
    return doc


def _alert(ts: float, *, src: str | None = ATK, dst: str | None = PLC, kind: str = "k",
           severity: str = "high", detected: float | None = None,
           evidence: tuple[float, ...] = ()) -> Alert:
    return new_alert(
        detector="test", kind=kind, severity=severity, title=kind, explanation="e",
        technique_id="T0846", ts=ts, frame=int(ts), src_ip=src, dst_ip=dst,
        detected_ts=detected,
        evidence=tuple(AlertEvidence(t, int(t), None, "tcp", "probe") for t in evidence),
    )


def test_matching_needs_the_window_and_an_involved_endpoint() -> None:
    truth = truth_from_dict(_truth())
    scan = truth.steps[0]
    assert matches(_alert(START + 105), scan)
    assert matches(_alert(START + 98.5), scan)  # tolerance before the logged start
    assert matches(_alert(START + 111.9, src=None), scan)  # the victim alone is enough
    assert not matches(_alert(START + 113), scan)
    assert not matches(_alert(START + 105, src=OTHER, dst=HMI), scan)
    assert matches(_alert(START + 50, evidence=(START + 50, START + 104)), scan)  # a repeat
    assert not matches(_alert(START + 113), scan, MatchRule(before_s=0, after_s=2.5))
    assert matches(_alert(START + 112.4), scan, MatchRule(before_s=0, after_s=2.5))


def test_score_counts_recall_precision_ttd_and_false_alerts_per_hour() -> None:
    truth = truth_from_dict(_truth())
    raw = [
        _alert(START + 101, detected=START + 103),  # s1, decided 3 s in
        _alert(START + 104, detected=START + 104.5),
        _alert(START + 499.5),  # s2, logged start after the first packet: ttd floors at 0
        _alert(START + 900.5, kind="flood"),  # the failed step: neither true nor false
        _alert(START + 2005, src=HMI, kind="write"),  # inside maintenance: false
        _alert(START + 3000, src=OTHER, dst=HMI, kind="noise"),  # false
        _alert(START + 3100, src=HMI, dst=OTHER, kind="cleartext", severity="info"),
    ]
    dedup = [raw[0], raw[2], raw[3], raw[4], raw[5], raw[6]]
    result = score(truth, dedup, raw)
    assert [(r.step.step_id, r.detected, r.ttd_s) for r in result.steps] == [
        ("s1", True, pytest.approx(3.0)), ("s2", True, 0.0), ("s3", True, pytest.approx(0.5))]
    assert result.recall == 1.0  # s3 (tool failed) is not scored
    assert (result.alerts, result.true_alerts, result.info_findings) == (5, 3, 1)
    assert result.precision == pytest.approx(3 / 5)
    assert [a.kind for a in result.false_alerts] == ["write", "noise"]
    assert result.benign_false_alerts == 1
    normal = 3600.0 - (14.0 + 4.0 + 5.0)  # step windows with 2 s tolerance either side
    assert result.normal_hours == pytest.approx(normal / 3600)
    assert result.false_per_hour == pytest.approx(2 / (normal / 3600))
    assert result.median_ttd_s == pytest.approx(1.5)  # of the scored steps s1 and s2


def test_missed_steps_and_empty_inputs() -> None:
    truth = truth_from_dict(_truth())
    result = score(truth, [])
    assert result.recall == 0.0
    assert result.precision is None
    assert result.median_ttd_s is None
    assert result.false_per_hour == 0.0
    info_only = score(truth, [_alert(START + 105, severity="info")])
    assert info_only.recall == 0.0  # an info finding does not detect an attack
    nothing = truth_from_dict(_truth(attack_steps=[]))
    assert score(nothing, []).recall is None
    assert normal_seconds(nothing) == 3600.0


def test_overlapping_windows_are_not_counted_twice() -> None:
    doc = _truth()
    doc["attack_steps"][1] = dict(doc["attack_steps"][1], start=START + 105, end=START + 120)
    truth = truth_from_dict(doc)
    assert normal_seconds(truth) == pytest.approx(3600.0 - (122.0 - 98.0) - 5.0)


def test_truth_files_are_read_and_bad_ones_explained(tmp_path: Path) -> None:
    good = tmp_path / "truth.json"
    good.write_text(json.dumps(_truth()))
    truth = load_truth(good)
    assert truth.steps[0].actors == frozenset({ATK, "b8:27:eb:00:00:66"})
    assert truth.benign[0].step_id == "m1"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read truth"):
        load_truth(bad)
    bad.write_text(json.dumps({"scenario": "x"}))
    with pytest.raises(ValueError, match="not a truth document"):
        load_truth(bad)
    doc = _truth()
    doc["attack_steps"][0]["attacker"] = "ghost"
    with pytest.raises(ValueError, match="ghost"):
        truth_from_dict(doc)


def test_alert_time_uses_detected_ts_only_for_time_to_detect() -> None:
    truth = truth_from_dict(_truth())
    late = dataclasses.replace(_alert(START + 109), detected_ts=START + 130)
    (first, *_rest) = score(truth, [late]).steps
    assert first.detected
    assert first.ttd_s == pytest.approx(30.0)
