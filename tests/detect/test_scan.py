"""Host sweeps and port scans counted from failed probes, fast and slow."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.detect.rules.scan import ScanDetector, ScanOptions
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files
from otsight.testing.packets import IPPROTO_UDP, ipv4, udp

from .builders import ATK, HMI, PLC, T0, Capture, detect, kinds, mac_of


def _host(n: int) -> str:
    return f"192.0.2.{100 + n}"


def _syn(cap: Capture, t: float, src: str, dst: str, sport: int, dport: int) -> None:
    cap.tcp(t, src, dst, sport, dport, flags="S")


def _rst(cap: Capture, t: float, src: str, dst: str, sport: int, dport: int) -> None:
    cap.tcp(t, src, dst, sport, dport, flags="RA")


def _syn_ack(cap: Capture, t: float, src: str, dst: str, sport: int, dport: int) -> None:
    cap.tcp(t, src, dst, sport, dport, flags="SA")


def test_syn_scan_of_closed_ports_is_a_port_scan(tmp_path: Path) -> None:
    cap = Capture()
    t = 1.0
    for host in range(4):
        for port in (502, 102, 44818, 20000):
            t += 0.001
            _syn(cap, t, ATK, _host(host), 50000, port)
            if port == 502 and host < 2:
                _syn_ack(cap, t + 0.0002, _host(host), ATK, port, 50000)
                cap.tcp(t + 0.0003, ATK, _host(host), 50000, port, flags="R")
            else:
                _rst(cap, t + 0.0002, _host(host), ATK, port, 50000)
    stage = detect([cap.write(tmp_path / "syn-scan.pcap")], [ScanDetector()])
    (alert,) = stage.alerts
    assert (alert.kind, alert.src_ip, alert.dst_ip, alert.technique_id) == (
        "port-scan", ATK, None, "T0846")
    assert alert.ts == pytest.approx(T0 + 1.002, abs=1e-6)  # the first failed probe (1.001: open)
    assert alert.detected_ts is not None
    assert alert.detected_ts - alert.ts < 0.1  # rejections decide at once
    assert "rejected (RST)" in alert.evidence[0].detail
    assert {e.frame for e in alert.evidence} <= set(range(1, 100))


def test_arp_sweep_of_a_subnet_is_a_host_sweep_decided_after_the_grace(tmp_path: Path) -> None:
    cap = Capture()
    for n in range(40):
        cap.arp_request(2.0 + n * 0.001, ATK, _host(n))
    cap.arp_reply(2.01, mac_of(_host(3)), _host(3), ATK)  # one host answers
    stage = detect([cap.write(tmp_path / "arp-sweep.pcap")], [ScanDetector()])
    raw = stage.raw or []
    assert kinds(raw) == ["host-sweep", "host-sweep"]  # 10 hosts, then 20 more (doubled)
    first = raw[0]
    assert first.src_ip == ATK
    assert first.detected_ts == pytest.approx(T0 + 2.0 + 10 * 0.001 + 1.0, abs=0.002)
    assert all("no answer" in e.detail for e in first.evidence)
    assert len(stage.alerts) == 1
    assert stage.alerts[0].count == 2


def test_unanswered_syns_to_many_hosts_on_one_port_is_a_sweep(tmp_path: Path) -> None:
    cap = Capture()
    for n in range(12):
        _syn(cap, 1.0 + n * 0.01, ATK, _host(n), 50000 + n, 502)
    cap.ping(5.0, HMI, PLC)  # traffic moves packet time past the grace
    stage = detect([cap.write(tmp_path / "tcp-sweep.pcap")], [ScanDetector()])
    assert kinds(stage.alerts) == ["host-sweep"]


def test_icmp_echo_sweep_with_replies_from_live_hosts(tmp_path: Path) -> None:
    cap = Capture()
    for n in range(15):
        cap.ping(1.0 + n * 0.01, ATK, _host(n))
        if n % 5 == 0:
            cap.ping(1.0 + n * 0.01 + 0.001, _host(n), ATK, reply=True)
    cap.ping(4.0, HMI, PLC)
    stage = detect([cap.write(tmp_path / "ping-sweep.pcap")], [ScanDetector()])
    (alert,) = stage.alerts
    assert (alert.kind, alert.protocol) == ("host-sweep", "icmp")


def test_udp_scan_seen_through_port_unreachable(tmp_path: Path) -> None:
    cap = Capture()
    for n, port in enumerate(range(160, 175)):
        probe = udp(40000, port, b"", src_ip=ATK, dst_ip=PLC)
        quoted = ipv4(ATK, PLC, IPPROTO_UDP, probe)
        cap.udp(1.0 + n * 0.01, ATK, PLC, 40000, port, b"")
        cap.port_unreachable(1.0 + n * 0.01 + 0.001, PLC, ATK, quoted)
    stage = detect([cap.write(tmp_path / "udp-scan.pcap")], [ScanDetector()])
    (alert,) = stage.alerts
    assert (alert.kind, alert.src_ip) == ("port-scan", ATK)
    assert "unreachable" in alert.evidence[0].detail


def test_slow_scan_is_caught_by_the_long_window(tmp_path: Path) -> None:
    cap = Capture()
    opts = ScanOptions(fast_pairs=10, slow_pairs=30)
    for n in range(32):  # one rejected probe every 30 s: never 10 within a minute
        t = 1.0 + n * 30.0
        _syn(cap, t, ATK, PLC, 50000, 1000 + n)
        _rst(cap, t + 0.001, PLC, ATK, 1000 + n, 50000)
    stage = detect([cap.write(tmp_path / "slow.pcap")], [ScanDetector(opts)])
    (alert,) = stage.alerts
    assert alert.kind == "port-scan"
    assert "(slow)" in alert.title
    assert alert.detected_ts == pytest.approx(T0 + 1.0 + 29 * 30.0 + 0.001, abs=1e-3)


def test_connections_that_succeed_or_fail_rarely_are_quiet(tmp_path: Path) -> None:
    cap = Capture()
    for n in range(40):  # a SCADA server connecting to 40 live RTUs at start-up
        _syn(cap, 1.0 + n * 0.01, HMI, _host(n), 40000 + n, 502)
        _syn_ack(cap, 1.0 + n * 0.01 + 0.002, _host(n), HMI, 502, 40000 + n)
    for n in range(5):  # and a client whose server is down, retrying
        _syn(cap, 3.0 + n, "192.0.2.21", PLC, 41000 + n, 502)
        _rst(cap, 3.0 + n + 0.001, PLC, "192.0.2.21", 502, 41000 + n)
    for n in range(8):  # a few failures across ports, below the threshold
        _syn(cap, 10.0 + n * 0.01, ATK, _host(n % 3), 50000, 80 + n)
        _rst(cap, 10.0 + n * 0.01 + 0.001, _host(n % 3), ATK, 80 + n, 50000)
    for n in range(9):  # a host asking ARP for 9 absent neighbours
        cap.arp_request(20.0 + n, PLC, _host(50 + n))
    cap.ping(40.0, HMI, PLC)
    stage = detect([cap.write(tmp_path / "quiet.pcap")], [ScanDetector()])
    assert stage.alerts == []


def test_memory_bounds_are_counted_skips(tmp_path: Path) -> None:
    cap = Capture()
    for n in range(30):
        _syn(cap, 1.0 + n * 0.01, f"198.51.100.{n}", PLC, 40000, 502)  # 30 sources
    detector = ScanDetector(ScanOptions(max_sources=10))
    stage = detect([cap.write(tmp_path / "many.pcap")], [detector])
    assert stage.dropped == {"scan": 20}


def _scan_with_late_answers(cap: Capture, late: bool) -> None:
    """12 SYNs to one port; each answered (SYN-ACK) 0.5 s or, if ``late``, 3 s after."""
    for n in range(12):
        t = 1.0 + n * 0.01
        _syn(cap, t, ATK, _host(n), 50000 + n, 502)
        _syn_ack(cap, t + (3.0 if late else 0.5), _host(n), ATK, 502, 50000 + n)
    cap.ping(20.0, HMI, PLC)


@pytest.mark.parametrize("batch_frames", [1, 5, 1 << 16])
def test_an_answer_after_the_grace_time_is_a_failure_wherever_batches_end(
    tmp_path: Path, batch_frames: int
) -> None:
    cap = Capture()
    _scan_with_late_answers(cap, late=True)
    stage = DetectionStage([ScanDetector()])
    assert run_files([str(cap.write(tmp_path / "late.pcap"))], build_stages([stage]),
                     batch_frames=batch_frames).ok
    assert kinds(stage.alerts) == ["host-sweep"]
    cap = Capture()
    _scan_with_late_answers(cap, late=False)
    stage = DetectionStage([ScanDetector()])
    assert run_files([str(cap.write(tmp_path / "in-time.pcap"))], build_stages([stage]),
                     batch_frames=batch_frames).ok
    assert stage.alerts == []


@pytest.mark.parametrize("batch_frames", [1, 3, 1 << 16])
def test_a_retry_after_the_grace_time_is_a_new_probe(tmp_path: Path, batch_frames: int) -> None:
    """Each of 6 hosts gets a SYN, no answer, and a retry 2 s later that is answered: the first
    SYNs failed (6 hosts), whether or not a batch ended between SYN and retry."""
    cap = Capture()
    for n in range(6):
        _syn(cap, 1.0 + n * 0.01, ATK, _host(n), 50000 + n, 502)
    for n in range(6):
        _syn(cap, 3.0 + n * 0.01, ATK, _host(n), 50000 + n, 502)
        _syn_ack(cap, 3.001 + n * 0.01, _host(n), ATK, 502, 50000 + n)
    cap.ping(20.0, HMI, PLC)
    stage = DetectionStage([ScanDetector(ScanOptions(fast_hosts=6))])
    assert run_files([str(cap.write(tmp_path / "retry.pcap"))], build_stages([stage]),
                     batch_frames=batch_frames).ok
    assert kinds(stage.alerts) == ["host-sweep"]
    assert all("no answer" in e.detail for e in stage.alerts[0].evidence)


@pytest.mark.parametrize("batch_frames", [4, 1 << 16])
def test_a_source_quiet_for_a_slow_window_starts_a_new_episode(
    tmp_path: Path, batch_frames: int
) -> None:
    """Two sweeps of 10 hosts 2 hours apart: the second is judged at the normal threshold
    again (not the doubled one of an episode still running), whatever the batch size."""
    cap = Capture()
    for start in (1.0, 7201.0):
        for n in range(10):
            _syn(cap, start + n * 0.01, ATK, _host(n), 50000 + n, 502)
        cap.ping(start + 30.0, HMI, PLC)
    stage = DetectionStage([ScanDetector()], keep_raw=True)
    assert run_files([str(cap.write(tmp_path / "two-sweeps.pcap"))], build_stages([stage]),
                     batch_frames=batch_frames).ok
    raw = stage.raw or []
    assert kinds(raw) == ["host-sweep", "host-sweep"]
    assert raw[1].ts == pytest.approx(T0 + 7201.0, abs=1e-6)
