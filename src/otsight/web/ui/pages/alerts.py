"""The alert queue with triage, one alert's page, and the triage form posts.

Triage goes through :mod:`otsight.store.triage`, as the API's does: the same status rules,
and one audit entry per change, with the signed-in user as the actor.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from ....alerts.model import SEVERITIES
from ....store import queries, triage
from ....store.errors import Invalid, InvalidChange
from ....store.models import TRIAGE_STATUSES, AlertRow, IncidentRow
from ...deps import DbSession
from .. import data
from ..params import Here, Params, UiError, number_text
from ..render import page
from ..session import CheckedForm, User, require_analyst, safe_next

router = APIRouter()

SORTS = [c for name in queries.ALERT_SORTS for c in (name, f"-{name}")]
STATUS_VIEWS = {
    "open": ("new", "acknowledged"),
    "all": (),
    **{s: (s,) for s in TRIAGE_STATUSES},
}
# UI action -> store action; which statuses show the button.
ACTIONS = {
    "acknowledge": ("acknowledge", "Acknowledge"),
    "resolve": ("resolve", "Resolve"),
    "expected": ("expected", "Mark expected"),
    "reopen": ("reopen", "Reopen"),
}


def actions_for(status: str) -> list[tuple[str, str]]:
    """The triage buttons that apply to an alert in ``status``."""
    return [
        (ui, label)
        for ui, (action, label) in ACTIONS.items()
        if status in triage.TRANSITIONS[action][0]
    ]


@router.get("/alerts", response_class=HTMLResponse)
def queue(request: Request, session: DbSession, user: User) -> HTMLResponse:
    p = Params(request.query_params)
    view = p.choice("status", list(STATUS_VIEWS), "open") or "open"
    severity = p.choice("severity", SEVERITIES)
    detector = p.text("detector", max_len=64)
    q = p.text("q")
    since = p.number("since", 0, 1e11)
    until = p.number("until", 0, 1e11)
    sort = p.choice("sort", SORTS, "-ts") or "-ts"
    offset, limit = p.page()
    f = queries.AlertFilter(
        status=STATUS_VIEWS[view],
        severity=(severity,) if severity else (),
        detector=detector,
        q=q,
        since=since,
        until=until,
    )
    rows, total = queries.list_alerts(session, f, queries.Page(offset, limit, sort))
    refs = data.assets_by_address(
        session, [x for r in rows for x in (r.src_ip, r.dst_ip, r.src_mac, r.dst_mac)]
    )
    here = Here(
        "/alerts",
        {
            "status": view if view != "open" else None,
            "severity": severity,
            "detector": detector,
            "q": q,
            "since": number_text(since),
            "until": number_text(until),
            "sort": sort,
            "limit": limit if limit != 50 else None,
            "offset": offset,
        },
    )
    return page(
        request,
        "alerts.html",
        user=user,
        rows=rows,
        total=total,
        offset=offset,
        limit=limit,
        sort=sort,
        here=here,
        back=here.with_(offset=offset or None),
        refs=refs,
        f={"status": view, "severity": severity, "detector": detector, "q": q},
        window=(since, until),
        views=list(STATUS_VIEWS),
        severities=list(reversed(SEVERITIES)),
        detectors=data.detectors(session),
        actions_for=actions_for,
    )


@router.get("/alerts/{alert_id:path}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: str, session: DbSession, user: User) -> HTMLResponse:
    if not alert_id or len(alert_id) > 255 or "\x00" in alert_id:
        raise UiError(404, "no such alert")
    row = queries.get_alert_detail(session, alert_id)
    if row is None:
        raise UiError(404, f"alert {alert_id[:80]!r} not found")
    incident_ids = queries.incident_ids_of(session, alert_id)
    incidents = (
        list(session.scalars(select(IncidentRow).where(IncidentRow.incident_id.in_(incident_ids))))
        if incident_ids
        else []
    )
    refs = data.assets_by_address(session, (row.src_ip, row.dst_ip, row.src_mac, row.dst_mac))
    return page(
        request,
        "alert.html",
        user=user,
        a=row,
        incidents=incidents,
        refs=refs,
        actions=actions_for(row.status),
        back=request.url.path,
        users=data.user_names(session) if user.can_triage else [],
    )


@router.post("/ui/alerts/triage")
def triage_post(session: DbSession, user: User, fields: CheckedForm) -> Response:
    """Acknowledge, resolve, mark expected, reopen or assign one alert, then go back."""
    require_analyst(user)
    action = fields.get("action", "")
    if action not in ACTIONS and action != "assign":
        raise UiError(400, f"action must be one of {', '.join([*ACTIONS, 'assign'])}")
    alert_id = fields.get("alert_id", "")
    row = session.get(AlertRow, alert_id) if 0 < len(alert_id) <= 255 else None
    if row is None:
        raise UiError(404, f"alert {alert_id[:80]!r} not found")
    note = fields.get("note", "").strip()[:4000] or None
    try:
        if action == "assign":
            triage.assign(session, row, fields.get("assignee") or None, actor=user.name)
        else:
            triage.change_status(session, row, ACTIONS[action][0], actor=user.name, note=note)
    except InvalidChange as exc:
        raise UiError(409, str(exc)) from None
    except Invalid as exc:
        raise UiError(400, str(exc)) from None
    session.commit()
    return RedirectResponse(safe_next(fields.get("next")), status_code=303)
