"""Log in with an API token, log out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ....store.users import authenticate
from ...deps import DbSession
from ..params import Params, UiError
from ..render import page
from ..session import COOKIE, Form, cookie_token, safe_next, same_origin

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: DbSession) -> Response:
    nxt = safe_next(Params(request.query_params).text("next", max_len=2000))
    token = cookie_token(request)
    if token and authenticate(session, token) is not None:
        return RedirectResponse(nxt, status_code=303)
    return page(request, "login.html", next=nxt, error=None, user=None)


@router.post("/ui/login", response_class=HTMLResponse)
def login(request: Request, session: DbSession, fields: Form) -> Response:
    """Check the token with the store; keep it in an HttpOnly cookie if it is good."""
    if not same_origin(request):
        raise UiError(403, "refused: the login form was posted from another site")
    nxt = safe_next(fields.get("next"))
    token = fields.get("token", "").strip()
    principal = authenticate(session, token) if token else None
    if principal is None:
        error = "That token is not valid (unknown or revoked)." if token else "Enter a token."
        return page(request, "login.html", status=401, next=nxt, error=error, user=None)
    response = RedirectResponse(nxt, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/ui/logout")
def logout(request: Request) -> Response:
    """Forget the session cookie (the token itself stays valid for the API).

    Only the origin is checked, no CSRF token: being logged out by another site does no harm,
    and a session whose token was revoked must still be able to log out.
    """
    if not same_origin(request):
        raise UiError(403, "refused: the logout form was posted from another site")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
