"""The dashboard: counts, assets by role and level, alerts over capture time, top risks."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ....alerts.model import SEVERITIES
from ....inventory.model import ROLES
from ....store import queries
from ....store.models import AlertRow
from ...deps import DbSession
from ..charts import Histogram, bar_chart, bucket_width, histogram
from ..fmt import duration, when
from ..palette import role_class, role_label
from ..render import page
from ..risk import ALERT_POINTS, top_risks
from ..session import User

router = APIRouter()

LEVEL_NAMES = {
    "0": "Level 0 · Process",
    "1": "Level 1 · Control",
    "2": "Level 2 · Supervisory",
    "3": "Level 3 · Operations",
    "4": "Level 4 · Enterprise",
    "5": "Level 5 · Enterprise",
    "none": "Unknown",
}


def alerts_histogram(session: Session) -> Histogram | None:
    """Alerts per bucket of capture time, stacked by severity; None without alerts."""
    lo, hi = session.execute(select(func.min(AlertRow.ts), func.max(AlertRow.ts))).one()
    if lo is None:
        return None
    bucket_s = bucket_width(float(hi) - float(lo))
    counts: dict[float, dict[str, int]] = defaultdict(dict)
    for start, severity, n in queries.alerts_over_time(session, bucket_s, None, None):
        counts[start][severity] = n

    def link(b0: float, b1: float) -> str:
        return f"/alerts?status=all&since={b0:.0f}&until={b1:.0f}"

    def describe(b0: float, b1: float, by: dict[str, int]) -> str:
        parts = [f"{by[s]} {s}" for s in reversed(SEVERITIES) if by.get(s)]
        return f"{when(b0)} + {duration(b1 - b0)}: " + (", ".join(parts) or "no alerts")

    first = float(lo) // bucket_s * bucket_s
    last = float(hi) // bucket_s * bucket_s
    series = [(s, f"fill-sev-{s}") for s in SEVERITIES]
    return histogram(
        counts, series, start=first, end=last, bucket_s=bucket_s, link=link, describe=describe
    )


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, user: User) -> HTMLResponse:
    stats = queries.stats(session)
    by_role = stats["assets_by_role"]
    roles = sorted(by_role, key=lambda r: (-by_role[r], ROLES.index(r) if r in ROLES else 99))
    role_chart = bar_chart(
        [(role_label(r), by_role[r], role_class(r), f"/assets?role={r}") for r in roles]
    )
    by_level = stats["assets_by_purdue_level"]
    levels = [k for k in ("4", "5", "3", "2", "1", "0", "none") if k in by_level]
    level_chart = bar_chart(
        [
            (
                LEVEL_NAMES.get(k, k),
                by_level[k],
                f"level-{k}",
                f"/assets?level={'unknown' if k == 'none' else k}",
            )
            for k in levels
        ]
    )
    by_status = stats["alerts_by_status"]
    open_alerts = by_status.get("new", 0) + by_status.get("acknowledged", 0)
    open_by_severity = {
        str(sev): int(n)
        for sev, n in session.execute(
            select(AlertRow.severity, func.count())
            .where(AlertRow.status.in_(("new", "acknowledged")))
            .group_by(AlertRow.severity)
        )
    }
    severity_chart = bar_chart(
        [
            (
                sev.capitalize(),
                open_by_severity.get(sev, 0),
                f"sevc-{sev}",
                f"/alerts?severity={sev}",
            )
            for sev in reversed(SEVERITIES)
        ]
    )
    recent, _ = queries.list_alerts(
        session,
        queries.AlertFilter(status=("new", "acknowledged")),
        queries.Page(limit=8, sort="-severity"),
    )
    return page(
        request,
        "dashboard.html",
        user=user,
        stats=stats,
        open_alerts=open_alerts,
        open_by_severity=open_by_severity,
        severities=list(reversed(SEVERITIES)),
        role_chart=role_chart,
        level_chart=level_chart,
        severity_chart=severity_chart,
        histogram=alerts_histogram(session),
        risks=top_risks(session),
        alert_points=ALERT_POINTS,
        recent=recent,
    )
