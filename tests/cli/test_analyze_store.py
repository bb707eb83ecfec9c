"""`otsight analyze --db`: the pipeline's assets, conversations and alerts land in the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from otsight.cli.app import app
from otsight.store.db import make_engine, session_factory
from otsight.store.models import (
    AlertRow,
    AssetRow,
    ConversationRow,
    EventRow,
    IncidentAlertRow,
    IncidentRow,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed" / "capture.pcap"
runner = CliRunner()


def _counts(db: Path) -> dict[str, int]:
    sessions = session_factory(make_engine(db))
    with sessions() as s:
        return {
            name: int(s.scalar(select(func.count()).select_from(row)) or 0)
            for name, row in (
                ("assets", AssetRow),
                ("alerts", AlertRow),
                ("conversations", ConversationRow),
                ("events", EventRow),
                ("incidents", IncidentRow),
                ("incident_alerts", IncidentAlertRow),
            )
        }


def test_analysis_fills_the_store_and_reloading_does_not_duplicate(tmp_path: Path) -> None:
    db = tmp_path / "otsight.db"
    result = runner.invoke(app, ["analyze", str(EXAMPLE), "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    assert "wrote" in result.stderr
    first = _counts(db)
    assert first["assets"] == 16
    assert first["alerts"] >= 8  # one or more per attack step of the lab run
    assert first["conversations"] > 0
    assert first["events"] > 0  # writes, diagnostics, logins: the events of note
    assert first["incidents"] >= 1  # the attacker's steps grouped into one story
    assert first["incident_alerts"] >= 8
    sessions = session_factory(make_engine(db))
    with sessions() as s:
        plc = s.scalars(select(AssetRow).where(AssetRow.asset_id == "mac:00:80:f4:3a:1c:01")).one()
        assert plc.role == "plc"
        assert plc.firmware == "v3.10"
    again = runner.invoke(app, ["analyze", str(EXAMPLE), "--db", str(db)])
    assert again.exit_code == 0, again.stderr
    assert _counts(db) == first


def test_a_database_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", str(EXAMPLE), "--db", "mysql://nobody@nowhere/x"])
    assert result.exit_code == 2
    assert "unsupported database 'mysql'" in result.stderr
    not_ours = tmp_path / "other.db"
    with sqlite3.connect(not_ours) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    result = runner.invoke(app, ["analyze", str(EXAMPLE), "--db", str(not_ours)])
    assert result.exit_code == 2
    assert "not an otsight database" in result.stderr
