"""Per-packet damped statistics: the compiled extractor against a slow pure-Python reference."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from otsight.decode.table import L3_ARP, L3_IPV4, L3_IPV6, PacketTable
from otsight.decode.view import BatchView
from otsight.detect.anomaly.features import FeatureExtractor, describe
from otsight.pipeline.fanout import Fanout
from otsight.pipeline.runner import analyze
from otsight.testing.corpus import shared_data

from .plant import ATK, HMI, PLC, Capture, polling

LAMBDAS = (5.0, 1.0, 0.1)
SMALL_CAPTURE = "pcaps/ITI_ICS-Security-Tools/ModbusTCP/Modbus/modbus_test.pcap"


class Views:
    """Keeps every batch's table, times and sizes (copies), as the pipeline batched them."""

    name = "views"

    def __init__(self) -> None:
        self.batches: list[tuple[PacketTable, npt.NDArray[np.int64], npt.NDArray[np.int32]]] = []

    def on_event(self, event: object) -> None:
        pass

    def on_batch(self, view: BatchView) -> None:
        table = PacketTable(**{f.name: getattr(view.table, f.name).copy()
                               for f in fields(PacketTable)})
        self.batches.append((table, view.batch.ts_ns.copy(), view.batch.wirelen.copy()))

    def on_flows(self, flows: object) -> None:
        pass

    def finish(self) -> None:
        pass


def batches_of(path: Path) -> Views:
    views = Views()
    analyze([str(path)], fanout=Fanout([views]))
    return views


def extract_all(views: Views, extractor: FeatureExtractor) -> npt.NDArray[np.float32]:
    return np.concatenate([extractor.extract(*b) for b in views.batches], axis=1)


# ----------------------------------------------------------------------------- reference

Address = tuple[int, int, int]  # (1, hi, lo) for an IP (ARP included), (2, 0, mac) otherwise


@dataclass
class SingleRecord:
    t: float
    sums: list[list[float]]  # per decay rate: w, ls, ss, wi, lsi, ssi


@dataclass
class PairRecord:
    t: float
    sums: list[list[list[float]]]  # per decay rate, per direction: the six sums
    joint: list[list[float]]  # per decay rate: sum of residual products, its weight
    residual: list[list[float]]  # per decay rate, per direction: last residual
    tdir: list[float] = field(default_factory=lambda: [0.0, 0.0])
    seen: list[bool] = field(default_factory=lambda: [False, False])


def _addresses(row: dict[str, int]) -> tuple[Address, Address, bool]:
    if row["l3"] in (L3_IPV4, L3_IPV6, L3_ARP):
        return (1, row["src_hi"], row["src_lo"]), (1, row["dst_hi"], row["dst_lo"]), True
    mask = 0xFFFFFFFFFFFF
    return (2, 0, row["src_mac"] & mask), (2, 0, row["dst_mac"] & mask), False


def reference(views: Views, lambdas: tuple[float, ...]) -> npt.NDArray[np.float64]:
    """Features x packets, one dict lookup and plain floats per packet and key."""
    single: dict[Hashable, SingleRecord] = {}
    pairs: dict[Hashable, PairRecord] = {}
    out: list[list[float]] = []
    t0: int | None = None
    for table, ts_ns, wirelen in views.batches:
        for i in range(len(table)):
            row = table.row(i)
            if t0 is None:
                t0 = int(ts_ns[i])
            t = (int(ts_ns[i]) - t0) / 1e9
            v = float(wirelen[i])
            src, dst, ip = _addresses(row)
            with_ports = ip and row["l3"] != L3_ARP and row["has_ports"]
            sp, dp = (row["sport"], row["dport"]) if with_ports else (0, 0)
            if ip and row["l3"] != L3_ARP:
                kind = (0, row["proto"])
            else:
                kind = (1, 0) if ip else (2, row["ethertype"])
            features: list[float] = []
            features += _single(single, ("mi", row["src_mac"], src), t, v, lambdas)
            features += _single(single, ("host", src), t, v, lambdas)
            a, b = sorted([src, dst])
            features += _pair(pairs, ("channel", a, b), src != a, t, v, lambdas)
            ea, eb = sorted([(src, sp), (dst, dp)])
            features += _pair(pairs, ("socket", ea, eb, kind), (src, sp) != ea, t, v, lambdas)
            out.append(features)
    return np.asarray(out, dtype=np.float64).T


def _decay(lam: float, dt: float) -> float:
    f = 2.0 ** (-lam * dt)
    return f if f >= 1e-30 else 0.0  # fully forgotten: exactly zero


def _mean_std(w: float, ls: float, ss: float) -> tuple[float, float]:
    if w <= 0:
        return 0.0, 0.0
    mean = ls / w
    var = ss / w - mean * mean
    return mean, math.sqrt(var) if var > 1e-9 * mean * mean else 0.0  # rounding noise is 0


def _single(
    table: dict[Hashable, SingleRecord], key: Hashable, t: float, v: float,
    lambdas: tuple[float, ...],
) -> list[float]:
    rec = table.get(key)
    new = rec is None
    if rec is None:
        rec = table[key] = SingleRecord(t, [[0.0] * 6 for _ in lambdas])
    dt = 0.0 if new else max(t - rec.t, 0.0)
    out: list[float] = []
    for lam, s in zip(lambdas, rec.sums, strict=True):
        f = _decay(lam, dt)
        for k in range(6):
            s[k] *= f
        s[0] += 1
        s[1] += v
        s[2] += v * v
        if not new:
            s[3] += 1
            s[4] += dt
            s[5] += dt * dt
        mean, std = _mean_std(s[0], s[1], s[2])
        imean, istd = _mean_std(s[3], s[4], s[5])
        out += [s[0], mean, std, imean, istd]
    rec.t = t if new else max(t, rec.t)
    return out


def _pair(
    table: dict[Hashable, PairRecord], key: Hashable, flipped: bool, t: float, v: float,
    lambdas: tuple[float, ...],
) -> list[float]:
    d, o = (1, 0) if flipped else (0, 1)
    rec = table.get(key)
    new = rec is None
    if rec is None:
        rec = table[key] = PairRecord(
            t, [[[0.0] * 6, [0.0] * 6] for _ in lambdas], [[0.0, 0.0] for _ in lambdas],
            [[0.0, 0.0] for _ in lambdas])
    dt = 0.0 if new else max(t - rec.t, 0.0)
    had = rec.seen[d]
    iat = max(t - rec.tdir[d], 0.0) if had else 0.0
    out: list[float] = []
    for j, lam in enumerate(lambdas):
        s, jt, res = rec.sums[j], rec.joint[j], rec.residual[j]
        f = _decay(lam, dt)
        for side in (0, 1):
            for k in range(6):
                s[side][k] *= f
        jt[0] *= f
        jt[1] *= f
        sd = s[d]
        sd[0] += 1
        sd[1] += v
        sd[2] += v * v
        if had:
            sd[3] += 1
            sd[4] += iat
            sd[5] += iat * iat
        mean, std = _mean_std(sd[0], sd[1], sd[2])
        imean, istd = _mean_std(sd[3], sd[4], sd[5])
        omean, ostd = _mean_std(s[o][0], s[o][1], s[o][2])
        r = v - mean
        jt[0] += r * res[o]
        jt[1] += 1
        res[d] = r
        cov = jt[0] / jt[1]
        den = std * ostd
        out += [sd[0], mean, std, imean, istd, math.hypot(mean, omean),
                math.sqrt(std * std + ostd * ostd), cov,
                min(max(cov / den, -1.0), 1.0) if den > 0 else 0.0]
    rec.t = t if new else max(t, rec.t)
    rec.tdir[d] = t if not had else max(t, rec.tdir[d])
    rec.seen[d] = True
    return out


# ----------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def plant_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cap = Capture()
    polling(cap, 0.0, 60.0)
    for port in range(20, 40):  # a few probes from a new host, out of order in time too
        cap.tcp(30.0 + port * 0.001, ATK, PLC, 50000, port, flags="S")
    cap.tcp(29.0, HMI, HMI, 1, 1)  # a packet to itself: both directions are one
    return cap.save(tmp_path_factory.mktemp("features") / "plant.pcap")


def test_features_match_the_reference_on_a_hand_made_plant(plant_capture: Path) -> None:
    views = batches_of(plant_capture)
    got = extract_all(views, FeatureExtractor(LAMBDAS, initial_rows=2))  # grows on the way
    want = reference(views, LAMBDAS)
    # 60 polls of 4 packets, 3 ARP pairs, 2 LLDP, 20 probes, 1 packet to itself
    assert got.shape == want.shape == (FeatureExtractor(LAMBDAS).n_features, 269)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_features_match_the_reference_on_a_real_capture() -> None:
    root = shared_data()
    if root is None or not (root / SMALL_CAPTURE).exists():
        pytest.skip(f"shared corpus not present (../shared/data/{SMALL_CAPTURE})")
    views = batches_of(root / SMALL_CAPTURE)
    got = extract_all(views, FeatureExtractor(LAMBDAS))
    want = reference(views, LAMBDAS)
    assert got.shape[1] > 2000
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_batch_boundaries_do_not_change_features(plant_capture: Path) -> None:
    views = batches_of(plant_capture)
    whole = extract_all(views, FeatureExtractor())
    table, ts, size = views.batches[0]
    split = FeatureExtractor()
    parts = []
    for a, b in ((0, 7), (7, 100), (100, len(table))):
        part = PacketTable(**{f.name: getattr(table, f.name)[a:b] for f in fields(PacketTable)})
        parts.append(split.extract(part, ts[a:b], size[a:b]))
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


def test_full_tables_are_purged_or_evicted_and_counted(plant_capture: Path) -> None:
    views = batches_of(plant_capture)
    small = FeatureExtractor(LAMBDAS, initial_rows=2, max_rows=4, idle_s=5.0)
    got = extract_all(views, small)
    assert np.isfinite(got).all()
    assert small.stats.evicted_rows + small.stats.purged_rows > 0
    assert all(int(t.count[0]) <= 4 for t in small.tables.values())
    again = extract_all(views, FeatureExtractor(LAMBDAS, initial_rows=2, max_rows=4, idle_s=5.0))
    assert np.array_equal(got, again)


def test_state_round_trip_continues_identically(plant_capture: Path) -> None:
    views = batches_of(plant_capture)
    table, ts, size = views.batches[0]
    half = len(table) // 2

    def part(a: int, b: int) -> tuple[PacketTable, npt.NDArray[np.int64],
                                      npt.NDArray[np.int32]]:
        return (PacketTable(**{f.name: getattr(table, f.name)[a:b]
                               for f in fields(PacketTable)}), ts[a:b], size[a:b])

    first = FeatureExtractor()
    first.extract(*part(0, half))
    arrays, meta = first.state()
    second = FeatureExtractor.from_state(arrays, meta)
    assert np.array_equal(second.extract(*part(half, len(table))),
                          first.extract(*part(half, len(table))))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="decay"):
        FeatureExtractor((1.0, 0.0))
    with pytest.raises(ValueError, match="initial_rows"):
        FeatureExtractor(initial_rows=8, max_rows=4)


def test_a_reused_output_buffer_gives_the_same_features(plant_capture: Path) -> None:
    views = batches_of(plant_capture)
    table, ts, size = views.batches[0]
    fresh = FeatureExtractor().extract(table, ts, size)
    extractor = FeatureExtractor()
    buf = np.full((extractor.n_features, len(table) + 5), np.nan, dtype=np.float32)
    assert np.array_equal(extractor.extract(table, ts, size, buf), fresh)
    with pytest.raises(ValueError, match="out must be"):
        FeatureExtractor().extract(table, ts, size, np.empty((3, len(table)), np.float32))


def test_worker_threads_give_the_same_features(plant_capture: Path) -> None:
    views = batches_of(plant_capture)
    threaded = FeatureExtractor(LAMBDAS, initial_rows=2, threads=2)
    try:
        got = extract_all(views, threaded)
    finally:
        threaded.close()
    assert np.array_equal(got, extract_all(views, FeatureExtractor(LAMBDAS, initial_rows=2)))
    assert threaded.stats.grown > 0
    with pytest.raises(ValueError, match="threads"):
        FeatureExtractor(threads=3)


def test_feature_names_read_as_plain_words() -> None:
    names = FeatureExtractor().feature_names()
    assert names[0] == "mi.weight.l5"
    assert describe("socket.iat_std.l5") == (
        "jitter of the gaps of this conversation (0.2 s half-life)")
    assert all(describe(n) for n in names)
