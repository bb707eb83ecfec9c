"""The web UI: server-rendered pages at ``/`` beside the API, signed in with an API token.

Plain HTML and SVG from Jinja2 templates, one stylesheet and two small scripts of our own; no
front-end framework and no build step. :func:`mount_ui` adds it to the app.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from . import pages
from .params import UiError
from .render import page
from .session import LoginRequired, user_of

STATIC = Path(__file__).resolve().parent.parent / "static"


def ui_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for module in (
        pages.auth,
        pages.dashboard,
        pages.assets,
        pages.alerts,
        pages.netmap,
        pages.timeline,
    ):
        router.include_router(module.router)
    return router


async def _login_required(request: Request, _exc: Exception) -> Response:
    if request.method != "GET":
        return RedirectResponse("/login", status_code=303)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _ui_error(request: Request, exc: Exception) -> Response:
    """The error page, with the navigation when the person is signed in."""
    assert isinstance(exc, UiError)
    user = await run_in_threadpool(user_of, request)
    return page(
        request, "error.html", status=exc.status, code=exc.status, message=exc.message, user=user
    )


def mount_ui(app: FastAPI) -> None:
    """Serve the pages at ``/`` and their CSS and scripts at ``/static``."""
    app.include_router(ui_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(UiError, _ui_error)
