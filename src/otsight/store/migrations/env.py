"""Alembic environment: runs migrations on the engine otsight hands over (never on a URL from an
ini file), with batch mode so that SQLite tables can be altered.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from otsight.store.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("otsight migrations run through otsight.store.migrate, not the alembic CLI")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
