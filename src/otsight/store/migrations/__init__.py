"""Alembic migrations of the otsight store (see otsight.store.migrate)."""
