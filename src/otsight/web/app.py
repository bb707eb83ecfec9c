"""The FastAPI application: the REST API under ``/api``, the web UI at ``/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from ..store.db import make_engine, session_factory
from ..store.migrate import ensure_schema
from . import errors
from .routes import api_router
from .ui import mount_ui

API_PREFIX = "/api"


def create_app(db_url: str | None = None) -> FastAPI:
    """An app on the store at ``db_url`` (default: ``$OTSIGHT_DB`` or the per-user SQLite file).

    An empty database gets the schema; one at an older schema revision is refused with a
    message (upgrading a shared database is a deliberate ``otsight db upgrade``).
    """
    engine = make_engine(db_url)
    ensure_schema(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="otsight",
        version=__version__,
        description="Passive OT/IoT security: assets with evidence, conversations, alerts, "
        "incidents, baselines and sensors. Every call but /api/health needs a bearer token.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    errors.install(app)
    app.include_router(api_router(), prefix=API_PREFIX)
    mount_ui(app)
    return app
