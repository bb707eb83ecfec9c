"""Top risks: which assets to look at first, with a score a person can recompute by hand.

score = open alerts (critical 10, high 6, medium 3, low 1 each; at most 40 in all)
      + 5 if a login crossed the network in clear to or from it (Telnet, FTP, HTTP Basic, MQTT)
      + 2 per OT service it answers (Modbus, S7, EtherNet/IP, DNP3, ...: at most 3 counted),
        as these protocols rarely authenticate anyone
      + 4 if an OT service of it is used by a host outside the control levels: enterprise
        (Purdue 4-5), unclassified, or not in the inventory at all.

It is a triage order, not a vulnerability score: it only says where the evidence is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, literal, or_, select, union, union_all
from sqlalchemy.orm import Session

from ...store.models import (
    AlertRow,
    AssetAddressRow,
    AssetRow,
    AssetServiceRow,
    ConversationRow,
    EventRow,
)
from .data import rows_by_id
from .palette import OT_PROTOCOLS

ALERT_POINTS = {"critical": 10, "high": 6, "medium": 3, "low": 1, "info": 0}
ALERT_CAP = 40
CLEARTEXT_POINTS = 5
OT_SERVICE_POINTS = 2
OT_SERVICE_CAP = 3
EXPOSED_POINTS = 4
OPEN = ("new", "acknowledged")
CLEARTEXT_DETECTOR = "cleartext-credentials"
CLEARTEXT_ACTION = "cleartext-credential"


@dataclass(slots=True)
class Risk:
    asset: AssetRow
    score: int
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Tally:
    alerts: dict[str, int] = field(default_factory=dict)
    cleartext: bool = False
    ot_services: int = 0
    exposed_to: int = 0

    def score(self) -> int:
        alert_points = sum(ALERT_POINTS.get(s, 0) * n for s, n in self.alerts.items())
        return (
            min(alert_points, ALERT_CAP)
            + (CLEARTEXT_POINTS if self.cleartext else 0)
            + OT_SERVICE_POINTS * min(self.ot_services, OT_SERVICE_CAP)
            + (EXPOSED_POINTS if self.exposed_to else 0)
        )

    def reasons(self) -> list[str]:
        out = []
        order = ("critical", "high", "medium", "low")
        parts = [f"{self.alerts[s]} {s}" for s in order if self.alerts.get(s)]
        if parts:
            out.append("open alerts: " + ", ".join(parts))
        if self.cleartext:
            out.append("cleartext login")
        if self.ot_services:
            out.append(f"{self.ot_services} OT service{'s' if self.ot_services > 1 else ''}")
        if self.exposed_to:
            n = self.exposed_to
            out.append(f"OT service used by {n} host{'s' if n > 1 else ''} outside levels 0-3")
        return out


Ids = Sequence[str] | None  # restrict a part to these assets (None: all of them)


def _capped(value: Any, cap: int) -> Any:
    return case((value > cap, cap), else_=value)


def _alert_links(ids: Ids) -> Any:
    """(asset, alert, severity) for every open alert above info with the asset at one end."""
    a, aa = AlertRow, AssetAddressRow

    def side(kind: str, column: Any) -> Select[tuple[str, str, str]]:
        stmt = (
            select(aa.asset_id, a.alert_id, a.severity)
            .join(aa, and_(aa.kind == kind, aa.value == column))
            .where(a.status.in_(OPEN), a.severity != "info")
        )
        return stmt.where(aa.asset_id.in_(ids)) if ids is not None else stmt

    return union(
        side("ip", a.src_ip), side("ip", a.dst_ip), side("mac", a.src_mac), side("mac", a.dst_mac)
    ).subquery()


def _cleartext(ids: Ids) -> Select[tuple[str]]:
    """Assets at either end of a login sent in clear (an alert or a stored event says so)."""
    addresses = union(
        select(AlertRow.src_ip).where(AlertRow.detector == CLEARTEXT_DETECTOR),
        select(AlertRow.dst_ip).where(AlertRow.detector == CLEARTEXT_DETECTOR),
        select(EventRow.src).where(EventRow.action == CLEARTEXT_ACTION),
        select(EventRow.dst).where(EventRow.action == CLEARTEXT_ACTION),
    ).subquery()
    aa = AssetAddressRow
    stmt = select(aa.asset_id).where(aa.value.in_(select(addresses.c[0]))).distinct()
    return stmt.where(aa.asset_id.in_(ids)) if ids is not None else stmt


def _ot_services(ids: Ids) -> Select[tuple[str, int]]:
    s = AssetServiceRow
    stmt = select(s.asset_id, func.count()).where(s.protocol.in_(sorted(OT_PROTOCOLS)))
    if ids is not None:
        stmt = stmt.where(s.asset_id.in_(ids))
    return stmt.group_by(s.asset_id)


def _exposed(ids: Ids) -> Select[tuple[str | None, int]]:
    """Per asset, how many hosts outside levels 0-3 use one of its OT services: enterprise
    (4-5), of unknown level, or not in the inventory at all."""
    c = ConversationRow
    inside = select(AssetRow.asset_id).where(AssetRow.purdue_level <= 3)
    stmt = select(c.server_asset_id, func.count(c.client.distinct())).where(
        c.protocol.in_(sorted(OT_PROTOCOLS)),
        c.server_asset_id.is_not(None),
        or_(c.client_asset_id.is_(None), c.client_asset_id.not_in(inside)),
    )
    if ids is not None:
        stmt = stmt.where(c.server_asset_id.in_(ids))
    return stmt.group_by(c.server_asset_id)


def _scores(session: Session, n: int) -> list[tuple[str, int]]:
    """The top ``n`` (asset, score), computed in the database: no per-asset Python work."""
    links = _alert_links(None)
    points = case(ALERT_POINTS, value=links.c.severity, else_=0)
    exposed = _exposed(None).subquery()
    services = _ot_services(None).subquery()
    cleartext = _cleartext(None).subquery()
    parts = union_all(
        select(links.c.asset_id, _capped(func.sum(points), ALERT_CAP)).group_by(links.c.asset_id),
        select(cleartext.c.asset_id, literal(CLEARTEXT_POINTS, Integer)),
        select(services.c.asset_id, OT_SERVICE_POINTS * _capped(services.c[1], OT_SERVICE_CAP)),
        select(exposed.c[0], literal(EXPOSED_POINTS, Integer)),
    ).subquery()
    score = func.sum(parts.c[1]).label("score")
    stmt = (
        select(parts.c[0], score)
        .where(parts.c[0].is_not(None))
        .group_by(parts.c[0])
        .having(score > 0)
        .order_by(score.desc(), parts.c[0])
        .limit(n)
    )
    return [(str(asset_id), int(points)) for asset_id, points in session.execute(stmt)]


def _tallies(session: Session, ids: list[str]) -> dict[str, _Tally]:
    """What makes up the score of each of ``ids``, to say why."""
    tally: dict[str, _Tally] = defaultdict(_Tally)
    links = _alert_links(ids)
    counts = select(links.c.asset_id, links.c.severity, func.count()).group_by(
        links.c.asset_id, links.c.severity
    )
    for asset_id, severity, k in session.execute(counts):
        tally[asset_id].alerts[severity] = int(k)
    for asset_id in session.scalars(_cleartext(ids)):
        tally[asset_id].cleartext = True
    for asset_id, k in session.execute(_ot_services(ids)):
        tally[asset_id].ot_services = int(k)
    for asset_id, k in session.execute(_exposed(ids)):
        if asset_id is not None:
            tally[asset_id].exposed_to = int(k)
    return tally


def top_risks(session: Session, n: int = 10) -> list[Risk]:
    """The ``n`` assets with the highest score (ties: by asset id), with their reasons."""
    scored = _scores(session, n)
    ids = [asset_id for asset_id, _ in scored]
    rows = rows_by_id(session, ids)
    tally = _tallies(session, ids)
    return [Risk(rows[aid], score, tally[aid].reasons()) for aid, score in scored if aid in rows]
