"""Stats for a dashboard: counts, alerts over time, and (for admins) the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...store import queries
from ..auth import Admin, Viewer
from ..deps import DbSession
from ..errors import RESPONSES
from ..schemas import AlertsOverTime, AuditOut, Ident, Paged, Stats, TimeBucket
from .common import Limit, Offset, Since, Until, page

router = APIRouter(tags=["stats"], responses=RESPONSES)


@router.get("/stats", response_model=Stats)
def get_stats(session: DbSession, _user: Viewer) -> Stats:
    """Assets by role and Purdue level, alerts by severity and status, incidents by status."""
    return Stats.model_validate(queries.stats(session))


@router.get("/stats/alerts-over-time", response_model=AlertsOverTime)
def alerts_over_time(
    session: DbSession,
    _user: Viewer,
    bucket_s: Annotated[int, Query(ge=1, le=31_536_000, description="Bucket width")] = 3600,
    since: Since = None,
    until: Until = None,
) -> AlertsOverTime:
    """Alerts per time bucket (capture time), split by severity; empty buckets left out."""
    buckets: dict[float, TimeBucket] = {}
    for start, severity, n in queries.alerts_over_time(session, bucket_s, since, until):
        b = buckets.setdefault(start, TimeBucket(start=start, total=0, by_severity={}))
        b.total += n
        b.by_severity[severity] = n
    return AlertsOverTime(bucket_s=bucket_s, buckets=list(buckets.values()))


@router.get("/audit", response_model=Paged[AuditOut], tags=["audit"])
def list_audit(
    session: DbSession,
    _user: Admin,
    actor: Annotated[Ident | None, Query()] = None,
    target_type: Annotated[Ident | None, Query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Paged[AuditOut]:
    """Every change made through the API or the CLI, newest first (admin only)."""
    rows, total = queries.list_audit(session, actor, target_type, page(offset, limit, ""))
    return Paged[AuditOut](
        total=total,
        offset=offset,
        limit=limit,
        items=[AuditOut.model_validate(r) for r in rows],
    )
