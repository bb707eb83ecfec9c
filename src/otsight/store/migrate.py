"""Schema migrations (alembic, kept inside the package): upgrade, and the check serve runs.

An empty database is brought to the newest revision; a database at an older revision is left
alone with a message saying to run ``otsight db upgrade`` (a hub's schema changes on purpose).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from .db import describe
from .errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    """A config pointing at the packaged migrations (and at ``engine`` if given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (all of them by default)."""
    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database; refuse one that is not at the newest revision."""
    current = current_revision(engine)
    if current is None:
        tables = set(inspect(engine).get_table_names())
        if tables:
            raise StoreError(
                f"{describe(engine)} holds tables ({', '.join(sorted(tables)[:5])}...) but no "
                "otsight schema version: it is not an otsight database"
            )
        upgrade(engine)
        return
    head = head_revision()
    if current != head:
        raise StoreError(
            f"{describe(engine)} is at schema revision {current}, this otsight needs {head}: "
            f"run `otsight db upgrade --db URL` first"
        )
