"""Choosing attribute values by source reliability, conflicts, and change tracking."""

from __future__ import annotations

from otsight.inventory.attributes import choose
from otsight.inventory.changes import ChangeTracker
from otsight.inventory.ledger import ObservationTally
from otsight.inventory.model import Asset


def _t(attr: str, value: str, source: str, rel: int, count: int = 1, ts: float = 0.0
       ) -> ObservationTally:
    return ObservationTally(attr, value, source, rel, count, ts, ts, 1)


def test_reliable_source_wins_and_the_loser_is_a_conflict() -> None:
    chosen, _, conflicts, evidence = choose([
        _t("vendor", "Schneider Electric", "modbus/device-identification", 90),
        _t("vendor", "Generic DHCP vendor", "dhcp/vendor-class", 50, count=40),
    ])
    assert chosen["vendor"] == "Schneider Electric"
    assert [(c.kept, c.other, c.other_source) for c in conflicts] == [
        ("Schneider Electric", "Generic DHCP vendor", "dhcp/vendor-class")
    ]
    assert evidence[0].source == "modbus/device-identification"


def test_latest_value_of_a_source_wins_over_its_history() -> None:
    chosen, _, conflicts, _ = choose([
        _t("firmware", "v3.10", "modbus/device-identification", 90, count=100, ts=1.0),
        _t("firmware", "v3.20", "modbus/device-identification", 90, count=2, ts=50.0),
    ])
    assert chosen["firmware"] == "v3.20"
    assert conflicts == []  # an update, not a disagreement


def test_hostnames_are_multi_valued_and_deduplicated_case_insensitively() -> None:
    _, multi, conflicts, _ = choose([
        _t("hostname", "ENG-WKS-07", "dhcp/hostname", 60),
        _t("hostname", "eng-wks-07", "nbns/registration", 55),
        _t("hostname", "eng-wks-07.plant.local", "dns/answer", 40),
    ])
    assert multi["hostname"] == ["ENG-WKS-07", "eng-wks-07.plant.local"]
    assert conflicts == []


def _asset(**kw: object) -> Asset:
    a = Asset("mac:00:00:00:00:00:01", first_seen=0.0, last_seen=10.0, ips=["10.0.0.1"])
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_tracker_reports_new_ip_hostname_firmware_and_settled_role_changes() -> None:
    tracker = ChangeTracker(silent_after_s=100)
    first = tracker.update([_asset(firmware="1.0", role="plc", role_confidence=0.9)], now=10)
    assert [c.kind for c in first] == ["new-asset"]
    later = _asset(ips=["10.0.0.1", "10.0.0.2"], hostnames=["plc-a"], firmware="1.1",
                   role="hmi", role_confidence=0.8, last_seen=20.0)
    kinds = sorted(c.kind for c in tracker.update([later], now=20))
    assert kinds == ["firmware-change", "new-hostname", "new-ip", "role-change"]
    # Thin evidence for another role does not count as a change.
    unsure = _asset(ips=later.ips, hostnames=later.hostnames, firmware="1.1", role="plc",
                    role_confidence=0.2, last_seen=30.0)
    assert tracker.update([unsure], now=30) == []
    silent = tracker.update([unsure], now=200)
    assert [(c.kind, c.ts) for c in silent] == [("asset-silent", 130.0)]
    assert tracker.update([unsure], now=300) == []  # said once
