"""The network map page: the whole plant, one protocol, or one asset's neighbourhood."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ....store.models import AssetRow
from ...deps import DbSession
from .. import data, netmap
from ..fmt import display_name
from ..params import Params, UiError
from ..render import page
from ..session import User
from .assets import protocol_param

router = APIRouter()


@router.get("/map", response_class=HTMLResponse)
def network_map(request: Request, session: DbSession, user: User) -> HTMLResponse:
    p = Params(request.query_params)
    protocol = protocol_param(p)
    focus_id = p.text("focus", max_len=255)
    focus = None
    if focus_id is not None:
        focus = session.get(AssetRow, focus_id)
        if focus is None:
            raise UiError(404, f"focus: asset {focus_id[:80]!r} not found")
    m = netmap.build(session, protocol=protocol, focus=focus)
    return page(
        request,
        "map.html",
        user=user,
        m=m,
        protocol=protocol,
        focus=focus,
        focus_name=display_name(focus) if focus is not None else None,
        protocols=data.protocols_seen(session),
    )
