"""Packet-level detector (features + KitNET) on a hand-made plant with a scan in it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from otsight.alerts.model import Alert
from otsight.detect.anomaly.detector import AnomalyDetector, PacketAnomalyConfig

from .plant import ATK, PLC, PLC2, T0, Capture, polling, run

CONFIG = PacketAnomalyConfig(learn_packets=None, learn_seconds=300.0)
SCAN_AT = 350.0


@cache
def capture(scan: bool) -> Capture:
    cap = Capture()
    polling(cap, 0.0, 420.0)
    if scan:  # 150 SYN probes to PLC ports within 1.5 s from a host never seen
        for i in range(150):
            cap.tcp(SCAN_AT + i * 0.01, ATK, PLC if i % 2 else PLC2, 45000, 1 + i, flags="S")
    return cap


def summary(alerts: list[Alert]) -> list[tuple[str, float, float | None, int, str | None]]:
    return [(a.alert_id, a.ts, a.last_ts, a.count, a.src_ip) for a in alerts]


def test_a_scan_from_a_new_host_is_one_alert_with_its_span(tmp_path: Path) -> None:
    det = AnomalyDetector(CONFIG)
    found = run([capture(scan=True).save(tmp_path / "scan.pcap")], det)
    from_attacker = [a for a in found.alerts if a.src_ip == ATK]
    assert len(from_attacker) == 1
    alert = from_attacker[0]
    assert T0 + SCAN_AT <= alert.ts <= T0 + SCAN_AT + 0.05
    assert alert.last_ts is not None
    assert alert.last_ts >= T0 + SCAN_AT + 1.0
    assert alert.count >= 100
    assert (alert.detector, alert.technique_id, alert.protocol) == ("packet-anomaly", "", "tcp")
    assert alert.src_mac == "b8:27:eb:9d:3e:66"
    assert "Statistics that deviated most:" in alert.explanation
    assert 1 <= len(alert.evidence) <= 8
    assert alert.evidence[0].operation == "anomalous-packet"
    assert "192.0.2.66 -> 192.0.2." in alert.evidence[0].detail
    assert all(a.ts >= T0 + SCAN_AT for a in found.alerts)  # nothing before the scan
    stats = det.stats
    assert min(stats.packets["map"], stats.packets["calibrate"]) > 0
    assert stats.threshold_from.startswith("calibration")


def test_the_same_plant_without_the_scan_raises_nothing(tmp_path: Path) -> None:
    det = AnomalyDetector(CONFIG)
    found = run([capture(scan=False).save(tmp_path / "calm.pcap")], det)
    assert found.alerts == []
    assert det.stats.packets["detect"] > 400


def test_same_input_same_alerts(tmp_path: Path) -> None:
    path = capture(scan=True).save(tmp_path / "scan.pcap")
    one = run([path], AnomalyDetector(CONFIG)).alerts
    two = run([path], AnomalyDetector(CONFIG)).alerts
    assert one
    assert summary(one) == summary(two)


def test_saved_state_continues_like_one_run(tmp_path: Path) -> None:
    cap = capture(scan=True)
    first = cap.save(tmp_path / "a.pcap", end=320.0)
    second = cap.save(tmp_path / "b.pcap", start=320.0)
    whole = run([first, second], AnomalyDetector(CONFIG)).alerts
    det = AnomalyDetector(CONFIG)
    run([first], det)
    det.save(str(tmp_path / "state"))
    loaded = AnomalyDetector.load(str(tmp_path / "state"))
    assert not loaded.learning
    assert loaded.threshold.value == det.threshold.value
    resumed = run([second], loaded).alerts
    assert whole
    assert summary(resumed) == summary(whole)


def test_resume_restarts_statistics_with_a_quiet_warm_up(tmp_path: Path) -> None:
    det = AnomalyDetector(CONFIG)
    run([capture(scan=False).save(tmp_path / "learn.pcap", end=320.0)], det)
    det.save(str(tmp_path / "state"))
    loaded = AnomalyDetector.load(str(tmp_path / "state"))
    assert loaded.resume(warmup_s=5.0) == []
    found = run([capture(scan=True).save(tmp_path / "later.pcap", start=340.0)], loaded)
    assert loaded.stats.warmup > 0  # packets of the first 5 s were scored, not alerted
    assert [a.src_ip for a in found.alerts if a.src_ip == ATK] == [ATK]
    with pytest.raises(ValueError, match="warmup_s"):
        loaded.resume(warmup_s=-1.0)


def test_learning_by_packet_count_and_bad_settings(tmp_path: Path) -> None:
    det = AnomalyDetector(PacketAnomalyConfig(learn_packets=1000))
    run([capture(scan=False).save(tmp_path / "calm.pcap")], det)
    counts = det.stats.packets
    assert counts["map"] + counts["train"] + counts["calibrate"] == 1000
    assert counts["calibrate"] == 200
    with pytest.raises(ValueError, match="set learn_packets or learn_seconds"):
        PacketAnomalyConfig(learn_packets=None, learn_seconds=None)
    with pytest.raises(ValueError, match="calibration_fraction"):
        PacketAnomalyConfig(calibration_fraction=0.0)


def test_ending_learning_without_data_disables_alerting() -> None:
    det = AnomalyDetector(CONFIG)
    det.end_learning()
    assert det.threshold.value == float("inf")
    assert "disabled" in det.stats.threshold_from
