"""Assets, alerts, conversations and databases for the store and API tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from otsight.alerts.model import Alert, AlertEvidence
from otsight.core.events import Event
from otsight.inventory.model import Asset, Conflict, Evidence, Service
from otsight.store.db import make_engine
from otsight.store.records import Conversation

PG_ENV = "OTSIGHT_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: .ci/run starts PostgreSQL and sets it")
    return url


def empty_postgres() -> Engine:
    """The test database with nothing in it (its public schema dropped and made again)."""
    engine = make_engine(postgres_url())
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(tmp_path / "store.db") if backend == "sqlite" else empty_postgres()
    try:
        yield engine
    finally:
        engine.dispose()


def db_url(backend: str, tmp_path: Path) -> str:
    """A URL of an empty database of ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    empty_postgres().dispose()
    return postgres_url()


def plc(n: int = 1, **changes: object) -> Asset:
    """A Modbus PLC with evidence, a service and a conflict."""
    asset = Asset(
        asset_id=f"mac:00:1d:9c:c6:72:{n:02x}",
        macs=[f"00:1d:9c:c6:72:{n:02x}"],
        ips=[f"10.0.0.{n}"],
        hostnames=[f"plc-{n}"],
        vendor="Rockwell Automation",
        model="1756-L61",
        firmware="20.11",
        role="plc",
        role_confidence=0.9,
        purdue_level=1,
        first_seen=1_700_000_000.0 + n,
        last_seen=1_700_000_100.0 + n,
        protocols=["modbus"],
        services=[Service("modbus", "tcp", 502, clients=2)],
        peers=2,
        packets=100 * n,
        bytes=6400 * n,
        attributes={"product_code": "55"},
        evidence=[
            Evidence("role", "answers Modbus/TCP on 502 to 2 masters", "modbus/server", 1.7e9),
            Evidence("vendor", "device identification says Rockwell", "modbus/43-14", 1.7e9),
        ],
        conflicts=[Conflict("vendor", "Rockwell Automation", "modbus/43-14", "Cisco", "oui")],
    )
    for name, value in changes.items():
        setattr(asset, name, value)
    return asset


def hmi(n: int = 100) -> Asset:
    return Asset(
        asset_id=f"ip:10.0.1.{n}",
        ips=[f"10.0.1.{n}"],
        vendor="Dell",
        role="hmi",
        role_confidence=0.7,
        purdue_level=2,
        first_seen=1_700_000_000.0,
        last_seen=1_700_000_050.0,
        protocols=["modbus", "http"],
    )


def alert(n: int = 1, severity: str = "high", **changes: object) -> Alert:
    fields: dict[str, object] = {
        "alert_id": f"ot-commands:plc-stop:{n}",
        "ts": 1_700_000_000.0 + n * 60,
        "detector": "ot-commands",
        "kind": "plc-stop",
        "severity": severity,
        "title": f"PLC stop sent to 10.0.0.{n}",
        "explanation": "A STOP command halts the process the PLC controls.",
        "technique_id": "T0816",
        "technique": "Device Restart/Shutdown",
        "src_ip": "192.0.2.66",
        "dst_ip": f"10.0.0.{n}",
        "protocol": "s7comm",
        "evidence": (AlertEvidence(1_700_000_000.0 + n * 60, 10 + n, 7, "s7comm", "plc-stop"),),
    }
    if "detected_ts" in Alert.__dataclass_fields__:  # decision time, where Alert has it
        fields["detected_ts"] = 1_700_000_005.0 + n * 60
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


def conversation(n: int = 1, source: str = "capture-a", **changes: object) -> Conversation:
    fields: dict[str, object] = {
        "client": "10.0.1.100",
        "server": f"10.0.0.{n}",
        "protocol": "modbus",
        "transport": "tcp",
        "port": 502,
        "packets": 40,
        "bytes": 3000,
        "first_seen": 1_700_000_000.0,
        "last_seen": 1_700_000_040.0,
        "flows": 2,
        "client_asset_id": "ip:10.0.1.100",
        "server_asset_id": f"mac:00:1d:9c:c6:72:{n:02x}",
        "source": source,
    }
    fields.update(changes)
    return Conversation(**fields)  # type: ignore[arg-type]


class WriteSingleRegister(Event, frozen=True, kw_only=True):
    protocol = "modbus"
    unit_id: int
    address: int
    value: int
    label: str = "pump\x00speed"


def modbus_write(frame: int) -> Event:
    return WriteSingleRegister(
        ts=1_700_000_000.0 + frame,
        frame=frame,
        flow_id=3,
        src_ip="10.0.1.100",
        src_port=50000,
        dst_ip="10.0.0.1",
        dst_port=502,
        transport="tcp",
        unit_id=1,
        address=40001,
        value=frame,
    )
