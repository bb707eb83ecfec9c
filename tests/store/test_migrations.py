"""Migrations: an empty database goes to head, the models match it, odd databases are refused,
and a database of an older revision is upgraded with its data (``otsight db upgrade``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from otsight.cli.serve import db_app
from otsight.store.errors import StoreError
from otsight.store.migrate import (
    alembic_config,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)
from otsight.store.models import Base, SensorRow

from .factories import empty_database, postgres_url


def test_upgrade_takes_an_empty_database_to_head_matching_the_models(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as engine:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        command.check(alembic_config(engine))  # `alembic check`: raises if models drifted


def test_downgrade_to_base_and_back(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as engine:
        upgrade(engine)
        command.downgrade(alembic_config(engine), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()


def test_ensure_schema_is_idempotent_and_refuses_other_databases(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as engine:
        ensure_schema(engine)
        ensure_schema(engine)  # at head: nothing to do
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
        with pytest.raises(StoreError, match=r"revision 0000.*otsight db upgrade"):
            ensure_schema(engine)
    with empty_database(backend, tmp_path / "other") as engine:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE payroll (id INTEGER PRIMARY KEY)"))
        with pytest.raises(StoreError, match="not an otsight database"):
            ensure_schema(engine)


# --- from r0001 (sensor status in ``baselines``) to the sensors table ------------------------

R0001 = "0001"
BASELINES = sa.table(
    "baselines",
    sa.column("name", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("state", sa.JSON()),
    sa.column("blob", sa.LargeBinary()),
    sa.column("created_at", sa.Double()),
    sa.column("updated_at", sa.Double()),
)
COUNTERS: dict[str, Any] = {
    "interface": "eth1",
    "uptime_s": 120.5,
    "captured": 5_000_000_000,
    "kernel_received": 5_000_000_010,
    "kernel_dropped": 10,
    "processed": 4_999_999_000,
    "queue_bytes": 1024,
    "queue_peak_bytes": 1 << 25,
    "queue_waits": 3,
    "flows_live": 12,
    "assets": 4,
}
SETTINGS: dict[str, Any] = {"interface": "eth1", "filter": "not port 22", "checkpoint_s": 5.0}
STATUS_DOC: dict[str, Any] = {
    "state": "running",
    "updated_at": 200.0,
    "started_at": 79.5,
    "settings": SETTINGS,
    "counters": COUNTERS,
}


def _r0001_with_a_sensor(engine: Engine) -> None:
    """A database at r0001 whose sensor wrote its status as the baselines row it then used."""
    upgrade(engine, R0001)
    with engine.begin() as conn:
        conn.execute(
            BASELINES.insert(),
            [
                {
                    "name": "sensor:site-a:eth1",
                    "kind": "sensor-status",
                    "state": STATUS_DOC,
                    "blob": None,
                    "created_at": 80.0,
                    "updated_at": 200.0,
                },
                {
                    "name": "comms",
                    "kind": "communication",
                    "state": {"pairs": 2},
                    "blob": b"\x01",
                    "created_at": 5.0,
                    "updated_at": 6.0,
                },
            ],
        )


def _url(backend: str, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}" if backend == "sqlite" else postgres_url()


def _baselines(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(BASELINES).order_by(BASELINES.c.name)).all()
    return {row[0]: tuple(row[1:]) for row in found}


def test_db_upgrade_moves_sensor_status_of_an_r0001_database_to_the_sensors_table(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as engine:
        _r0001_with_a_sensor(engine)
        assert "sensors" not in inspect(engine).get_table_names()
        with pytest.raises(StoreError, match=rf"revision {R0001}, this otsight needs"):
            ensure_schema(engine)  # `analyze --db` and `serve` refuse it until upgraded
        cli = typer.Typer()
        cli.add_typer(db_app, name="db")
        result = CliRunner().invoke(cli, ["db", "upgrade", "--db", _url(backend, tmp_path)])
        assert result.exit_code == 0, result.output
        assert f"upgraded from {R0001} to {head_revision()}" in result.stdout
        assert current_revision(engine) == head_revision()
        assert "sensors" in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        ensure_schema(engine)  # at head now

        with Session(engine) as session:
            rows = list(session.scalars(sa.select(SensorRow)))
            assert len(rows) == 1
            row = rows[0]
            assert (row.name, row.host, row.interface, row.state) == (
                "sensor:site-a:eth1",
                "site-a",
                "eth1",
                "running",
            )
            assert (row.started_at, row.updated_at, row.last_checkpoint_at) == (79.5, 200.0, None)
            assert (row.uptime_s, row.captured, row.processed) == (
                120.5,
                5_000_000_000,
                4_999_999_000,
            )
            assert (row.kernel_received, row.kernel_dropped) == (5_000_000_010, 10)
            assert (row.queue_bytes, row.queue_peak_bytes, row.queue_waits) == (1024, 1 << 25, 3)
            assert (row.settings, row.counters) == (SETTINGS, COUNTERS)
        # The status left the baselines; the learned baselines stayed as they were.
        assert _baselines(engine) == {"comms": ("communication", {"pairs": 2}, b"\x01", 5.0, 6.0)}


def test_downgrade_to_r0001_puts_sensor_status_back_in_baselines(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as engine:
        _r0001_with_a_sensor(engine)
        before = _baselines(engine)
        upgrade(engine)
        command.downgrade(alembic_config(engine), R0001)
        assert current_revision(engine) == R0001
        assert "sensors" not in inspect(engine).get_table_names()
        after = _baselines(engine)
        # The status document comes back whole; its creation time is the sensor's start.
        assert after["sensor:site-a:eth1"] == ("sensor-status", STATUS_DOC, None, 79.5, 200.0)
        assert after["comms"] == before["comms"]
        upgrade(engine)
        with Session(engine) as session:
            assert [r.name for r in session.scalars(sa.select(SensorRow))] == ["sensor:site-a:eth1"]
