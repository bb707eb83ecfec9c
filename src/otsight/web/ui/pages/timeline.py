"""The timeline page: a window of capture time, zoomed by clicking the axis."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...deps import DbSession
from .. import timeline
from ..params import Here, Params, UiError, number_text
from ..render import page
from ..session import User

router = APIRouter()


@router.get("/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, session: DbSession, user: User) -> HTMLResponse:
    p = Params(request.query_params)
    since = p.number("since", 0, 1e11)
    until = p.number("until", 0, 1e11)
    if since is not None and until is not None and until <= since:
        raise UiError(400, "until: must be after since")
    events = p.choice("events", ("0", "1"), "0") == "1"
    here = Here(
        "/timeline",
        {
            "since": number_text(since),
            "until": number_text(until),
            "events": "1" if events else None,
        },
    )

    def link(b0: float, b1: float) -> str:
        return here.with_(since=f"{b0:.0f}", until=f"{b1:.0f}")

    tl = timeline.build(session, since=since, until=until, events=events, link=link)
    zoom_out = None
    if tl is not None and (since is not None or until is not None):
        mid, span = (tl.start + tl.end) / 2, (tl.end - tl.start) * 2
        lo, hi = max(tl.full_start, mid - span), min(tl.full_end + 1, mid + span)
        zoom_out = here.with_(since=f"{lo:.0f}", until=f"{hi:.0f}")
    return page(
        request,
        "timeline.html",
        user=user,
        tl=tl,
        here=here,
        events=events,
        zoomed=since is not None or until is not None,
        zoom_out=zoom_out,
    )
