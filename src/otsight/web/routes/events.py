"""Events of note: the protocol messages the pipeline kept, as ECS documents."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from fastapi import APIRouter, Query

from ...store import queries
from ..auth import Viewer
from ..deps import DbSession
from ..errors import RESPONSES
from ..schemas import EventOut, Paged, SearchText, enum, member
from .common import Limit, Offset, Since, Until, page, sort_choices, sort_query

router = APIRouter(tags=["events"], responses=RESPONSES)

SORTS = sort_choices(queries.EVENT_SORTS)
EventSort: TypeAlias = Annotated[str, member("sort", SORTS), enum(SORTS), sort_query("-ts")]


@router.get("/events", response_model=Paged[EventOut])
def list_events(
    session: DbSession,
    _user: Viewer,
    protocol: Annotated[SearchText | None, Query()] = None,
    action: Annotated[SearchText | None, Query(description="e.g. write-single-register")] = None,
    address: Annotated[SearchText | None, Query(description="Source or destination")] = None,
    since: Since = None,
    until: Until = None,
    sort: EventSort = "-ts",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Paged[EventOut]:
    """Events matching every filter given, newest first."""
    f = queries.EventFilter(
        protocol=protocol, action=action, address=address, since=since, until=until
    )
    rows, total = queries.list_events(session, f, page(offset, limit, sort))
    return Paged[EventOut](
        total=total,
        offset=offset,
        limit=limit,
        items=[EventOut.model_validate(r) for r in rows],
    )
