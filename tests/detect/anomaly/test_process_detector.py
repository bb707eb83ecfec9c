"""Process-value detector on hand-made Modbus captures: a value jump, a rogue write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otsight.detect.anomaly.detector import (
    AnomalyDetector,
    ProcessValueConfig,
    ProcessValueDetector,
)
from otsight.detect.anomaly.persist import StateError

from .plant import ATK, HMI, PLC, PLC2, Capture, level, polling, run

CONFIG = ProcessValueConfig(learn_seconds=300.0)


def capture(jump: bool, write: bool) -> Capture:
    cap = Capture()
    polling(cap, 0.0, 400.0)
    if jump:  # one odd reading of register 12, between two normal polls
        cap.read(350.5, HMI, PLC, 9999, 12, [9000], sport=40002)
    if write:
        cap.write(360.5, ATK, PLC2, 7, 1, 5000, sport=51000)
    return cap


def plant(tmp: Path, name: str, jump: bool, write: bool) -> Path:
    return capture(jump, write).save(tmp / name)


def test_a_value_jump_is_one_alert_that_explains_itself(tmp_path: Path) -> None:
    found = run([plant(tmp_path, "jump.pcap", jump=True, write=False)],
                ProcessValueDetector(CONFIG))
    alerts = found.alerts
    assert len(alerts) == 1
    alert = alerts[0]
    lo = min(level(t) for t in range(300))
    hi = max(level(t) for t in range(300))
    assert (lo, hi) == (100, 140)
    assert alert.ts == pytest.approx(1_767_225_600.0 + 350.51)
    assert alert.explanation.startswith(
        "Holding register 12 on 192.0.2.10 unit 1 jumped from ")
    assert f" to 9000; learned range {lo}-{hi} over " in alert.explanation
    assert (alert.src_ip, alert.dst_ip, alert.technique_id) == (PLC, HMI, "")
    assert (alert.severity, alert.protocol) == ("medium", "modbus")
    # the reading after the jump falls back by the same amount: same burst, one alert
    assert alert.count == 2
    assert alert.last_ts is not None
    assert alert.last_ts > alert.ts
    assert [e.operation for e in alert.evidence] == ["read-holding-registers"] * 2
    assert found.emitted[0].alert_id == alert.alert_id  # announced at once, then updated


def test_a_rogue_write_is_modify_parameter(tmp_path: Path) -> None:
    found = run([plant(tmp_path, "write.pcap", jump=False, write=True)],
                ProcessValueDetector(CONFIG))
    alert, after = found.alerts
    assert (alert.technique_id, alert.technique) == ("T0836", "Modify Parameter")
    assert (alert.src_ip, alert.dst_ip, alert.severity) == (ATK, PLC2, "high")
    assert "holding register 1 on 192.0.2.11 unit 1" in alert.explanation.lower()
    assert "(written by 192.0.2.66)" in alert.explanation
    assert "learned range 200-200" in alert.explanation
    # this PLC ignored the write: its next reading, back at 200, is a jump from the 5000 just
    # written; reported, not written, so no technique
    assert after.explanation.startswith("Holding register 1 on 192.0.2.11 unit 1 jumped from "
                                        "5000 to 200")
    assert (after.src_ip, after.technique_id, after.severity) == (PLC2, "", "medium")


def test_normal_values_raise_nothing(tmp_path: Path) -> None:
    det = ProcessValueDetector(CONFIG)
    found = run([plant(tmp_path, "calm.pcap", jump=False, write=False)], det)
    assert found.alerts == []
    counts = det.stats.values
    assert min(counts["learn"], counts["calibrate"], counts["detect"]) > 0
    assert all(t.fitted for t in det.thresholds)


def test_saved_state_continues_like_one_run(tmp_path: Path) -> None:
    cap = capture(jump=True, write=True)
    first = cap.save(tmp_path / "a.pcap", end=320.0)
    second = cap.save(tmp_path / "b.pcap", start=320.0)
    whole = run([first, second], ProcessValueDetector(CONFIG)).alerts
    det = ProcessValueDetector(CONFIG)
    run([first], det)
    det.save(str(tmp_path / "state"))
    loaded = ProcessValueDetector.load(str(tmp_path / "state"))
    resumed = run([second], loaded).alerts
    assert [(a.alert_id, a.ts, a.count, a.explanation) for a in resumed] == [
        (a.alert_id, a.ts, a.count, a.explanation) for a in whole]
    assert len(whole) == 3


def test_registers_first_seen_after_learning_are_counted_not_scored(tmp_path: Path) -> None:
    cap = Capture()
    polling(cap, 0.0, 400.0)
    cap.read(350.0, HMI, PLC, 5000, 40, [1, 2, 3], sport=40003)
    det = ProcessValueDetector(CONFIG)
    assert run([cap.save(tmp_path / "new.pcap")], det).alerts == []
    assert det.stats.unlearned == 3


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="learn_seconds > 0"):
        ProcessValueConfig(learn_seconds=0.0)
    with pytest.raises(ValueError, match="calibration_fraction < 1"):
        ProcessValueConfig(calibration_fraction=1.0)


def test_a_damaged_or_foreign_state_is_a_clear_error(tmp_path: Path) -> None:
    det = ProcessValueDetector(CONFIG)
    run([plant(tmp_path, "calm.pcap", jump=False, write=False)], det)
    det.save(str(tmp_path / "state"))
    doc = json.loads((tmp_path / "state.json").read_text())
    del doc["bank"]
    (tmp_path / "state.json").write_text(json.dumps(doc))
    with pytest.raises(StateError, match="incomplete or inconsistent"):
        ProcessValueDetector.load(str(tmp_path / "state"))
    (tmp_path / "state.npz").write_bytes(b"not a zip")
    with pytest.raises(StateError, match="cannot read"):
        ProcessValueDetector.load(str(tmp_path / "state"))
    AnomalyDetector().save(str(tmp_path / "packet"))
    with pytest.raises(StateError, match="not a process-values state"):
        ProcessValueDetector.load(str(tmp_path / "packet"))


def test_the_number_of_modelled_registers_is_bounded(tmp_path: Path) -> None:
    det = ProcessValueDetector(ProcessValueConfig(learn_seconds=300.0, max_series=2))
    run([plant(tmp_path, "calm.pcap", jump=False, write=False)], det)
    # register 12 of the PLC and registers 0-1 of PLC2: the third one is over the limit
    assert len(det.bank.keys) == 2
    assert det.stats.over_limit > 0
