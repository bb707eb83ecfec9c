"""The sensor's counters in the store, so the API shows whether a sensor is alive and keeping up.

The status is one row of the ``sensors`` table (name ``sensor:HOST:INTERFACE``), replaced in
place at every report: one cheap upsert per report, readable through ``GET /api/sensors`` and
``GET /api/sensors/{name}``. Its state, when it started, when it last wrote the store, how it
was started, and its counters (the figures that say whether it keeps up as columns, all of them
as JSON).
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ..store.db import transaction
from ..store.repositories import save_sensor_status
from .counters import SensorCounters

log = logging.getLogger(__name__)


def status_name(interface: str, host: str | None = None) -> str:
    """``sensor:HOST:INTERFACE``: unique per sensor when many write to one database."""
    return f"sensor:{host or socket.gethostname()}:{interface}"


class StatusWriter:
    """Replaces the sensor's status row; a failure is logged and counted, never raised."""

    def __init__(
        self, sessions: sessionmaker[Session], name: str, settings: dict[str, Any]
    ) -> None:
        self._sessions = sessions
        self.name = name
        self.host = socket.gethostname()
        self.settings = settings
        self.started_at = time.time()
        self.failures = 0

    def write(
        self, counters: SensorCounters, state: str, last_checkpoint_at: float | None = None
    ) -> bool:
        """Store ``counters`` and ``state`` (and when the store was last written, wall clock)."""
        try:
            with transaction(self._sessions) as session:
                save_sensor_status(
                    session,
                    self.name,
                    state=state,
                    counters=counters.to_dict(),
                    started_at=self.started_at,
                    settings=self.settings,
                    interface=counters.interface,
                    host=self.host,
                    last_checkpoint_at=last_checkpoint_at,
                )
        except Exception as exc:  # the database gone: the capture goes on
            self.failures += 1
            log.warning("sensor status not stored: %s", exc)
            return False
        return True
