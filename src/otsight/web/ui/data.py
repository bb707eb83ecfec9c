"""What the pages read beyond the API's queries: a few more filters and look-ups, all bounded.

Every function here is one or two SQL statements whatever the number of rows it covers, so a
page costs the same number of round trips for ten assets or ten thousand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Text, cast, func, or_, select
from sqlalchemy.orm import Session

from ...store.models import (
    AlertRow,
    AssetAddressRow,
    AssetRow,
    AssetServiceRow,
    ConversationRow,
    UserRow,
)
from ...store.queries import ASSET_SORTS
from .fmt import display_name

CHUNK = 500


def like(text: str) -> str:
    """A LIKE pattern for ``text`` anywhere, LIKE's wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class AssetQuery:
    q: str | None = None
    role: str | None = None
    level: int | None = None
    level_unknown: bool = False
    vendor: str | None = None
    protocol: str | None = None


def list_assets(
    session: Session, f: AssetQuery, offset: int, limit: int, sort: str
) -> tuple[list[AssetRow], int]:
    """One page of assets matching ``f``, and how many match in all."""
    where: list[ColumnElement[bool]] = []
    if f.q:
        where.append(AssetRow.search_text.like(like(f.q), escape="\\"))
    if f.role:
        where.append(AssetRow.role == f.role)
    if f.level_unknown:
        where.append(AssetRow.purdue_level.is_(None))
    elif f.level is not None:
        where.append(AssetRow.purdue_level == f.level)
    if f.vendor:
        where.append(func.lower(AssetRow.vendor).like(like(f.vendor), escape="\\"))
    if f.protocol:
        # protocols is a JSON list of names: '"modbus"' appears in its text exactly when the
        # list holds it (names are checked to be [a-z0-9_.-], so nothing else can match).
        pattern = like(f'"{f.protocol}"')
        where.append(func.lower(cast(AssetRow.protocols, Text)).like(pattern, escape="\\"))
    total = session.scalar(select(func.count()).select_from(AssetRow).where(*where)) or 0
    col = ASSET_SORTS[sort.lstrip("-")]
    order = col.desc() if sort.startswith("-") else col.asc()
    stmt = select(AssetRow).where(*where).order_by(order, AssetRow.asset_id)
    return list(session.scalars(stmt.offset(offset).limit(limit))), int(total)


def protocols_seen(session: Session) -> list[str]:
    """Every protocol a conversation or a service was seen with, for filter menus."""
    conv = session.scalars(select(ConversationRow.protocol).distinct())
    serv = session.scalars(select(AssetServiceRow.protocol).distinct())
    return sorted(set(conv) | set(serv))


def top_vendors(session: Session, n: int = 60) -> list[str]:
    rows = session.execute(
        select(AssetRow.vendor, func.count())
        .where(AssetRow.vendor.is_not(None))
        .group_by(AssetRow.vendor)
        .order_by(func.count().desc(), AssetRow.vendor)
        .limit(n)
    )
    return sorted(str(v) for v, _ in rows)


def detectors(session: Session) -> list[str]:
    return list(session.scalars(select(AlertRow.detector).distinct().order_by(AlertRow.detector)))


def user_names(session: Session) -> list[str]:
    stmt = select(UserRow.name).where(UserRow.disabled.is_(False)).order_by(UserRow.name)
    return list(session.scalars(stmt))


def rows_by_id(session: Session, ids: Iterable[str]) -> dict[str, AssetRow]:
    wanted = sorted({i for i in ids if i})
    out: dict[str, AssetRow] = {}
    for i in range(0, len(wanted), CHUNK):
        stmt = select(AssetRow).where(AssetRow.asset_id.in_(wanted[i : i + CHUNK]))
        out.update((r.asset_id, r) for r in session.scalars(stmt))
    return out


@dataclass(frozen=True, slots=True)
class AssetRef:
    asset_id: str
    name: str


def assets_by_address(session: Session, addresses: Iterable[str | None]) -> dict[str, AssetRef]:
    """The asset using each address (IP or MAC), for linking addresses to asset pages."""
    wanted = sorted({a for a in addresses if a})
    owner: dict[str, str] = {}
    for i in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(AssetAddressRow.value, AssetAddressRow.asset_id)
            .where(
                AssetAddressRow.kind.in_(("ip", "mac")),
                AssetAddressRow.value.in_(wanted[i : i + CHUNK]),
            )
            .order_by(AssetAddressRow.id)
        )
        for value, asset_id in rows:
            owner.setdefault(value, asset_id)
    rows_ = rows_by_id(session, owner.values())
    return {
        addr: AssetRef(aid, display_name(rows_[aid])) for addr, aid in owner.items() if aid in rows_
    }


def alerts_for_asset(
    session: Session, ips: Sequence[str], macs: Sequence[str], limit: int
) -> tuple[list[AlertRow], int]:
    """Alerts with this asset at either end, newest first."""
    a = AlertRow
    terms: list[ColumnElement[bool]] = []
    if ips:
        terms += [a.src_ip.in_(list(ips)), a.dst_ip.in_(list(ips))]
    if macs:
        terms += [a.src_mac.in_(list(macs)), a.dst_mac.in_(list(macs))]
    if not terms:
        return [], 0
    cond = or_(*terms)
    total = session.scalar(select(func.count()).select_from(a).where(cond)) or 0
    rows = session.scalars(select(a).where(cond).order_by(a.ts.desc(), a.alert_id).limit(limit))
    return list(rows), int(total)
