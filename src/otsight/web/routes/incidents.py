"""Incidents: alerts grouped into one story, created and triaged by analysts."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from fastapi import APIRouter, Body, Path, Query

from ...store import queries, triage
from ...store.models import IncidentRow
from ..auth import Analyst, Viewer
from ..deps import DbSession
from ..errors import BAD_BODY, CONFLICT, NOT_FOUND, RESPONSES
from ..schemas import (
    NO_NUL,
    AlertSummary,
    AssignIn,
    IncidentAlertsIn,
    IncidentCreate,
    IncidentDetail,
    IncidentOut,
    Paged,
    Severity,
    Status,
    TriageIn,
    enum,
    member,
)
from .common import Limit, Offset, page, sort_choices, sort_query
from .triage_actions import ACTIONS

router = APIRouter(tags=["incidents"], responses=RESPONSES)

SORTS = sort_choices(queries.INCIDENT_SORTS)
IncidentSort: TypeAlias = Annotated[
    str, member("sort", SORTS), enum(SORTS), sort_query("-updated_at")
]
IncidentId = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]


def _fields(row: IncidentRow) -> dict[str, object]:
    fields = {k: getattr(row, k) for k in IncidentOut.model_fields if hasattr(row, k)}
    fields["alert_ids"] = [a.alert_id for a in row.alerts]
    return fields


def summary(row: IncidentRow) -> IncidentOut:
    return IncidentOut.model_validate(_fields(row))


def detail(row: IncidentRow) -> IncidentDetail:
    alerts = [AlertSummary.model_validate(a) for a in row.alerts]
    return IncidentDetail.model_validate({**_fields(row), "alerts": alerts})


@router.get("/incidents", response_model=Paged[IncidentOut])
def list_incidents(
    session: DbSession,
    _user: Viewer,
    status: Annotated[list[Status], Query(max_length=4)] = [],  # noqa: B006
    severity: Annotated[list[Severity], Query(max_length=5)] = [],  # noqa: B006
    sort: IncidentSort = "-updated_at",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Paged[IncidentOut]:
    """Incidents, the most recently changed first."""
    rows, total = queries.list_incidents(session, status, severity, page(offset, limit, sort))
    return Paged[IncidentOut](
        total=total, offset=offset, limit=limit, items=[summary(r) for r in rows]
    )


@router.post(
    "/incidents",
    response_model=IncidentDetail,
    status_code=201,
    responses={422: RESPONSES[422], **BAD_BODY},
)
def create_incident(session: DbSession, user: Analyst, body: IncidentCreate) -> IncidentDetail:
    """Group alerts into a new incident (its severity defaults to the worst alert's)."""
    row = triage.create_incident(
        session, body.title, body.alert_ids, actor=user.name, severity=body.severity
    )
    session.commit()
    return detail(row)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail, responses=NOT_FOUND)
def get_incident(session: DbSession, _user: Viewer, incident_id: IncidentId) -> IncidentDetail:
    """One incident with its alerts."""
    return detail(triage.get_incident(session, incident_id))


@router.post(
    "/incidents/{incident_id}/alerts",
    response_model=IncidentDetail,
    responses={**NOT_FOUND, **BAD_BODY},
)
def add_incident_alerts(
    session: DbSession, user: Analyst, incident_id: IncidentId, body: IncidentAlertsIn
) -> IncidentDetail:
    """Add alerts to the incident (those already in it stay as they are)."""
    row = triage.add_alerts(
        session, triage.get_incident(session, incident_id), body.alert_ids, actor=user.name
    )
    session.commit()
    return detail(row)


def _triage_route(path: str, action: str, doc: str) -> None:
    def handler(
        session: DbSession,
        user: Analyst,
        incident_id: IncidentId,
        body: Annotated[TriageIn | None, Body()] = None,
    ) -> IncidentDetail:
        row = triage.get_incident(session, incident_id)
        triage.change_status(
            session, row, action, actor=user.name, note=body.note if body else None
        )
        session.commit()
        return detail(row)

    handler.__doc__ = doc
    handler.__name__ = f"incident_{path.replace('-', '_')}"
    router.post(
        f"/incidents/{{incident_id}}/{path}",
        response_model=IncidentDetail,
        responses={**NOT_FOUND, **CONFLICT, **BAD_BODY},
    )(handler)


for _path, (_action, _doc) in ACTIONS.items():
    _triage_route(_path, _action, _doc)


@router.post(
    "/incidents/{incident_id}/assign",
    response_model=IncidentDetail,
    responses={**NOT_FOUND, **BAD_BODY},
)
def assign_incident(
    session: DbSession, user: Analyst, incident_id: IncidentId, body: AssignIn
) -> IncidentDetail:
    """Give the incident to a user (``null`` takes it back)."""
    row = triage.get_incident(session, incident_id)
    triage.assign(session, row, body.assignee, actor=user.name)
    session.commit()
    return detail(row)
