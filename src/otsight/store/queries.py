"""Reading the store for the API: filtered, sorted, paged lists with their totals, and stats.

Filters are plain values already checked by the caller (the API's schemas); each list returns
``(rows, total)`` where ``total`` counts every row the filters match, not just the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, Select, case, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..alerts.model import SEVERITIES
from .models import (
    AlertRow,
    AssetAddressRow,
    AssetRow,
    AuditRow,
    BaselineRow,
    ConversationRow,
    EventRow,
    IncidentAlertRow,
    IncidentRow,
    SensorRow,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    offset: int = 0
    limit: int = 50
    sort: str = ""  # a column name; "-name" sorts descending


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's own wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _paged(
    session: Session,
    stmt: Select[tuple[T]],
    where: Sequence[ColumnElement[bool]],
    page: Page,
    columns: dict[str, Any],
    default_sort: str,
    tiebreak: Any,
) -> tuple[list[T], int]:
    stmt = stmt.where(*where)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    sort = page.sort or default_sort
    col = columns[sort.lstrip("-")]
    order = col.desc() if sort.startswith("-") else col.asc()
    rows = session.scalars(stmt.order_by(order, tiebreak).offset(page.offset).limit(page.limit))
    return list(rows.all()), int(total)


ASSET_SORTS = {
    "asset_id": AssetRow.asset_id,
    "role": AssetRow.role,
    "purdue_level": AssetRow.purdue_level,
    "vendor": AssetRow.vendor,
    "first_seen": AssetRow.first_seen,
    "last_seen": AssetRow.last_seen,
    "packets": AssetRow.packets,
    "bytes": AssetRow.bytes,
}


@dataclass(frozen=True, slots=True)
class AssetFilter:
    role: str | None = None
    purdue_level: int | None = None
    vendor: str | None = None  # substring, case-insensitive
    ip: str | None = None  # exact
    mac: str | None = None  # exact, lowercase
    q: str | None = None  # substring of any identity or attribute


def list_assets(session: Session, f: AssetFilter, page: Page) -> tuple[list[AssetRow], int]:
    where: list[ColumnElement[bool]] = []
    if f.role is not None:
        where.append(AssetRow.role == f.role)
    if f.purdue_level is not None:
        where.append(AssetRow.purdue_level == f.purdue_level)
    if f.vendor:
        where.append(func.lower(AssetRow.vendor).like(_like(f.vendor), escape="\\"))
    for kind, value in (("ip", f.ip), ("mac", f.mac)):
        if value:
            where.append(
                AssetRow.asset_id.in_(
                    select(AssetAddressRow.asset_id).where(
                        AssetAddressRow.kind == kind, AssetAddressRow.value == value
                    )
                )
            )
    if f.q:
        where.append(AssetRow.search_text.like(_like(f.q), escape="\\"))
    return _paged(
        session, select(AssetRow), where, page, ASSET_SORTS, "-last_seen", AssetRow.asset_id
    )


def get_asset(session: Session, asset_id: str) -> AssetRow | None:
    return session.scalar(
        select(AssetRow)
        .where(AssetRow.asset_id == asset_id)
        .options(
            selectinload(AssetRow.evidence),
            selectinload(AssetRow.conflicts),
            selectinload(AssetRow.services),
        )
    )


CONVERSATION_SORTS = {
    "bytes": ConversationRow.bytes,
    "packets": ConversationRow.packets,
    "flows": ConversationRow.flows,
    "first_seen": ConversationRow.first_seen,
    "last_seen": ConversationRow.last_seen,
    "port": ConversationRow.port,
}


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    asset_id: str | None = None  # either side
    address: str | None = None  # either side, exact
    protocol: str | None = None
    transport: str | None = None
    port: int | None = None


def list_conversations(
    session: Session, f: ConversationFilter, page: Page
) -> tuple[list[ConversationRow], int]:
    c = ConversationRow
    where: list[ColumnElement[bool]] = []
    if f.asset_id:
        where.append(or_(c.client_asset_id == f.asset_id, c.server_asset_id == f.asset_id))
    if f.address:
        where.append(or_(c.client == f.address, c.server == f.address))
    if f.protocol:
        where.append(c.protocol == f.protocol)
    if f.transport:
        where.append(c.transport == f.transport)
    if f.port is not None:
        where.append(c.port == f.port)
    return _paged(session, select(c), where, page, CONVERSATION_SORTS, "-bytes", c.id)


def _rank(col: Any) -> Any:
    """Severity as its rank (info 0 ... critical 4), so sorting by it means something."""
    return case({name: i for i, name in enumerate(SEVERITIES)}, value=col, else_=-1)


ALERT_SORTS = {
    "ts": AlertRow.ts,
    "severity": _rank(AlertRow.severity),
    "status": AlertRow.status,
    "count": AlertRow.count,
    "kind": AlertRow.kind,
}


@dataclass(frozen=True, slots=True)
class AlertFilter:
    severity: Sequence[str] = ()
    status: Sequence[str] = ()
    detector: str | None = None
    kind: str | None = None
    ip: str | None = None  # source or destination
    assignee: str | None = None
    since: float | None = None
    until: float | None = None
    q: str | None = None  # substring of the title


def list_alerts(session: Session, f: AlertFilter, page: Page) -> tuple[list[AlertRow], int]:
    a = AlertRow
    where: list[ColumnElement[bool]] = []
    if f.severity:
        where.append(a.severity.in_(list(f.severity)))
    if f.status:
        where.append(a.status.in_(list(f.status)))
    if f.detector:
        where.append(a.detector == f.detector)
    if f.kind:
        where.append(a.kind == f.kind)
    if f.ip:
        where.append(or_(a.src_ip == f.ip, a.dst_ip == f.ip))
    if f.assignee:
        where.append(a.assignee == f.assignee)
    if f.since is not None:
        where.append(a.ts >= f.since)
    if f.until is not None:
        where.append(a.ts < f.until)
    if f.q:
        where.append(func.lower(a.title).like(_like(f.q), escape="\\"))
    return _paged(session, select(a), where, page, ALERT_SORTS, "-ts", a.alert_id)


def get_alert_detail(session: Session, alert_id: str) -> AlertRow | None:
    return session.scalar(
        select(AlertRow)
        .where(AlertRow.alert_id == alert_id)
        .options(selectinload(AlertRow.evidence))
    )


def incident_ids_of(session: Session, alert_id: str) -> list[str]:
    return list(
        session.scalars(
            select(IncidentAlertRow.incident_id).where(IncidentAlertRow.alert_id == alert_id)
        )
    )


INCIDENT_SORTS = {
    "created_at": IncidentRow.created_at,
    "updated_at": IncidentRow.updated_at,
    "severity": _rank(IncidentRow.severity),
    "status": IncidentRow.status,
}


def list_incidents(
    session: Session, status: Sequence[str], severity: Sequence[str], page: Page
) -> tuple[list[IncidentRow], int]:
    where: list[ColumnElement[bool]] = []
    if status:
        where.append(IncidentRow.status.in_(list(status)))
    if severity:
        where.append(IncidentRow.severity.in_(list(severity)))
    stmt = select(IncidentRow).options(selectinload(IncidentRow.alerts))
    return _paged(
        session, stmt, where, page, INCIDENT_SORTS, "-updated_at", IncidentRow.incident_id
    )


EVENT_SORTS = {"ts": EventRow.ts, "protocol": EventRow.protocol, "action": EventRow.action}


@dataclass(frozen=True, slots=True)
class EventFilter:
    protocol: str | None = None
    action: str | None = None
    address: str | None = None  # source or destination, exact
    since: float | None = None
    until: float | None = None


def list_events(session: Session, f: EventFilter, page: Page) -> tuple[list[EventRow], int]:
    e = EventRow
    where: list[ColumnElement[bool]] = []
    if f.protocol:
        where.append(e.protocol == f.protocol)
    if f.action:
        where.append(e.action == f.action)
    if f.address:
        where.append(or_(e.src == f.address, e.dst == f.address))
    if f.since is not None:
        where.append(e.ts >= f.since)
    if f.until is not None:
        where.append(e.ts < f.until)
    return _paged(session, select(e), where, page, EVENT_SORTS, "-ts", e.id)


def list_baselines(session: Session) -> list[BaselineRow]:
    return list(session.scalars(select(BaselineRow).order_by(BaselineRow.name)))


def list_sensors(session: Session) -> list[SensorRow]:
    """Every sensor's status, by name."""
    return list(session.scalars(select(SensorRow).order_by(SensorRow.name)))


def get_sensor(session: Session, name: str) -> SensorRow | None:
    """One sensor's status (None if that sensor never reported)."""
    return session.get(SensorRow, name)


def list_audit(
    session: Session, actor: str | None, target_type: str | None, page: Page
) -> tuple[list[AuditRow], int]:
    where: list[ColumnElement[bool]] = []
    if actor:
        where.append(AuditRow.actor == actor)
    if target_type:
        where.append(AuditRow.target_type == target_type)
    return _paged(session, select(AuditRow), where, page, {"at": AuditRow.at}, "-at", AuditRow.id)


# --- stats ------------------------------------------------------------------------------------


def _counts(session: Session, col: Any) -> dict[str, int]:
    rows = session.execute(select(col, func.count()).group_by(col)).all()
    return {("none" if k is None else str(k)): int(n) for k, n in rows}


def stats(session: Session) -> dict[str, Any]:
    """Counts for a dashboard: assets by role and Purdue level, alerts by severity and status."""
    return {
        "assets": session.scalar(select(func.count()).select_from(AssetRow)) or 0,
        "assets_by_role": _counts(session, AssetRow.role),
        "assets_by_purdue_level": _counts(session, AssetRow.purdue_level),
        "alerts": session.scalar(select(func.count()).select_from(AlertRow)) or 0,
        "alerts_by_severity": _counts(session, AlertRow.severity),
        "alerts_by_status": _counts(session, AlertRow.status),
        "incidents": session.scalar(select(func.count()).select_from(IncidentRow)) or 0,
        "incidents_by_status": _counts(session, IncidentRow.status),
        "conversations": session.scalar(select(func.count()).select_from(ConversationRow)) or 0,
        "events": session.scalar(select(func.count()).select_from(EventRow)) or 0,
    }


def alerts_over_time(
    session: Session, bucket_s: int, since: float | None, until: float | None
) -> list[tuple[float, str, int]]:
    """(bucket start, severity, count) for every non-empty bucket of ``bucket_s`` seconds."""
    dialect = session.get_bind().dialect.name
    scaled = AlertRow.ts / bucket_s
    # CAST truncates in SQLite but rounds in PostgreSQL: floor() there (ts is never negative).
    index = cast(func.floor(scaled) if dialect == "postgresql" else scaled, BigInteger)
    stmt = select(index.label("b"), AlertRow.severity, func.count()).group_by(
        "b", AlertRow.severity
    )
    if since is not None:
        stmt = stmt.where(AlertRow.ts >= since)
    if until is not None:
        stmt = stmt.where(AlertRow.ts < until)
    rows = session.execute(stmt.order_by("b", AlertRow.severity)).all()
    return [(float(b) * bucket_s, str(sev), int(n)) for b, sev, n in rows]
