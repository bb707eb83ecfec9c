"""Incidents: alerts of one actor close in time, linked across IP and MAC."""

from __future__ import annotations

from otsight.alerts.factory import new_alert
from otsight.alerts.incidents import group_incidents
from otsight.alerts.model import Alert

ATK, ATK_MAC, PLC, HMI = "192.0.2.66", "b8:27:eb:9d:3e:66", "192.0.2.10", "192.0.2.20"


def _alert(ts: float, kind: str, *, src_ip: str | None = None, src_mac: str | None = None,
           dst_ip: str | None = None, severity: str = "medium") -> Alert:
    return new_alert(
        detector="test", kind=kind, severity=severity, title=kind, explanation="e",
        technique_id="T0846", ts=ts, frame=int(ts), src_ip=src_ip, src_mac=src_mac,
        dst_ip=dst_ip,
    )


def test_one_attacker_one_incident_linked_across_ip_and_mac() -> None:
    alerts = [
        _alert(10, "port-scan", src_ip=ATK),
        _alert(20, "arp-spoofing", src_ip=ATK, src_mac=ATK_MAC, dst_ip=PLC, severity="high"),
        _alert(30, "duplicate-ip", src_mac=ATK_MAC, dst_ip=HMI),
        _alert(40, "unknown-master-write", src_ip=ATK, dst_ip=PLC, severity="critical"),
        _alert(25, "cleartext-credentials", src_ip="192.0.2.51", dst_ip="192.0.2.50",
               severity="info"),
    ]
    incidents = group_incidents(alerts)
    assert len(incidents) == 2
    attack = next(i for i in incidents if ATK in i.actors)
    assert attack.kinds == ("port-scan", "arp-spoofing", "duplicate-ip", "unknown-master-write")
    assert (attack.ts, attack.last_ts, attack.severity) == (10, 40, "critical")
    assert set(attack.targets) == {PLC, HMI}
    assert attack.title.startswith(f"{ATK}: port-scan")
    assert group_incidents(list(reversed(alerts))) == incidents  # order of input is irrelevant


def test_a_long_quiet_gap_splits_an_actors_incidents() -> None:
    alerts = [_alert(0, "port-scan", src_ip=ATK), _alert(100, "host-sweep", src_ip=ATK),
              _alert(5000, "port-scan", src_ip=ATK)]
    assert [len(i.alert_ids) for i in group_incidents(alerts, gap_s=900)] == [2, 1]


def test_alerts_without_a_source_group_by_target() -> None:
    alerts = [_alert(0, "connection-flood", dst_ip=PLC), _alert(5, "packet-flood", dst_ip=PLC),
              _alert(6, "packet-flood", dst_ip=HMI)]
    assert sorted(len(i.alert_ids) for i in group_incidents(alerts)) == [1, 2]
