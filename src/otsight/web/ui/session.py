"""Who is using the UI, and whether a form post really came from our own page.

The UI signs in with an API token (``otsight token create USER``) and keeps it in an
``HttpOnly`` cookie, so page scripts (ours or injected) can never read it. Roles are the API's:
viewers read, analysts and admins triage.

Cross-site request forgery is stopped three ways, each enough on its own today:

- the cookie is ``SameSite=Lax``: a browser sends it with a cross-site *link* (an alert URL
  pasted in a ticket opens logged in) but never with a cross-site *POST*;
- every form carries a CSRF token derived from the session token (HMAC-SHA256), which another
  site cannot read nor compute; a post without the right one is refused 403;
- a post whose ``Origin`` (or, lacking it, ``Referer``) is not this server is refused 403.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request

from ...store.users import Principal, authenticate
from ..deps import DbSession
from .params import UiError

COOKIE = "otsight_session"
MAX_FORM_BYTES = 16_384
MAX_FORM_FIELDS = 20


class LoginRequired(Exception):
    """No session, or its token is no longer valid: the person is sent to the login page."""


@dataclass(frozen=True, slots=True)
class UiUser:
    """The signed-in user as the templates see them."""

    name: str
    role: str
    csrf: str

    @property
    def can_triage(self) -> bool:
        return Principal(self.name, self.role).can("analyst")


def csrf_for(token: str) -> str:
    """The CSRF token of a session: only someone holding the session token can compute it."""
    return hmac.new(token.encode(), b"otsight-ui-csrf-v1", hashlib.sha256).hexdigest()


def cookie_token(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and len(value) <= 200 else None


def user_of(request: Request) -> UiUser | None:
    """The signed-in user, if any (for pages shown outside a route, like error pages)."""
    token = cookie_token(request)
    if token is None:
        return None
    with request.app.state.sessions() as session:
        principal = authenticate(session, token)
    return UiUser(principal.name, principal.role, csrf_for(token)) if principal else None


def current_user(request: Request, session: DbSession) -> UiUser:
    token = cookie_token(request)
    principal = authenticate(session, token) if token else None
    if principal is None or token is None:
        raise LoginRequired
    return UiUser(principal.name, principal.role, csrf_for(token))


def safe_next(value: str | None) -> str:
    """A path on this site to go back to after login (never another site's URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x20 for c in value) or len(value) > 2000:
        return "/"
    return value


def same_origin(request: Request) -> bool:
    """The post came from a page of this server (or from a client sending neither header)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True  # not a browser form; the CSRF token still has to match
    parts = urlsplit(source)
    host = request.headers.get("host", "")
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


async def form_fields(request: Request) -> dict[str, str]:
    """The url-encoded body of a form post, bounded in size and fields (last value wins)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise UiError(415, "send the form as application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise UiError(413, f"the form is larger than {MAX_FORM_BYTES} bytes")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise UiError(400, "the form could not be read") from None
    fields = dict(pairs)
    if any("\x00" in v for v in fields.values()):
        raise UiError(400, "the form holds a NUL character")
    return fields


Form = Annotated[dict[str, str], Depends(form_fields)]
User = Annotated[UiUser, Depends(current_user)]


def checked_form(request: Request, user: User, fields: Form) -> dict[str, str]:
    """The fields of a form post by the signed-in user, refused if it may be forged."""
    if not same_origin(request):
        raise UiError(403, "refused: the form was posted from another site")
    if not hmac.compare_digest(fields.get("csrf", ""), user.csrf):
        raise UiError(
            403, "refused: the form's security token is missing or wrong; reload the page"
        )
    return fields


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


def require_analyst(user: UiUser) -> None:
    if not user.can_triage:
        raise UiError(403, f"user {user.name!r} is {user.role}; triage needs analyst or admin")
