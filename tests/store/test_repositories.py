"""Repositories on SQLite and PostgreSQL: what is saved reads back, re-loads never duplicate."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from otsight.decode.flows import FlowRecord
from otsight.inventory.model import Evidence, Service
from otsight.store import (
    Invalid,
    conversations_from_flows,
    save_alerts,
    save_assets,
    save_baseline,
    save_conversations,
    save_events,
    save_sensor_status,
    transaction,
)
from otsight.store.models import (
    AlertEvidenceRow,
    AlertRow,
    AssetAddressRow,
    AssetConflictRow,
    AssetEvidenceRow,
    AssetRow,
    AssetServiceRow,
    BaselineRow,
    ConversationRow,
    EventRow,
    SensorRow,
)
from otsight.store.queries import get_sensor, list_sensors
from otsight.store.triage import change_status, get_alert

from .factories import alert, conversation, hmi, modbus_write, plc

TABLES = (
    AssetRow,
    AssetAddressRow,
    AssetEvidenceRow,
    AssetConflictRow,
    AssetServiceRow,
    AlertRow,
    AlertEvidenceRow,
    ConversationRow,
    EventRow,
)


def counts(session: Session) -> dict[str, int]:
    return {
        t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES
    }


def load_everything(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        save_assets(s, [plc(1), plc(2), hmi()])
        save_alerts(s, [alert(1), alert(2, "critical")])
        save_conversations(s, [conversation(1), conversation(2)])
        save_events(s, [modbus_write(1), modbus_write(2)], source="capture-a")


def test_asset_reads_back_with_identities_evidence_services_conflicts(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as s:
        assert save_assets(s, [plc(1)], now=123.0) == 1
    with sessions() as s:
        row = s.get(AssetRow, "mac:00:1d:9c:c6:72:01")
        assert row is not None
        assert (row.vendor, row.model, row.firmware, row.role, row.purdue_level) == (
            "Rockwell Automation",
            "1756-L61",
            "20.11",
            "plc",
            1,
        )
        assert row.ips == ["10.0.0.1"]
        assert row.macs == ["00:1d:9c:c6:72:01"]
        assert row.attributes == {"product_code": "55"}
        assert row.updated_at == 123.0
        assert "rockwell" in row.search_text
        assert "plc-1" in row.search_text
        assert sorted(e.claim for e in row.evidence) == ["role", "vendor"]
        assert [(v.protocol, v.port, v.clients) for v in row.services] == [("modbus", 502, 2)]
        assert [(c.attribute, c.other) for c in row.conflicts] == [("vendor", "Cisco")]
        addresses = s.execute(
            select(AssetAddressRow.kind, AssetAddressRow.value).order_by(AssetAddressRow.kind)
        ).all()
        assert [tuple(a) for a in addresses] == [
            ("hostname", "plc-1"),
            ("ip", "10.0.0.1"),
            ("mac", "00:1d:9c:c6:72:01"),
        ]


def test_reloading_the_same_capture_duplicates_nothing(sessions: sessionmaker[Session]) -> None:
    load_everything(sessions)
    with sessions() as s:
        first = counts(s)
        assets_before = {
            r.asset_id: (r.ips, r.packets, r.role) for r in s.scalars(select(AssetRow))
        }
    assert first == {
        "assets": 3,
        "asset_addresses": 7,
        "asset_evidence": 4,
        "asset_conflicts": 2,
        "asset_services": 2,
        "alerts": 2,
        "alert_evidence": 2,
        "conversations": 2,
        "events": 2,
    }
    load_everything(sessions)
    with sessions() as s:
        assert counts(s) == first
        after = {r.asset_id: (r.ips, r.packets, r.role) for r in s.scalars(select(AssetRow))}
        assert after == assets_before


def test_a_new_view_of_an_asset_merges_into_the_stored_one(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        save_assets(s, [plc(1)])
    later = plc(
        1,
        ips=["10.0.0.201"],
        hostnames=[],
        role="unknown",
        role_confidence=0.0,
        purdue_level=None,
        firmware="21.0",
        vendor=None,
        first_seen=1_600_000_000.0,
        last_seen=1_800_000_000.0,
        packets=7,
        evidence=[Evidence("firmware", "SZL says 21.0", "s7comm/szl", 1.8e9)],
        services=[Service("modbus", "tcp", 502, clients=5), Service("s7comm", "tcp", 102)],
        conflicts=[],
    )
    with transaction(sessions) as s:
        save_assets(s, [later])
    with sessions() as s:
        row = s.get(AssetRow, "mac:00:1d:9c:c6:72:01")
        assert row is not None
        assert row.ips == ["10.0.0.1", "10.0.0.201"]
        assert row.hostnames == ["plc-1"]
        assert (row.role, row.role_confidence, row.purdue_level) == ("plc", 0.9, 1)
        assert row.vendor == "Rockwell Automation"  # unknown now: the stored one stays
        assert row.firmware == "21.0"  # known now: the new one wins
        assert (row.first_seen, row.last_seen, row.packets) == (1.6e9, 1.8e9, 7)
        assert sorted(e.claim for e in row.evidence) == ["firmware", "role", "vendor"]
        assert {(v.protocol, v.clients) for v in row.services} == {("modbus", 5), ("s7comm", 0)}
        assert row.conflicts == []
        assert "10.0.0.201" in row.search_text


def test_reloading_alerts_keeps_their_triage(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        save_alerts(s, [alert(1)])
    with transaction(sessions) as s:
        change_status(s, get_alert(s, "ot-commands:plc-stop:1"), "acknowledge", actor="ann")
    more = alert(1, count=5, last_ts=1_700_000_500.0)
    with transaction(sessions) as s:
        save_alerts(s, [more, alert(1)])  # the same id twice in one call: the last wins
    with sessions() as s:
        row = s.get(AlertRow, "ot-commands:plc-stop:1")
        assert row is not None
        assert (row.status, row.status_changed_by) == ("acknowledged", "ann")
        assert row.count == 1
        assert len(row.evidence) == 1
        assert row.detected_ts == getattr(alert(1), "detected_ts", None)


def test_alert_evidence_is_merged(sessions: sessionmaker[Session]) -> None:
    from otsight.alerts.model import AlertEvidence

    with transaction(sessions) as s:
        save_alerts(s, [alert(1)])
        extra = AlertEvidence(1_700_000_099.0, 99, 7, "s7comm", "plc-stop", "second stop")
        save_alerts(s, [alert(1, evidence=(*alert(1).evidence, extra), count=2)])
    with sessions() as s:
        row = s.get(AlertRow, "ot-commands:plc-stop:1")
        assert row is not None
        assert row.count == 2
        assert [e.frame for e in row.evidence] == [11, 99]


def test_conversation_totals_are_replaced_per_source(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        save_conversations(s, [conversation(1)])
        save_conversations(s, [conversation(1, packets=90, bytes=9000)])
        save_conversations(s, [conversation(1, source="capture-b", packets=5)])
    with sessions() as s:
        rows = s.scalars(select(ConversationRow).order_by(ConversationRow.source)).all()
        assert [(r.source, r.packets, r.bytes) for r in rows] == [
            ("capture-a", 90, 9000),
            ("capture-b", 5, 3000),
        ]


def test_conversation_endpoints_get_the_asset_ids_of_their_addresses(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as s:
        save_assets(s, [plc(1), hmi()])
        save_conversations(
            s,
            [
                conversation(1, client_asset_id=None, server_asset_id=None),
                conversation(1, client="10.7.7.7", client_asset_id=None, server_asset_id="given"),
            ],
        )
    with sessions() as s:
        rows = s.scalars(select(ConversationRow).order_by(ConversationRow.client)).all()
        assert [(r.client, r.client_asset_id, r.server_asset_id) for r in rows] == [
            ("10.0.1.100", "ip:10.0.1.100", plc(1).asset_id),
            ("10.7.7.7", None, "given"),
        ]


def test_events_are_kept_once_with_their_ecs_document(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        assert save_events(s, [modbus_write(1), modbus_write(1)], source="cap") == 2
    with transaction(sessions) as s:
        save_events(s, [modbus_write(1)], source="cap")
    with sessions() as s:
        rows = s.scalars(select(EventRow)).all()
        assert len(rows) == 1
        ev = rows[0]
        assert (ev.protocol, ev.action, ev.src, ev.dst, ev.dst_port, ev.flow_id) == (
            "modbus",
            "WriteSingleRegister",
            "10.0.1.100",
            "10.0.0.1",
            502,
            3,
        )
        # NUL (which PostgreSQL refuses in text) is replaced, not a failed batch
        assert ev.doc["modbus"]["label"] == "pump\ufffdspeed"
        assert ev.doc["destination"] == {"ip": "10.0.0.1", "port": 502}


def test_hostile_strings_are_stored_not_fatal(sessions: sessionmaker[Session]) -> None:
    nasty = plc(3, vendor="V" * 5000, hostnames=["a\x00b"], model="\x00")
    with transaction(sessions) as s:
        save_assets(s, [nasty])
    with sessions() as s:
        row = s.get(AssetRow, nasty.asset_id)
        assert row is not None
        assert row.vendor == "V" * 255
        assert row.hostnames == ["a\ufffdb"]
        assert row.model == "\ufffd"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (lambda: save_assets, "asset_id must be"),
        (lambda: save_alerts, "severity"),
    ],
)
def test_invalid_records_are_refused_with_a_message(
    sessions: sessionmaker[Session], bad: Any, message: str
) -> None:
    record = plc(1, asset_id="") if "asset" in message else alert(1, severity="urgent")
    with pytest.raises(Invalid, match=message), transaction(sessions) as s:
        bad()(s, [record])


def test_baseline_keeps_its_creation_time(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        save_baseline(s, "comms", kind="communication", state={"pairs": 3}, now=10.0)
    with transaction(sessions) as s:
        save_baseline(s, "comms", kind="communication", blob=b"\x00\x01", now=20.0)
    with sessions() as s:
        row = s.get(BaselineRow, "comms")
        assert row is not None
        assert (row.created_at, row.updated_at, row.state, row.blob) == (
            10.0,
            20.0,
            None,
            b"\x00\x01",
        )
    with pytest.raises(Invalid, match="give a JSON state"), transaction(sessions) as s:
        save_baseline(s, "empty")


def _counters(interface: str, **figures: Any) -> dict[str, Any]:
    base = {"interface": interface, "uptime_s": 1.5, "captured": 10, "processed": 9}
    return {**base, "kernel_dropped": 0, "flows_live": 2, **figures}


def test_sensor_status_is_replaced_in_place(sessions: sessionmaker[Session]) -> None:
    settings = {"interface": "eth1", "filter": None, "checkpoint_s": 5.0}
    with transaction(sessions) as s:
        save_sensor_status(
            s,
            "sensor:hub:eth1",
            state="running",
            counters=_counters("eth1"),
            started_at=100.0,
            settings=settings,
            host="hub",
            now=101.0,
        )
    with transaction(sessions) as s:
        save_sensor_status(
            s,
            "sensor:hub:eth1",
            state="stopped",
            counters=_counters("eth1", captured=2**40, kernel_dropped=3, queue_peak_bytes=4096),
            started_at=100.0,
            settings=settings,
            host="hub",
            last_checkpoint_at=150.0,
            now=160.0,
        )
        save_sensor_status(
            s,
            "sensor:edge:eth0",
            state="running",
            counters=_counters("eth0"),
            started_at=5.0,
            now=6.0,
        )
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(SensorRow)) == 2
        row = get_sensor(s, "sensor:hub:eth1")
        assert row is not None
        assert (row.host, row.interface, row.state) == ("hub", "eth1", "stopped")
        assert (row.started_at, row.updated_at, row.last_checkpoint_at) == (100.0, 160.0, 150.0)
        assert (row.uptime_s, row.captured, row.processed) == (1.5, 2**40, 9)
        assert (row.kernel_received, row.kernel_dropped) == (0, 3)  # missing counters: 0
        assert (row.queue_bytes, row.queue_peak_bytes, row.queue_waits) == (0, 4096, 0)
        assert row.settings == settings
        assert row.counters == _counters(
            "eth1", captured=2**40, kernel_dropped=3, queue_peak_bytes=4096
        )
        assert [r.name for r in list_sensors(s)] == ["sensor:edge:eth0", "sensor:hub:eth1"]
        edge = get_sensor(s, "sensor:edge:eth0")
        assert edge is not None
        assert (edge.host, edge.interface, edge.settings, edge.last_checkpoint_at) == (
            None,
            "eth0",
            {},
            None,
        )
        assert get_sensor(s, "sensor:nowhere:eth9") is None


@pytest.mark.parametrize(
    ("name", "state", "counters", "message"),
    [
        ("", "running", {}, "sensor name"),
        ("x" * 129, "running", {}, "at most 128"),
        ("sensor:a:b", "", {}, "give its state"),
        ("sensor:a:b", "running", {"captured": "many"}, "captured must be an integer"),
        ("sensor:a:b", "running", {"uptime_s": None}, "uptime_s must be a number"),
    ],
)
def test_invalid_sensor_status_is_refused(
    sessions: sessionmaker[Session], name: str, state: str, counters: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid, match=message), transaction(sessions) as s:
        save_sensor_status(s, name, state=state, counters=counters, started_at=0.0)


def test_conversations_from_flows_fold_by_endpoints_and_service() -> None:
    def flow(fid: int, resp_port: int, packets: int, first: int) -> FlowRecord:
        return FlowRecord(
            flow_id=fid,
            proto=6,
            orig_ip="10.0.1.100",
            orig_port=40000 + fid,
            resp_ip="10.0.0.1",
            resp_port=resp_port,
            first_ts_ns=first * 10**9,
            last_ts_ns=(first + 5) * 10**9,
            orig_packets=packets,
            resp_packets=packets,
            orig_bytes=100,
            resp_bytes=200,
            orig_payload=0,
            resp_payload=0,
            handshake=True,
            end_reason="fin",
        )

    convs = conversations_from_flows(
        [flow(1, 502, 3, 100), flow(2, 502, 4, 50), flow(3, 80, 1, 70)],
        source="cap",
        asset_of=lambda ip: f"ip:{ip}",
    )
    by_port = {c.port: c for c in convs}
    assert set(by_port) == {502, 80}
    m = by_port[502]
    assert (m.protocol, m.transport, m.flows, m.packets, m.bytes) == ("modbus", "tcp", 2, 14, 600)
    assert (m.first_seen, m.last_seen) == (50.0, 105.0)
    assert (m.client_asset_id, m.server_asset_id, m.source) == (
        "ip:10.0.1.100",
        "ip:10.0.0.1",
        "cap",
    )
    assert by_port[80].protocol == "http"
