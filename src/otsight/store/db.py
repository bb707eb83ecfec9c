"""Where the store lives: one engine and session factory from a database URL.

SQLite is the default (one file, works offline); PostgreSQL is chosen by URL for a hub. The URL
comes from ``--db``, else ``OTSIGHT_DB``, else the per-user data directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from .errors import StoreError

ENV_VAR = "OTSIGHT_DB"
SUPPORTED = ("sqlite", "postgresql")


def default_path() -> Path:
    """``$XDG_DATA_HOME/otsight/otsight.db``, i.e. ``~/.local/share/otsight/otsight.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "otsight" / "otsight.db"


def resolve_url(url: str | Path | None = None) -> URL:
    """The URL to use: the one given, else ``$OTSIGHT_DB``, else the default SQLite file.

    A plain path (no ``scheme://``) means a SQLite file at that path.
    """
    text = str(url or os.environ.get(ENV_VAR) or "").strip()
    if not text:
        return make_url(f"sqlite:///{default_path()}")
    if "://" not in text:
        return make_url(f"sqlite:///{Path(text).expanduser().resolve()}")
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {text!r}") from exc
    if parsed.get_backend_name() not in SUPPORTED:
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | Path | URL | None = None, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (see :func:`resolve_url`), with SQLite set up for safe writes."""
    resolved = url if isinstance(url, URL) else resolve_url(url)
    backend = resolved.get_backend_name()
    if backend == "sqlite":
        if resolved.database and resolved.database != ":memory:":
            Path(resolved.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(resolved, echo=echo)
        _sqlite_setup(engine)
        return engine
    try:
        return create_engine(resolved, echo=echo, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"no driver for {backend}: pip install 'otsight[postgres]' ({exc.name} missing)"
        ) from exc


def _sqlite_setup(engine: Engine) -> None:
    """WAL, foreign keys, full sync, and transactions that start when SQLAlchemy says so.

    pysqlite opens transactions lazily and never for DDL; taking BEGIN over ourselves makes a
    batch one real transaction (rolled back whole on error) and lets SAVEPOINT work.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (API responses read them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed if the block ends, rolled back whole if it raises."""
    with sessions() as session, session.begin():
        yield session


def describe(engine: Engine) -> str:
    """The engine's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)
