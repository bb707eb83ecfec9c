"""Host sweeps and port scans counted from failed probes, fast and slow."""

from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from otsight.alerts.model import Alert
from otsight.alerts.serialize import alert_to_dict
from otsight.capture.writer import PcapWriter
from otsight.detect.rules.scan import ScanDetector, ScanOptions
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files
from otsight.testing.packets import IPPROTO_TCP, IPPROTO_UDP, ipv4, udp

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


# ----------------------------------------------------------------------------- answered probes
def _busy_capture(seed: int, path: Path, shuffle: bool) -> Path:
    """Clients connecting to servers (answered in time, late, refused, or not at all, often
    the same service again, now and then many at once), pings, UDP probes met by port
    unreachable, a connection both answered and reported unreachable, SYN+RST oddities and a
    scanner; with ``shuffle`` some neighbouring packets swap places (time goes back)."""
    rng = random.Random(seed)
    cap = Capture()
    clients = [HMI, "192.0.2.21", "192.0.2.22", ATK]  # the first two seldom fail
    servers = [PLC, "192.0.2.11", "192.0.2.12", "192.0.2.13"]
    t = 1.0
    for _ in range(1500):
        t += rng.expovariate(40.0)
        src, dst = rng.choice(clients), rng.choice(servers)
        sport, port = rng.randrange(1024, 65535), rng.choice([502, 102, 80, 20000])
        what = rng.random()
        if what < 0.55:
            _syn(cap, t, src, dst, sport, port)
            fate = rng.random() * (0.8 if src in clients[:2] and rng.random() < 0.97 else 1)
            delay = rng.choice([0.001, 0.01, 0.3, 0.49] * 5 + [0.6])
            if src not in clients[:2]:
                delay = rng.choice([delay, 0.7, 2.0])
                if rng.random() < 0.1:
                    _syn(cap, t + delay / 2, src, dst, sport, port)  # a retry
            if rng.random() < 0.03:  # an ICMP error for it too, before any answer
                head = struct.pack("!HHIIHHHH", sport, port, 0, 0, 0x5002, 0, 0, 0)
                cap.port_unreachable(t + delay / 2, dst, src, ipv4(src, dst, IPPROTO_TCP, head))
            if fate < 0.75:
                _syn_ack(cap, t + delay, dst, src, port, sport)
            elif fate < 0.9:
                _rst(cap, t + delay, dst, src, port, sport)
        elif what < 0.75:
            cap.ping(t, src, dst)
            if src in clients[:2] or rng.random() < 0.8:
                cap.ping(t + rng.choice([0.001, 0.2, 0.8][: 2 + (src in clients[2:])]), dst, src,
                         reply=True)
        elif what < 0.85 and src in clients[2:]:
            probe = udp(40000, port, b"", src_ip=src, dst_ip=dst)
            cap.udp(t, src, dst, 40000, port, b"")
            cap.port_unreachable(t + 0.002, dst, src, ipv4(src, dst, IPPROTO_UDP, probe))
        elif what < 0.9 and src in clients[2:]:
            cap.tcp(t, src, dst, sport, port, flags="SR")
        elif what < 0.92:  # many at once, all answered in time
            for k in range(15):
                _syn(cap, t + k * 0.001, HMI, _host(k), 3000 + k, 502)
                _syn_ack(cap, t + 0.2 + k * 0.001, _host(k), HMI, 502, 3000 + k)
        else:
            _syn(cap, t, ATK, _host(rng.randrange(40)), 50000, rng.choice([502, 102, 23]))
    if not shuffle:
        return cap.write(path)
    frames = sorted(cap.frames, key=lambda item: item[0])
    for i in range(0, len(frames) - 1, 2):
        if rng.random() < 0.2:
            frames[i], frames[i + 1] = frames[i + 1], frames[i]
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        for when, frame in frames:
            writer.write(frame, round((T0 + when) * 1e9))
    return path


@pytest.mark.parametrize(("seed", "shuffle"), [(0, False), (1, False), (2, True)])
@pytest.mark.parametrize("bounds", [{}, {"max_pending": 12}, {"max_sources": 3}])
def test_probes_answered_in_time_change_no_verdict(
    seed: int, shuffle: bool, bounds: dict[str, int], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Taking the probes a batch answers in time out of the probe-by-probe walk gives the
    alerts (and the dropped counts) of walking every probe and answer, wherever batches are
    cut, also with time going back now and then and with memory bounds reached."""
    path = _busy_capture(seed, tmp_path / "busy.pcap", shuffle)
    options = ScanOptions(grace_s=0.5, fast_hosts=3, fast_pairs=4, slow_hosts=6,
                          slow_pairs=10, **bounds)
    taken = []
    answered_in_time = ScanDetector._answered_in_time

    def spy(self: ScanDetector, *args: Any) -> npt.NDArray[np.bool_]:
        fast = answered_in_time(self, *args)
        taken.append(int(fast.sum()))
        return fast

    monkeypatch.setattr(ScanDetector, "_answered_in_time", spy)
    fast = _verdicts(path, options, monkeypatch, (7, 100, 1 << 16))
    assert sum(taken) > (0 if bounds else 150) or "max_sources" in bounds
    _walk_every_probe(monkeypatch)
    assert fast == _verdicts(path, options, monkeypatch, (7, 100, 1 << 16))
    assert all(len(raw) >= 5 for raw, _, _ in fast)
    assert bool(bounds) == all(dropped > 0 for _, dropped, _ in fast)


Judged = tuple[float, int, float, str, tuple[int, int], tuple[int, int, int, int]]
Verdicts = list[tuple[list[dict[str, object]], int, list[list[Judged]]]]


def _verdicts(path: Path, options: ScanOptions, monkeypatch: pytest.MonkeyPatch,
              sizes: tuple[int, ...]) -> Verdicts:
    """Per batch size: the raw alerts, the dropped count, and the failures each decision
    (end of batch) judged, in the order judged."""
    decide = ScanDetector._decide
    judged: list[list[Judged]] = []

    def spy(self: ScanDetector, everything: bool = False) -> list[Alert]:
        self._expire(everything)  # (again in _decide: a no-op then)
        judged.append(sorted((f.decided, f.probe.frame, f.probe.ts, f.how, f.source, f.pair)
                             for f in self._failures))
        return decide(self, everything)

    monkeypatch.setattr(ScanDetector, "_decide", spy)
    out: Verdicts = []
    for batch_frames in sizes:
        judged = []
        detector = ScanDetector(options)
        stage = DetectionStage([detector], keep_raw=True)
        assert run_files([str(path)], build_stages([stage]), batch_frames=batch_frames).ok
        out.append(([alert_to_dict(a) for a in stage.raw or []], detector.dropped, judged))
    monkeypatch.setattr(ScanDetector, "_decide", decide)
    return out


def _walk_every_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shortcut for probes answered in time: every probe and answer walked one by one."""
    monkeypatch.setattr(ScanDetector, "_answered_in_time",
                        lambda self, view, rows, *args: np.zeros(rows.shape[0], np.bool_))


@pytest.mark.parametrize("case", ["back-in-batch", "back-across-batches"])
def test_an_answered_probe_still_fails_a_retry_sent_at_its_very_time(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe answered in time leaves an entry in its source's queue; when time goes back,
    a later probe of the same target with the same timestamp is failed as that entry is
    reached, while a younger entry can hold up its own. Leaving such entries out (the
    shortcut) must keep that timing: batches of five packets, as laid out here."""
    quiet = ("192.0.2.70", "192.0.2.71")

    def filler(t: float) -> None:
        cap.udp(t, *quiet, 40000, 9, b"x")

    cap = Capture()
    if case == "back-in-batch":
        _syn(cap, 1.0, HMI, PLC, 1000, 502)  # answered: its entry is old at the batch's end
        _syn_ack(cap, 1.01, PLC, HMI, 502, 1000)
        _syn(cap, 1.9, HMI, PLC, 1001, 102)  # answered, young: holds up what follows
        _syn_ack(cap, 1.91, PLC, HMI, 102, 1001)
        _syn(cap, 1.0, HMI, PLC, 1002, 502)  # never answered, at the first probe's time
        filler(2.0)
    else:
        _syn(cap, 0.5, HMI, PLC, 999, 23)  # refused: the source stays (a recent failure)
        _rst(cap, 0.51, PLC, HMI, 23, 999)
        for _ in range(3):
            filler(0.6)
        _syn(cap, 1.85, HMI, PLC, 998, 80)  # answered, young at this batch's end
        _syn_ack(cap, 1.86, PLC, HMI, 80, 998)
        for _ in range(3):
            filler(1.95)
        _syn(cap, 1.0, HMI, PLC, 1000, 502)  # back in time: answered at once, old
        _syn_ack(cap, 1.0, PLC, HMI, 502, 1000)
        for _ in range(3):
            filler(1.6)
        _syn(cap, 2.3, HMI, PLC, 1001, 102)  # answered, young: holds up what follows
        _syn_ack(cap, 2.31, PLC, HMI, 102, 1001)
        _syn(cap, 1.0, HMI, PLC, 1002, 502)  # never answered, at the answered one's time
        filler(2.4)
        filler(2.4)
    filler(10.0)
    path = tmp_path / "back.pcap"
    with path.open("wb") as fh:  # in the order made, not by time
        writer = PcapWriter(fh)
        for when, frame in cap.frames:
            writer.write(frame, round((T0 + when) * 1e9))
    options = ScanOptions(grace_s=0.5)
    fast = _verdicts(path, options, monkeypatch, (5,))
    _walk_every_probe(monkeypatch)
    walked = _verdicts(path, options, monkeypatch, (5,))
    assert fast == walked
    judged = [[(how, round(decided - T0, 6)) for decided, _, _, how, *_ in batch]
              for batch in walked[0][2]]
    # the retry fails as the answered probe's entry is reached: with its batch, or (queue
    # held up by an entry of an earlier batch) two batches later
    failed_with = 0 if case == "back-in-batch" else 3
    assert judged[failed_with] == [("no answer", 1.5)]
    assert sum(len(batch) for batch in judged) == (1 if case == "back-in-batch" else 2)
