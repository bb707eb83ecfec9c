"""Assets: the inventory list with filters, and one asset with its evidence."""

from __future__ import annotations

import ipaddress
from typing import Annotated, TypeAlias

from fastapi import APIRouter, Path, Query

from ...store import queries
from ...store.errors import Invalid, NotFound
from ...store.models import AssetRow
from ..auth import Viewer
from ..deps import DbSession
from ..errors import NOT_FOUND, RESPONSES
from ..schemas import (
    NO_NUL,
    AssetDetail,
    AssetSummary,
    ConversationOut,
    Paged,
    Role,
    SearchText,
    enum,
    member,
)
from .common import Limit, Offset, page, sort_choices, sort_query

router = APIRouter(tags=["assets"], responses=RESPONSES)

SORTS = sort_choices(queries.ASSET_SORTS)
AssetSort: TypeAlias = Annotated[str, member("sort", SORTS), enum(SORTS), sort_query("-last_seen")]
AssetId = Annotated[str, Path(min_length=1, max_length=255, pattern=NO_NUL)]
MAC_CHARS = set("0123456789abcdef:")


def _ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise Invalid(f"ip: {value[:80]!r} is not an IPv4 or IPv6 address") from exc


def _mac(value: str | None) -> str | None:
    if value is None:
        return None
    mac = value.lower().replace("-", ":")
    if len(mac) != 17 or not set(mac) <= MAC_CHARS or mac.count(":") != 5:
        raise Invalid(f"mac: {value[:80]!r} is not a MAC address like 00:1d:9c:c6:72:e8")
    return mac


@router.get("/assets", response_model=Paged[AssetSummary])
def list_assets(
    session: DbSession,
    _user: Viewer,
    role: Annotated[Role | None, Query()] = None,
    purdue_level: Annotated[int | None, Query(ge=0, le=5)] = None,
    vendor: Annotated[SearchText | None, Query(description="Substring, any case")] = None,
    ip: Annotated[SearchText | None, Query(description="An address the asset uses")] = None,
    mac: Annotated[SearchText | None, Query(description="A MAC the asset uses")] = None,
    q: Annotated[SearchText | None, Query(description="Substring of any identity")] = None,
    sort: AssetSort = "-last_seen",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Paged[AssetSummary]:
    """Assets matching every filter given, most recently seen first."""
    f = queries.AssetFilter(
        role=role, purdue_level=purdue_level, vendor=vendor, ip=_ip(ip), mac=_mac(mac), q=q
    )
    rows, total = queries.list_assets(session, f, page(offset, limit, sort))
    return Paged[AssetSummary](
        total=total,
        offset=offset,
        limit=limit,
        items=[AssetSummary.model_validate(r) for r in rows],
    )


@router.get("/assets/{asset_id}", response_model=AssetDetail, responses=NOT_FOUND)
def get_asset(session: DbSession, _user: Viewer, asset_id: AssetId) -> AssetDetail:
    """One asset with the evidence behind its role and attributes, conflicts and services."""
    row = queries.get_asset(session, asset_id)
    if row is None:
        raise NotFound(f"asset {asset_id!r} not found")
    return AssetDetail.model_validate(row)


@router.get(
    "/assets/{asset_id}/conversations",
    response_model=Paged[ConversationOut],
    responses=NOT_FOUND,
)
def asset_conversations(
    session: DbSession,
    _user: Viewer,
    asset_id: AssetId,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Paged[ConversationOut]:
    """Who this asset talks to, the largest conversations first."""
    if session.get(AssetRow, asset_id) is None:
        raise NotFound(f"asset {asset_id!r} not found")
    f = queries.ConversationFilter(asset_id=asset_id)
    rows, total = queries.list_conversations(session, f, page(offset, limit, "-bytes"))
    return Paged[ConversationOut](
        total=total,
        offset=offset,
        limit=limit,
        items=[ConversationOut.model_validate(r) for r in rows],
    )
