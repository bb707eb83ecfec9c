"""Bearer tokens to users and roles: viewer reads, analyst also triages, admin does everything.

No token or an unknown one is 401 (with ``WWW-Authenticate: Bearer``); a known user whose role
is too low is 403, saying which role the action needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..store.users import Principal, authenticate
from .deps import DbSession

bearer = HTTPBearer(
    auto_error=False,
    description="A token from `otsight token create USER`, sent as `Authorization: Bearer <token>`",
)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def current_principal(
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthorized(
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(an admin makes one with `otsight token create USER`)"
        )
    principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise _unauthorized("invalid or revoked token")
    return principal


def require(role: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through users with ``role`` or above."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(role):
            needs = "admin" if role == "admin" else f"{role} or admin"
            raise HTTPException(
                403, f"user {principal.name!r} is {principal.role}; this needs {needs}"
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]
