"""Alerts: the list with filters, one alert with its evidence, and triage."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from fastapi import APIRouter, Body, Path, Query

from ...store import queries, triage
from ...store.errors import NotFound
from ..auth import Analyst, Viewer
from ..deps import DbSession
from ..errors import BAD_BODY, CONFLICT, NOT_FOUND, RESPONSES
from ..schemas import (
    NO_NUL,
    AlertDetail,
    AlertSummary,
    AssignIn,
    Paged,
    SearchText,
    Severity,
    Status,
    TriageIn,
    UserName,
    enum,
    member,
)
from .common import Limit, Offset, Since, Until, page, sort_choices, sort_query
from .triage_actions import ACTIONS

router = APIRouter(tags=["alerts"], responses=RESPONSES)

SORTS = sort_choices(queries.ALERT_SORTS)
AlertSort: TypeAlias = Annotated[str, member("sort", SORTS), enum(SORTS), sort_query("-ts")]
AlertId = Annotated[str, Path(min_length=1, max_length=255, pattern=NO_NUL)]


def detail(session: DbSession, alert_id: str) -> AlertDetail:
    row = queries.get_alert_detail(session, alert_id)
    if row is None:
        raise NotFound(f"alert {alert_id!r} not found")
    fields = {k: getattr(row, k) for k in AlertDetail.model_fields if hasattr(row, k)}
    fields["incident_ids"] = queries.incident_ids_of(session, alert_id)
    return AlertDetail.model_validate(fields)


@router.get("/alerts", response_model=Paged[AlertSummary])
def list_alerts(
    session: DbSession,
    _user: Viewer,
    severity: Annotated[list[Severity], Query(max_length=5)] = [],  # noqa: B006
    status: Annotated[list[Status], Query(max_length=4)] = [],  # noqa: B006
    detector: Annotated[SearchText | None, Query()] = None,
    kind: Annotated[SearchText | None, Query()] = None,
    ip: Annotated[SearchText | None, Query(description="Source or destination")] = None,
    assignee: Annotated[UserName | None, Query()] = None,
    since: Since = None,
    until: Until = None,
    q: Annotated[SearchText | None, Query(description="Substring of the title")] = None,
    sort: AlertSort = "-ts",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Paged[AlertSummary]:
    """Alerts matching every filter given (several severities or statuses: any of them)."""
    f = queries.AlertFilter(
        severity=severity,
        status=status,
        detector=detector,
        kind=kind,
        ip=ip,
        assignee=assignee,
        since=since,
        until=until,
        q=q,
    )
    rows, total = queries.list_alerts(session, f, page(offset, limit, sort))
    return Paged[AlertSummary](
        total=total,
        offset=offset,
        limit=limit,
        items=[AlertSummary.model_validate(r) for r in rows],
    )


@router.get("/alerts/{alert_id}", response_model=AlertDetail, responses=NOT_FOUND)
def get_alert(session: DbSession, _user: Viewer, alert_id: AlertId) -> AlertDetail:
    """One alert with its explanation, packet evidence and the incidents it is part of."""
    return detail(session, alert_id)


def _triage_route(path: str, action: str, doc: str) -> None:
    def handler(
        session: DbSession,
        user: Analyst,
        alert_id: AlertId,
        body: Annotated[TriageIn | None, Body()] = None,
    ) -> AlertDetail:
        row = triage.get_alert(session, alert_id)
        triage.change_status(
            session, row, action, actor=user.name, note=body.note if body else None
        )
        session.commit()
        return detail(session, alert_id)

    handler.__doc__ = doc
    handler.__name__ = f"alert_{path.replace('-', '_')}"
    router.post(
        f"/alerts/{{alert_id}}/{path}",
        response_model=AlertDetail,
        responses={**NOT_FOUND, **CONFLICT, **BAD_BODY},
    )(handler)


for _path, (_action, _doc) in ACTIONS.items():
    _triage_route(_path, _action, _doc)


@router.post(
    "/alerts/{alert_id}/assign", response_model=AlertDetail, responses={**NOT_FOUND, **BAD_BODY}
)
def assign_alert(
    session: DbSession, user: Analyst, alert_id: AlertId, body: AssignIn
) -> AlertDetail:
    """Give the alert to a user (``null`` takes it back)."""
    row = triage.get_alert(session, alert_id)
    triage.assign(session, row, body.assignee, actor=user.name)
    session.commit()
    return detail(session, alert_id)
