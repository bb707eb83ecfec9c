"""Alert ids, and folding repeats into one alert."""

from __future__ import annotations

import dataclasses

import pytest

from otsight.alerts.dedup import Deduplicator, deduplicate
from otsight.alerts.factory import alert_id, new_alert
from otsight.alerts.model import Alert, AlertEvidence


def _alert(ts: float, frame: int, *, kind: str = "plc-stop", dst: str = "192.0.2.10",
           severity: str = "high") -> Alert:
    return new_alert(
        detector="ot-commands", kind=kind, severity=severity, title="t", explanation="e",
        technique_id="T0858", ts=ts, frame=frame, src_ip="192.0.2.66", dst_ip=dst,
        evidence=(AlertEvidence(ts, frame, 1, "s7comm", "plc-stop"),),
    )


def test_alert_id_is_deterministic_and_depends_on_what_makes_the_alert() -> None:
    a = alert_id("scan", "port-scan", ("192.0.2.66", None), 10, 100.0)
    assert a == alert_id("scan", "port-scan", ("192.0.2.66", None), 10, 100.0)
    assert len(a) == 20
    others = {
        alert_id("scan", "host-sweep", ("192.0.2.66", None), 10, 100.0),
        alert_id("scan", "port-scan", ("192.0.2.67", None), 10, 100.0),
        alert_id("scan", "port-scan", ("192.0.2.66", None), 11, 100.0),
        alert_id("scan", "port-scan", ("192.0.2.66", None), 10, 101.0),
    }
    assert a not in others
    assert len(others) == 4


def test_new_alert_fills_technique_and_checks_severity() -> None:
    alert = _alert(100.0, 5)
    assert (alert.technique, alert.last_ts, alert.detected_ts) == ("Change Operating Mode",
                                                                   100.0, 100.0)
    with pytest.raises(ValueError, match="severity"):
        _alert(1.0, 1, severity="urgent")
    with pytest.raises(ValueError, match="T0001"):
        new_alert(detector="d", kind="k", severity="low", title="t", explanation="e",
                  technique_id="T0001", ts=1.0, frame=1)


def test_repeats_within_the_window_merge_and_a_quiet_gap_opens_a_new_alert() -> None:
    raw = [_alert(100.0, 1), _alert(150.0, 9), _alert(160.0, 12, severity="critical"),
           _alert(1000.0, 80), _alert(155.0, 10, dst="192.0.2.11")]
    merged = deduplicate(raw, window_s=300.0)
    assert [(a.ts, a.dst_ip, a.count, a.last_ts, a.severity) for a in merged] == [
        (100.0, "192.0.2.10", 3, 160.0, "critical"),
        (155.0, "192.0.2.11", 1, 155.0, "high"),
        (1000.0, "192.0.2.10", 1, 1000.0, "high"),
    ]
    assert merged[0].alert_id == raw[0].alert_id  # the first occurrence names the alert
    assert [e.frame for e in merged[0].evidence] == [1, 9, 12]


def test_evidence_is_bounded_keeping_the_first_items_and_the_latest() -> None:
    dedup = Deduplicator(window_s=10.0, max_evidence=4)
    opened = [dedup.add(_alert(100.0 + i, i + 1)) for i in range(50)]
    assert opened == [True] + [False] * 49
    (alert,) = dedup.alerts()
    assert alert.count == 50
    assert [e.frame for e in alert.evidence] == [1, 2, 3, 50]


def test_counts_of_merged_alerts_add_up() -> None:
    first = dataclasses.replace(_alert(1.0, 1), count=3)
    (alert,) = deduplicate([first, dataclasses.replace(_alert(2.0, 2), count=4)])
    assert alert.count == 7


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="window_s"):
        Deduplicator(window_s=-1)
    with pytest.raises(ValueError, match="max_evidence"):
        Deduplicator(max_evidence=0)
