"""The store: what otsight found, kept in SQLite (default) or PostgreSQL, for the API and UI.

The pipeline writes through :class:`BatchWriter` (or the ``save_*`` functions inside a
:func:`transaction`); the API reads through :mod:`otsight.store.queries`.
"""

from __future__ import annotations

from .batch import BatchFailed, BatchWriter
from .db import make_engine, resolve_url, session_factory, transaction
from .errors import Invalid, InvalidChange, NotFound, StoreError
from .migrate import ensure_schema, upgrade
from .records import Conversation, conversations_from_flows
from .repositories import (
    save_alerts,
    save_assets,
    save_baseline,
    save_conversations,
    save_events,
    save_sensor_status,
)

__all__ = [
    "BatchFailed",
    "BatchWriter",
    "Conversation",
    "Invalid",
    "InvalidChange",
    "NotFound",
    "StoreError",
    "conversations_from_flows",
    "ensure_schema",
    "make_engine",
    "resolve_url",
    "save_alerts",
    "save_assets",
    "save_baseline",
    "save_conversations",
    "save_events",
    "save_sensor_status",
    "session_factory",
    "transaction",
    "upgrade",
]
