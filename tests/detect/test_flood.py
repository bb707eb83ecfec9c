"""Connection and packet floods against the destination's own recent rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.detect.rules.flood import FloodDetector, FloodOptions
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files

from .builders import ATK, EWS, HMI, PLC, T0, Capture, detect, kinds, modbus_poll


def _normal(cap: Capture, seconds: int) -> None:
    for i in range(seconds):
        modbus_poll(cap, float(i), HMI, PLC, i + 1, 40001)
        if i % 6 == 0:
            cap.tcp(i + 0.5, EWS, PLC, 41000 + i, 502, flags="S")


def _connections(cap: Capture, start: float, count: int, seconds: float, src: str = ATK) -> None:
    for n in range(count):
        cap.tcp(start + n * seconds / count, src, PLC, 20000 + n, 502, flags="S")


def test_connection_flood_is_reported_once_within_a_second(tmp_path: Path) -> None:
    cap = Capture()
    _normal(cap, 60)
    _connections(cap, 30.0, 300, 3.0)
    stage = detect([cap.write(tmp_path / "syn-flood.pcap")], [FloodDetector()])
    (alert,) = stage.alerts
    assert (alert.kind, alert.src_ip, alert.dst_ip, alert.technique_id, alert.count) == (
        "connection-flood", ATK, PLC, "T0814", 1)
    assert alert.ts == pytest.approx(T0 + 30.0, abs=1e-6)
    assert alert.detected_ts is not None
    assert alert.detected_ts - alert.ts == pytest.approx(1.0, abs=0.02)  # the 100th attempt
    assert "502/tcp" in alert.title
    assert [e.operation for e in alert.evidence] == ["flood-start", "syn"]


def test_distributed_flood_names_no_single_source(tmp_path: Path) -> None:
    cap = Capture()
    for n in range(200):
        cap.tcp(10.0 + n * 0.01, f"198.51.100.{n % 50}", PLC, 30000 + n, 502, flags="S")
    stage = detect([cap.write(tmp_path / "ddos.pcap")], [FloodDetector()])
    (alert,) = stage.alerts
    assert alert.src_ip is None
    assert "from 50 sources" in alert.explanation


def test_busy_destination_is_judged_against_its_own_rate(tmp_path: Path) -> None:
    cap = Capture()
    for n in range(18 * 120):  # a busy service: 18 connections per second for two minutes
        cap.tcp(n / 18.0, HMI, PLC, 10000 + n % 50000, 8080, flags="S")
    for n in range(450):  # then 150 per second for 3 s: less than ten times its usual rate
        cap.tcp(120.0 + n / 150.0, HMI, PLC, 5000 + n, 8080, flags="S")
    stage = detect([cap.write(tmp_path / "busy.pcap")], [FloodDetector()])
    assert stage.alerts == []
    # the same burst towards a quiet service is a flood (the detector is not insensitive)
    cap2 = Capture()
    for n in range(450):
        cap2.tcp(120.0 + n / 150.0, HMI, PLC, 5000 + n, 8080, flags="S")
    assert kinds(detect([cap2.write(tmp_path / "quiet.pcap")], [FloodDetector()]).alerts) == [
        "connection-flood"]


def test_below_the_floor_and_normal_polling_are_quiet(tmp_path: Path) -> None:
    cap = Capture()
    _normal(cap, 60)
    _connections(cap, 30.0, 60, 3.0)  # 20 per second: below 100 per 5 s
    stage = detect([cap.write(tmp_path / "small.pcap")], [FloodDetector()])
    assert stage.alerts == []


def test_packet_flood_and_one_alert_per_episode(tmp_path: Path) -> None:
    cap = Capture()
    _normal(cap, 40)
    for episode in (10.0, 30.0):
        for n in range(3000):
            cap.udp(episode + n / 1000.0, ATK, PLC, 40000, 9, b"x")
    opts = FloodOptions(min_packets=2000)
    stage = detect([cap.write(tmp_path / "udp-flood.pcap")], [FloodDetector(opts)])
    raw = stage.raw or []
    assert kinds(raw) == ["packet-flood", "packet-flood"]  # two episodes, re-armed in between
    assert [round(a.ts - T0) for a in raw] == [10, 30]
    assert raw[0].src_ip == ATK


def test_floods_are_judged_the_same_wherever_batches_are_cut(tmp_path: Path) -> None:
    """A flood slow enough that each second, cut in pieces, falls under the tracking floor:
    the pieces of a second add up, so every batch size sees the same alert."""
    cap = Capture()
    _normal(cap, 20)
    for n in range(120):  # 15 a second for 8 s to another service: 75 per window, no flood
        cap.tcp(10.0 + n / 15.0, ATK, PLC, 40000 + n, 102, flags="S")
    _connections(cap, 30.0, 240, 8.0, src=EWS)  # 30 a second: crosses 100 in the 4th second
    path = cap.write(tmp_path / "slow-flood.pcap")
    seen = []
    for batch_frames in (3, 10, 1 << 16):
        stage = DetectionStage([FloodDetector(FloodOptions(floor_share=0.5))])
        assert run_files([str(path)], build_stages([stage]), batch_frames=batch_frames).ok
        seen.append([(a.alert_id, a.ts, a.detected_ts, a.src_ip, a.title) for a in stage.alerts])
    assert len(seen[0]) == 1
    assert seen[0][0][3] == EWS
    assert seen[0] == seen[1] == seen[2]
