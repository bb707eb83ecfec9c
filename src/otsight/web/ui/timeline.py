"""The timeline: alerts, assets appearing and operations of note, in capture time.

Alerts that an analyst grouped into an incident are shown together under it, placed at the
time of its first alert in view. A window too busy to list whole is cut at ``LIMIT`` entries
of each kind, and the page says so: zoom in on the axis to see the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast, func, select
from sqlalchemy.orm import Session

from ...alerts.model import SEVERITIES
from ...store.models import AlertRow, AssetRow, EventRow, IncidentAlertRow, IncidentRow
from .charts import Histogram, bucket_width, histogram
from .fmt import alert_url, asset_url, display_name, duration, when
from .palette import role_label

LIMIT = 300


@dataclass(slots=True)
class Entry:
    ts: float
    kind: str  # alert | asset | event
    title: str
    detail: str
    href: str | None
    severity: str | None = None
    status: str | None = None


@dataclass(slots=True)
class Group:
    ts: float
    incident: IncidentRow | None
    entries: list[Entry] = field(default_factory=list)


@dataclass(slots=True)
class Timeline:
    start: float
    end: float
    full_start: float
    full_end: float
    axis: Histogram | None
    groups: list[Group]
    notes: list[str]
    counts: dict[str, int]


def _bucket(session: Session, col: Any, bucket_s: int) -> Any:
    scaled = col / bucket_s
    floor = func.floor(scaled) if session.get_bind().dialect.name == "postgresql" else scaled
    return cast(floor, BigInteger)


def _range(session: Session, events: bool) -> tuple[float, float] | None:
    lows, highs = [], []
    parts: list[tuple[Any, list[ColumnElement[bool]]]] = [
        (AlertRow.ts, []),
        (AssetRow.first_seen, [AssetRow.first_seen > 0]),
    ]
    if events:
        parts.append((EventRow.ts, []))
    for col, where in parts:
        lo, hi = session.execute(select(func.min(col), func.max(col)).where(*where)).one()
        if lo is not None:
            lows.append(float(lo))
            highs.append(float(hi))
    return (min(lows), max(highs)) if lows else None


def _counts(
    session: Session, col: Any, key: Any, where: list[ColumnElement[bool]], bucket_s: int
) -> list[tuple[float, str, int]]:
    """(bucket start, key, count) per bucket of ``col`` (and per ``key`` if given)."""
    b = _bucket(session, col, bucket_s).label("b")
    if key is None:
        stmt = select(b, func.count()).where(*where).group_by(b)
        return [(float(i) * bucket_s, "", int(n)) for i, n in session.execute(stmt)]
    stmt = select(b, key, func.count()).where(*where).group_by(b, key)
    return [(float(i) * bucket_s, str(k), int(n)) for i, k, n in session.execute(stmt)]


def build(
    session: Session,
    *,
    since: float | None,
    until: float | None,
    events: bool,
    link: Callable[[float, float], str | None],
) -> Timeline | None:
    """The timeline of ``[since, until)`` (default: everything); None if the store is empty."""
    full = _range(session, events)
    if full is None:
        return None
    start = full[0] if since is None else since
    end = full[1] + 1e-6 if until is None else until
    if end <= start:
        end = start + 1.0
    bucket_s = bucket_width(end - start)
    a0, a1 = start // bucket_s * bucket_s, (end - 1e-9) // bucket_s * bucket_s

    in_alerts = [AlertRow.ts >= start, AlertRow.ts < end]
    in_assets = [AssetRow.first_seen >= start, AssetRow.first_seen < end, AssetRow.first_seen > 0]
    in_events = [EventRow.ts >= start, EventRow.ts < end]
    counts: dict[float, dict[str, int]] = defaultdict(dict)
    for b, sev, n in _counts(session, AlertRow.ts, AlertRow.severity, in_alerts, bucket_s):
        counts[b][sev] = n
    for b, _, n in _counts(session, AssetRow.first_seen, None, in_assets, bucket_s):
        counts[b]["asset"] = n
    if events:
        for b, _, n in _counts(session, EventRow.ts, None, in_events, bucket_s):
            counts[b]["event"] = n
    series = [("asset", "fill-asset"), ("event", "fill-event")] + [
        (s, f"fill-sev-{s}") for s in SEVERITIES
    ]

    def describe(b0: float, b1: float, by: dict[str, int]) -> str:
        parts = [f"{n} {k if k in ('asset', 'event') else k + ' alert'}" for k, n in by.items()]
        return f"{when(b0)} + {duration(b1 - b0)}: " + (", ".join(parts) or "nothing")

    axis = histogram(
        counts, series, start=a0, end=a1, bucket_s=bucket_s, link=link, describe=describe
    )
    totals = {k: sum(c.get(k, 0) for c in counts.values()) for k in ("asset", "event")}
    totals["alert"] = sum(n for c in counts.values() for k, n in c.items() if k in SEVERITIES)

    notes: list[str] = []
    alerts = list(
        session.scalars(
            select(AlertRow).where(*in_alerts).order_by(AlertRow.ts, AlertRow.alert_id).limit(LIMIT)
        )
    )
    assets = list(
        session.scalars(
            select(AssetRow)
            .where(*in_assets)
            .order_by(AssetRow.first_seen, AssetRow.asset_id)
            .limit(LIMIT)
        )
    )
    rows_ev = (
        list(session.scalars(select(EventRow).where(*in_events).order_by(EventRow.ts).limit(LIMIT)))
        if events
        else []
    )
    for kind, shown in (("alert", len(alerts)), ("asset", len(assets)), ("event", len(rows_ev))):
        if totals[kind] > shown:
            notes.append(
                f"Showing the first {shown} of {totals[kind]} {kind}s in this window: "
                "click a bar of the axis to zoom in."
            )
    groups = _group(session, alerts, assets, rows_ev)
    return Timeline(start, end, full[0], full[1], axis, groups, notes, totals)


def _group(
    session: Session, alerts: list[AlertRow], assets: list[AssetRow], events: list[EventRow]
) -> list[Group]:
    membership: dict[str, str] = {}
    incidents: dict[str, IncidentRow] = {}
    ids = [a.alert_id for a in alerts]
    for i in range(0, len(ids), 500):
        for alert_id, incident_id in session.execute(
            select(IncidentAlertRow.alert_id, IncidentAlertRow.incident_id).where(
                IncidentAlertRow.alert_id.in_(ids[i : i + 500])
            )
        ):
            membership.setdefault(alert_id, incident_id)
    wanted = sorted(set(membership.values()))
    if wanted:
        stmt = select(IncidentRow).where(IncidentRow.incident_id.in_(wanted))
        incidents = {r.incident_id: r for r in session.scalars(stmt)}

    by_incident: dict[str, Group] = {}
    groups: list[Group] = []
    for a in alerts:
        entry = Entry(
            a.ts,
            "alert",
            a.title,
            f"{a.detector} · {a.technique_id} {a.technique}",
            alert_url(a.alert_id),
            a.severity,
            a.status,
        )
        inc_id = membership.get(a.alert_id)
        if inc_id is not None and inc_id in incidents:
            group = by_incident.get(inc_id)
            if group is None:
                group = by_incident[inc_id] = Group(a.ts, incidents[inc_id])
                groups.append(group)
            group.entries.append(entry)
        else:
            groups.append(Group(a.ts, None, [entry]))
    for r in assets:
        what = r.vendor or "unknown vendor"
        addresses = ", ".join((r.ips or [])[:2] or (r.macs or [])[:1])
        detail = f"{role_label(r.role)} · {what} · {addresses}"
        groups.append(
            Group(
                r.first_seen,
                None,
                [
                    Entry(
                        r.first_seen,
                        "asset",
                        f"New asset {display_name(r)}",
                        detail,
                        asset_url(r.asset_id),
                    )
                ],
            )
        )
    for e in events:
        ends = f"{e.src or '?'} → {e.dst or '?'}"
        groups.append(
            Group(e.ts, None, [Entry(e.ts, "event", f"{e.protocol} {e.action}", ends, None)])
        )
    groups.sort(key=lambda g: g.ts)
    return groups
