"""Batched writing: the pipeline hands records over as it finds them; the store commits them
in batches, one transaction each.

A crash or kill loses at most the batch being collected or written, never a committed one;
a batch that fails (a bad record, the database gone) is rolled back whole and reported, and the
writer goes on with the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from ..alerts.incidents import Incident
from ..alerts.model import Alert
from ..core.events import BaseEvent
from ..inventory.model import Asset
from .db import transaction
from .errors import StoreError
from .records import Conversation
from .repositories import (
    save_alerts,
    save_assets,
    save_conversations,
    save_events,
    save_incidents,
)

log = logging.getLogger(__name__)


class BatchFailed(StoreError):
    """A batch was rolled back; nothing of it was written (earlier batches are kept)."""


@dataclass(slots=True)
class WriterStats:
    batches: int = 0
    failed_batches: int = 0
    written: dict[str, int] = field(default_factory=dict)
    lost: int = 0


@dataclass(slots=True)
class _Pending:
    assets: dict[str, Asset] = field(default_factory=dict)  # latest view of each asset wins
    alerts: dict[str, Alert] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    conversations: list[Conversation] = field(default_factory=list)
    events: list[tuple[str, BaseEvent]] = field(default_factory=list)

    def events_by_source(self) -> dict[str, list[BaseEvent]]:
        out: dict[str, list[BaseEvent]] = {}
        for src, e in self.events:
            out.setdefault(src, []).append(e)
        return out

    def __len__(self) -> int:
        return (
            len(self.assets)
            + len(self.alerts)
            + len(self.incidents)
            + len(self.conversations)
            + len(self.events)
        )


class BatchWriter:
    """Collects assets, alerts, conversations and events; writes them ``max_items`` at a time
    or every ``max_age_s`` seconds, whichever comes first, and on :meth:`close`.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_items: int = 5000,
        max_age_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_items < 1 or max_age_s <= 0:
            raise ValueError("max_items must be >= 1 and max_age_s > 0")
        self._sessions = sessions
        self._max_items = max_items
        self._max_age = max_age_s
        self._clock = clock
        self._pending = _Pending()
        self._since = clock()
        self.stats = WriterStats()

    def add_assets(self, assets: Iterable[Asset]) -> None:
        for a in assets:
            self._pending.assets[a.asset_id] = a
        self._maybe_flush()

    def add_alerts(self, alerts: Iterable[Alert]) -> None:
        for a in alerts:
            self._pending.alerts[a.alert_id] = a
        self._maybe_flush()

    def add_incidents(self, incidents: Iterable[Incident]) -> None:
        for i in incidents:
            self._pending.incidents[i.incident_id] = i
        self._maybe_flush()

    def add_conversations(self, conversations: Iterable[Conversation]) -> None:
        self._pending.conversations.extend(conversations)
        self._maybe_flush()

    def add_events(self, events: Iterable[BaseEvent], *, source: str = "") -> None:
        self._pending.events.extend((source, e) for e in events)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self._pending) >= self._max_items or self._clock() - self._since >= self._max_age:
            self.flush()

    def flush(self) -> None:
        """Write what is pending in one transaction; raise :class:`BatchFailed` if it failed."""
        batch, self._pending, self._since = self._pending, _Pending(), self._clock()
        if not len(batch):
            return
        try:
            with transaction(self._sessions) as session:
                counts = {
                    "assets": save_assets(session, batch.assets.values()),
                    "alerts": save_alerts(session, batch.alerts.values()),
                    "incidents": save_incidents(session, batch.incidents.values()),
                    "conversations": save_conversations(session, batch.conversations),
                    "events": sum(
                        save_events(session, group, source=src)
                        for src, group in batch.events_by_source().items()
                    ),
                }
        except Exception as exc:
            self.stats.failed_batches += 1
            self.stats.lost += len(batch)
            log.error("store: batch of %d records rolled back: %s", len(batch), exc)
            raise BatchFailed(f"batch of {len(batch)} records rolled back: {exc}") from exc
        self.stats.batches += 1
        for name, n in counts.items():
            self.stats.written[name] = self.stats.written.get(name, 0) + n

    def close(self) -> None:
        """Write the last batch."""
        self.flush()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
