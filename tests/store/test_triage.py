"""Triage: allowed transitions change status and are audited; others are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from otsight.store import save_alerts, transaction
from otsight.store.errors import Invalid, InvalidChange
from otsight.store.models import AuditRow
from otsight.store.triage import (
    add_alerts,
    assign,
    change_status,
    create_incident,
    get_alert,
    get_incident,
)
from otsight.store.users import add_user

from .factories import alert


@pytest.fixture
def loaded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as s:
        save_alerts(s, [alert(1, "medium"), alert(2, "critical"), alert(3, "low")])
        add_user(s, "ann", "analyst", actor="t")
    return sessions


def test_acknowledge_then_resolve_then_reopen(loaded: sessionmaker[Session]) -> None:
    aid = "ot-commands:plc-stop:1"
    with transaction(loaded) as s:
        change_status(s, get_alert(s, aid), "acknowledge", actor="ann", note="looking")
    with transaction(loaded) as s:
        change_status(s, get_alert(s, aid), "resolve", actor="ann")
    with transaction(loaded) as s:
        row = get_alert(s, aid)
        assert (row.status, row.note, row.status_changed_by) == ("resolved", "looking", "ann")
        with pytest.raises(InvalidChange, match="is resolved; acknowledge applies only to new"):
            change_status(s, row, "acknowledge", actor="ann")
        change_status(s, row, "reopen", actor="ann")
        assert row.status == "new"
    with loaded() as s:
        entries = s.scalars(select(AuditRow).where(AuditRow.target_id == aid).order_by(AuditRow.id))
        trail = [(e.action, e.before["status"], e.after["status"]) for e in entries]  # type: ignore[index]
    assert trail == [
        ("alert.acknowledge", "new", "acknowledged"),
        ("alert.resolve", "acknowledged", "resolved"),
        ("alert.reopen", "resolved", "new"),
    ]


def test_assign_needs_a_real_user(loaded: sessionmaker[Session]) -> None:
    with transaction(loaded) as s:
        row = assign(s, get_alert(s, "ot-commands:plc-stop:2"), "ann", actor="ann")
        assert row.assignee == "ann"
        with pytest.raises(Invalid, match="no such user"):
            assign(s, row, "mallory", actor="ann")


def test_incident_takes_the_worst_severity_and_grows(loaded: sessionmaker[Session]) -> None:
    with transaction(loaded) as s:
        inc = create_incident(
            s, "stop", ["ot-commands:plc-stop:1", "ot-commands:plc-stop:2"], actor="ann"
        )
        iid = inc.incident_id
        assert inc.severity == "critical"
        assert inc.status == "new"
    with transaction(loaded) as s:
        inc = add_alerts(
            s,
            get_incident(s, iid),
            ["ot-commands:plc-stop:3", "ot-commands:plc-stop:1"],
            actor="ann",
        )
        assert sorted(a.alert_id[-1] for a in inc.alerts) == ["1", "2", "3"]
        with pytest.raises(Invalid, match="unknown alert id"):
            add_alerts(s, inc, ["nope"], actor="ann")
        with pytest.raises(Invalid, match="at least one alert"):
            create_incident(s, "empty", [], actor="ann")
        change_status(s, inc, "expected", actor="ann")
        assert inc.status == "expected"
