"""Migrations: an empty database goes to head, the models match it, odd databases are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from otsight.store.errors import StoreError
from otsight.store.migrate import (
    alembic_config,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)
from otsight.store.models import Base

from .factories import empty_database


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
