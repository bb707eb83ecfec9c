"""Bursts: one alert per burst, emitted at once, updated under the same id when it closes."""

from __future__ import annotations

from otsight.alerts.model import Alert, AlertEvidence
from otsight.detect.anomaly.grouping import Burst, BurstGrouper, alert_id


def render(burst: Burst) -> Alert:
    return Alert(
        alert_id=alert_id("t", "k", burst.key, burst.first_frame, burst.first_ts),
        ts=burst.first_ts, detector="t", kind="k", severity="low", title=str(burst.key),
        explanation="", technique_id="", technique="", last_ts=burst.last_ts,
        count=burst.count, evidence=tuple(burst.evidence),
    )


def ev(ts: float, frame: int) -> AlertEvidence:
    return AlertEvidence(ts=ts, frame=frame, flow_id=None, protocol="tcp", operation="x")


def test_a_burst_is_announced_at_once_and_closed_with_its_span() -> None:
    g = BurstGrouper(gap_s=2.0, render=render, max_evidence=3)
    first = g.add("a", 10.0, 10.5, 3, 100, 1.0, [ev(10.0, 100)], {})
    assert [(a.ts, a.count) for a in first] == [(10.0, 3)]
    assert g.add("a", 11.0, 11.2, 2, 110, 5.0, [ev(11.0, 110), ev(11.1, 111), ev(11.2, 112)],
                 {}) == []
    assert g.expire(13.0) == []  # 1.8 s after the last anomaly: still open
    closed = g.expire(13.5)
    assert len(closed) == 1
    done = closed[0]
    assert done.alert_id == first[0].alert_id
    assert (done.ts, done.last_ts, done.count) == (10.0, 11.2, 5)
    assert [e.frame for e in done.evidence] == [100, 110, 111]  # capped at max_evidence
    assert g.open == {}


def test_a_gap_splits_bursts_and_keys_are_separate() -> None:
    g = BurstGrouper(gap_s=1.0, render=render)
    a1 = g.add("a", 0.0, 0.0, 1, 1, 1.0, [], {})
    b1 = g.add("b", 0.5, 0.5, 1, 2, 1.0, [], {})
    a2 = g.add("a", 5.0, 5.0, 1, 9, 1.0, [], {})  # closes the first "a" burst (count 1: no
    assert len(a1) == len(b1) == 1                 # update needed) and opens a new one
    assert len(a2) == 1
    assert a2[0].alert_id != a1[0].alert_id
    assert a1[0].alert_id != b1[0].alert_id
    rest = g.close_all()
    assert rest == []  # every burst of one anomaly was already complete


def test_ids_are_deterministic() -> None:
    assert alert_id("d", "k", ("x", 1), 5, 1.5) == alert_id("d", "k", ("x", 1), 5, 1.5)
    assert alert_id("d", "k", ("x", 1), 5, 1.5) != alert_id("d", "k", ("x", 1), 6, 1.5)
