"""Conversations: who talks to whom, over what, how much."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from ...store import queries
from ..auth import Viewer
from ..deps import DbSession
from ..errors import RESPONSES
from ..schemas import ConversationOut, Ident, Paged, SearchText, enum, member
from .common import Limit, Offset, page, sort_choices, sort_query

router = APIRouter(tags=["conversations"], responses=RESPONSES)

SORTS = sort_choices(queries.CONVERSATION_SORTS)
ConversationSort: TypeAlias = Annotated[
    str, member("sort", SORTS), enum(SORTS), sort_query("-bytes")
]
Transport = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,16}$")]


@router.get("/conversations", response_model=Paged[ConversationOut])
def list_conversations(
    session: DbSession,
    _user: Viewer,
    asset_id: Annotated[Ident | None, Query(description="Either side is this asset")] = None,
    address: Annotated[SearchText | None, Query(description="Either side has this address")] = None,
    protocol: Annotated[SearchText | None, Query()] = None,
    transport: Annotated[Transport | None, Query()] = None,
    port: Annotated[int | None, Query(ge=0, le=65535)] = None,
    sort: ConversationSort = "-bytes",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Paged[ConversationOut]:
    """Conversations matching every filter given, the largest first."""
    f = queries.ConversationFilter(
        asset_id=asset_id, address=address, protocol=protocol, transport=transport, port=port
    )
    rows, total = queries.list_conversations(session, f, page(offset, limit, sort))
    return Paged[ConversationOut](
        total=total,
        offset=offset,
        limit=limit,
        items=[ConversationOut.model_validate(r) for r in rows],
    )
