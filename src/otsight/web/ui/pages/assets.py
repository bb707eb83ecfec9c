"""The asset inventory (search, filters, sorting, paging) and one asset's page."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ....inventory.model import ROLES
from ....store import queries
from ...deps import DbSession
from .. import data
from ..fmt import display_name
from ..params import Here, Params, UiError
from ..render import page
from ..session import User

router = APIRouter()

SORTS = [c for name in queries.ASSET_SORTS for c in (name, f"-{name}")]
LEVELS = ("0", "1", "2", "3", "4", "5", "unknown")
PROTOCOL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
CONVERSATIONS_PER_PAGE = 50
ALERTS_SHOWN = 50


def protocol_param(params: Params) -> str | None:
    value = params.text("protocol", max_len=32)
    if value is not None and not PROTOCOL_RE.match(value):
        raise UiError(400, "protocol: a protocol name is letters, digits and _ . -")
    return value


@router.get("/assets", response_class=HTMLResponse)
def inventory(request: Request, session: DbSession, user: User) -> HTMLResponse:
    p = Params(request.query_params)
    q = p.text("q")
    role = p.choice("role", ROLES)
    level = p.choice("level", LEVELS)
    vendor = p.text("vendor", max_len=100)
    protocol = protocol_param(p)
    sort = p.choice("sort", SORTS, "-last_seen") or "-last_seen"
    offset, limit = p.page()
    f = data.AssetQuery(
        q=q,
        role=role,
        level=int(level) if level and level != "unknown" else None,
        level_unknown=level == "unknown",
        vendor=vendor,
        protocol=protocol,
    )
    rows, total = data.list_assets(session, f, offset, limit, sort)
    here = Here(
        "/assets",
        {
            "q": q,
            "role": role,
            "level": level,
            "vendor": vendor,
            "protocol": protocol,
            "sort": sort,
            "limit": limit if limit != 50 else None,
            "offset": offset,
        },
    )
    return page(
        request,
        "assets.html",
        user=user,
        rows=rows,
        total=total,
        offset=offset,
        limit=limit,
        sort=sort,
        here=here,
        f={"q": q, "role": role, "level": level, "vendor": vendor, "protocol": protocol},
        filtered=any((q, role, level, vendor, protocol)),
        roles=ROLES,
        levels=LEVELS,
        vendors=data.top_vendors(session),
        protocols=data.protocols_seen(session),
    )


@router.get("/assets/{asset_id:path}", response_class=HTMLResponse)
def asset_page(request: Request, asset_id: str, session: DbSession, user: User) -> HTMLResponse:
    if not asset_id or len(asset_id) > 255 or "\x00" in asset_id:
        raise UiError(404, "no such asset")
    row = queries.get_asset(session, asset_id)
    if row is None:
        raise UiError(404, f"asset {asset_id[:80]!r} not found")
    p = Params(request.query_params)
    coff = p.integer("coff", 0, 1_000_000, 0)
    conversations, conv_total = queries.list_conversations(
        session,
        queries.ConversationFilter(asset_id=asset_id),
        queries.Page(offset=coff, limit=CONVERSATIONS_PER_PAGE, sort="-bytes"),
    )
    peer_ids = [
        c.server_asset_id if c.client_asset_id == asset_id else c.client_asset_id
        for c in conversations
    ]
    peers = {
        k: display_name(v) for k, v in data.rows_by_id(session, filter(None, peer_ids)).items()
    }
    alerts, alerts_total = data.alerts_for_asset(session, row.ips, row.macs, ALERTS_SHOWN)
    here = Here(request.url.path, {"coff": coff})
    return page(
        request,
        "asset.html",
        user=user,
        a=row,
        name=display_name(row),
        conversations=conversations,
        conv_total=conv_total,
        coff=coff,
        conv_limit=CONVERSATIONS_PER_PAGE,
        peers=peers,
        alerts=alerts,
        alerts_total=alerts_total,
        alerts_shown=ALERTS_SHOWN,
        here=here,
    )
