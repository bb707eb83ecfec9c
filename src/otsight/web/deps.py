"""Per-request resources: a database session from the app's session factory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed (and rolled back if not committed) at its end."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]
