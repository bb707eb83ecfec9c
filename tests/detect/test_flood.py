"""Connection and packet floods against the destination's own recent rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from otsight.alerts.serialize import alert_to_dict
from otsight.detect.keyindex import U64, KeyIndex
from otsight.detect.rules import flood
from otsight.detect.rules.flood import (
    NS,
    FloodDetector,
    FloodOptions,
    _hashed_groups,
    _sorted_groups,
)
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


# ----------------------------------------------------------------------------- counting paths
def _random_keys(rng: np.random.Generator, n: int, width: int, distinct: int) -> list[U64]:
    """``n`` rows of ``distinct`` keys: IPv4-mapped destinations (high word 0), a few IPv6
    ones, ports."""
    his = np.where(rng.random(distinct) < 0.8, 0, rng.integers(1, 1 << 62, distinct))
    los = np.where(his == 0, 0xFFFF_0000_0000 | rng.integers(0, 1 << 32, distinct),
                   rng.integers(0, 1 << 63, distinct))
    ports = rng.choice([502, 102, 80, 44818, 20000], distinct)
    pool = np.stack([his, los, ports], axis=1).astype(np.uint64)[:, :width]
    rows = pool[rng.integers(0, distinct, n)]
    return [np.ascontiguousarray(rows[:, j]) for j in range(width)]


@pytest.mark.parametrize("width", [1, 2, 3])
def test_key_index_codes_are_ranks_in_key_order(width: int) -> None:
    """Batch after batch (new keys joining), a key's code is its rank among every key seen,
    as sorting would give; keys beyond the bound are refused and the index starts over."""
    rng = np.random.default_rng(width)
    index = KeyIndex(width, max_keys=300)
    seen: set[tuple[int, ...]] = set()
    for batch in range(30):
        cols = _random_keys(rng, int(rng.integers(1, 3000)), width, int(rng.integers(1, 40)))
        rows = list(zip(*(c.tolist() for c in cols), strict=True))
        codes = index.codes(cols)
        if len(seen | set(rows)) > 300:
            assert codes is None
            assert len(index) == 0
            seen = set()
            continue
        seen |= set(rows)
        rank = {key: r for r, key in enumerate(sorted(seen))}
        assert codes is not None, batch
        assert codes.tolist() == [rank[key] for key in rows]
    if len(index):  # keys never added are never found, whichever slot they hash to
        absent = [np.arange(1 << 63, (1 << 63) + 5000, dtype=np.uint64)] * width
        assert not index.find(absent)[1].any()


@pytest.mark.parametrize("seed", range(6))
def test_hashed_groups_are_the_sorted_groups(seed: int) -> None:
    """Counting through the key index groups packets exactly as sorting them does: same
    groups in the same order, same first packet, same members in the same order (also for
    packets out of time order, and batches spanning many seconds); it declines only when
    there are too many (key, second) pairs to count in a table."""
    rng = np.random.default_rng(seed)
    width = 3 if seed % 2 else 2
    index = KeyIndex(width)
    declined = 0
    for _ in range(12):
        n = int(rng.integers(1, 4000))
        cols = _random_keys(rng, n, width, int(rng.integers(1, 60)))
        idx = np.sort(rng.choice(n * 2, n, replace=False)).astype(np.intp)
        seconds = int(rng.choice([1, 40, 500, 5000]))
        ts_ns = np.sort(rng.integers(0, seconds * NS, n)) + 1_767_225_600 * NS
        if seed >= 3:  # some packets out of order, some at the same time
            swap = rng.integers(0, n, n // 10)
            ts_ns[swap] = ts_ns[rng.integers(0, n, swap.shape[0])]
        bucket = (ts_ns // NS).astype(np.uint64)
        fast = _hashed_groups(index, idx, cols, bucket, ts_ns)
        slow = _sorted_groups(idx, np.stack(cols, axis=1), bucket, ts_ns)
        if fast is None:
            keys = len({tuple(row) for row in np.stack(cols, axis=1).tolist()})
            span = int(bucket.max() - bucket.min()) + 1
            assert keys * span > max(4 * n, 1 << 16)
            declined += 1
            continue
        for field in ("keys", "bucket", "counts", "first"):
            assert np.array_equal(getattr(fast, field), getattr(slow, field)), field
        for g in range(len(slow.counts)):
            assert np.array_equal(fast.members(g), slow.members(g))
    assert declined < 12


def _flood_capture(seed: int, path: Path) -> Path:
    """Bursts of SYNs and packets of varying strength at a few services of a small plant."""
    rng = np.random.default_rng(seed)
    cap = Capture()
    targets = [PLC, HMI, EWS, "192.0.2.40", "10.1.2.3"]
    for second in range(60):
        for _ in range(int(rng.integers(0, 40))):
            src = f"198.51.100.{int(rng.integers(1, 30))}"
            dst = targets[int(rng.integers(0, len(targets)))]
            t = second + float(rng.random())
            if rng.random() < 0.5:
                cap.tcp(t, src, dst, int(rng.integers(1024, 65535)),
                        int(rng.choice([502, 102, 80])), flags="S")
            else:
                cap.udp(t, src, dst, 40000, 9, b"x")
        if rng.random() < 0.2:  # a burst
            dst = targets[int(rng.integers(0, len(targets)))]
            for k in range(int(rng.integers(20, 200))):
                cap.tcp(second + k / 400, ATK, dst, 20000 + k, 502, flags="S")
    return cap.write(path)


@pytest.mark.parametrize("seed", range(3))
def test_flood_alerts_do_not_depend_on_the_counting_path(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The detector with its key index gives the alerts it gives sorting every batch."""
    path = _flood_capture(seed, tmp_path / "bursts.pcap")
    options = FloodOptions(min_connections=8, min_packets=40, factor=2.0, window_s=2,
                           half_life_s=20.0, min_history_s=5.0, floor_share=0.2)

    def alerts(batch_frames: int) -> list[dict[str, object]]:
        stage = DetectionStage([FloodDetector(options)], keep_raw=True)
        assert run_files([str(path)], build_stages([stage]), batch_frames=batch_frames).ok
        return [alert_to_dict(a) for a in stage.raw or []]

    hashed = [alerts(size) for size in (37, 1 << 16)]
    monkeypatch.setattr(flood, "_hashed_groups", lambda *args: None)
    assert hashed == [alerts(size) for size in (37, 1 << 16)]
    assert len(hashed[0]) >= 3
