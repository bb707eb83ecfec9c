"""Analyst actions on alerts and incidents: acknowledge, resolve, mark expected, reopen, assign.

Each action checks the current status (acknowledging a resolved alert is refused, not ignored)
and writes one audit entry with the state before and after.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..alerts.model import SEVERITIES
from . import audit
from .errors import Invalid, InvalidChange, NotFound
from .models import AlertRow, IncidentAlertRow, IncidentRow, UserRow

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("new",), "acknowledged"),
    "resolve": (("new", "acknowledged"), "resolved"),
    "expected": (("new", "acknowledged"), "expected"),
    "reopen": (("acknowledged", "resolved", "expected"), "new"),
}

Triaged = AlertRow | IncidentRow


def _state(row: Triaged) -> dict[str, Any]:
    return {"status": row.status, "assignee": row.assignee, "note": row.note}


def _kind(row: Triaged) -> str:
    return "alert" if isinstance(row, AlertRow) else "incident"


def _id(row: Triaged) -> str:
    return row.alert_id if isinstance(row, AlertRow) else row.incident_id


def get_alert(session: Session, alert_id: str) -> AlertRow:
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"alert {alert_id!r} not found")
    return row


def get_incident(session: Session, incident_id: str) -> IncidentRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"incident {incident_id!r} not found")
    return row


def change_status(
    session: Session, row: Triaged, action: str, *, actor: str, note: str | None = None
) -> Triaged:
    """Apply ``action`` (see :data:`TRANSITIONS`) to an alert or incident, audited."""
    if action not in TRANSITIONS:
        raise Invalid(f"unknown action {action!r}: one of {', '.join(TRANSITIONS)}")
    allowed, target = TRANSITIONS[action]
    if row.status not in allowed:
        raise InvalidChange(
            f"{_kind(row)} {_id(row)!r} is {row.status}; {action} applies only to "
            f"{' or '.join(allowed)} {_kind(row)}s"
        )
    before = _state(row)
    now = time.time()
    row.status = target
    if note is not None:
        row.note = note
    if isinstance(row, AlertRow):
        row.status_changed_at = now
        row.status_changed_by = actor
    else:
        row.updated_at = now
    audit.record(
        session,
        actor,
        f"{_kind(row)}.{action}",
        _kind(row),
        _id(row),
        before=before,
        after=_state(row),
    )
    return row


def assign(session: Session, row: Triaged, assignee: str | None, *, actor: str) -> Triaged:
    """Give an alert or incident to user ``assignee`` (None takes it back)."""
    if (
        assignee is not None
        and session.scalar(select(UserRow.id).where(UserRow.name == assignee)) is None
    ):
        raise Invalid(f"cannot assign to {assignee[:80]!r}: no such user")
    before = _state(row)
    row.assignee = assignee
    if isinstance(row, IncidentRow):
        row.updated_at = time.time()
    audit.record(
        session,
        actor,
        f"{_kind(row)}.assign",
        _kind(row),
        _id(row),
        before=before,
        after=_state(row),
    )
    return row


def _alerts(session: Session, alert_ids: Sequence[str]) -> list[AlertRow]:
    ids = list(dict.fromkeys(alert_ids))
    rows = session.scalars(select(AlertRow).where(AlertRow.alert_id.in_(ids))).all()
    missing = sorted(set(ids) - {r.alert_id for r in rows})
    if missing:
        raise Invalid(f"unknown alert id(s): {', '.join(repr(m[:80]) for m in missing[:10])}")
    return list(rows)


def create_incident(
    session: Session,
    title: str,
    alert_ids: Sequence[str],
    *,
    actor: str,
    severity: str | None = None,
) -> IncidentRow:
    """Group ``alert_ids`` into a new incident (severity defaults to the worst alert's)."""
    if not alert_ids:
        raise Invalid("an incident needs at least one alert id")
    alerts = _alerts(session, alert_ids)
    if severity is None:
        severity = max((a.severity for a in alerts), key=SEVERITIES.index)
    elif severity not in SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(SEVERITIES)}")
    now = time.time()
    row = IncidentRow(
        incident_id=f"inc-{secrets.token_hex(8)}",
        title=title,
        severity=severity,
        status="new",
        created_at=now,
        updated_at=now,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    session.add_all(
        IncidentAlertRow(incident_id=row.incident_id, alert_id=a.alert_id) for a in alerts
    )
    session.flush()
    session.refresh(row)
    audit.record(
        session,
        actor,
        "incident.create",
        "incident",
        row.incident_id,
        after={"title": title, "severity": severity, "alerts": [a.alert_id for a in alerts]},
    )
    return row


def add_alerts(
    session: Session, incident: IncidentRow, alert_ids: Sequence[str], *, actor: str
) -> IncidentRow:
    """Add alerts to an incident (those already in it are left as they are)."""
    alerts = _alerts(session, alert_ids)
    before = sorted(a.alert_id for a in incident.alerts)
    new = [a for a in alerts if a.alert_id not in set(before)]
    session.add_all(
        IncidentAlertRow(incident_id=incident.incident_id, alert_id=a.alert_id) for a in new
    )
    incident.updated_at = time.time()
    session.flush()
    session.refresh(incident)
    audit.record(
        session,
        actor,
        "incident.add_alerts",
        "incident",
        incident.incident_id,
        before={"alerts": before},
        after={"alerts": sorted(a.alert_id for a in incident.alerts)},
    )
    return incident
