"""Who am I, and is the service up (the only route without a token)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...store.migrate import current_revision
from ..auth import Viewer
from ..errors import RESPONSES
from ..schemas import Health, Me

router = APIRouter(tags=["meta"])


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """Up, and at which schema revision."""
    return Health(status="ok", schema_revision=current_revision(request.app.state.engine))


@router.get("/me", response_model=Me, responses=RESPONSES)
def me(principal: Viewer) -> Me:
    """The user the token belongs to, and their role."""
    return Me(name=principal.name, role=principal.role)
