"""The sensor's counters in the store, so the API shows whether a sensor is alive and keeping up.

There is no sensors table yet; the status is one JSON row of the ``baselines`` table (kind
``sensor-status``, name ``sensor:HOST:INTERFACE``), replaced in place at every report: one
cheap upsert per report, readable through ``GET /api/baselines/{name}``. A proper table (and a
hub view of many sensors) can replace it without changing what the sensor counts.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ..store.db import transaction
from ..store.repositories import save_baseline
from .counters import SensorCounters

log = logging.getLogger(__name__)

STATUS_KIND = "sensor-status"


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
        self.settings = settings
        self.started_at = time.time()
        self.failures = 0

    def write(self, counters: SensorCounters, state: str) -> bool:
        doc = {
            "state": state,
            "updated_at": time.time(),
            "started_at": self.started_at,
            "settings": self.settings,
            "counters": counters.to_dict(),
        }
        try:
            with transaction(self._sessions) as session:
                save_baseline(session, self.name, kind=STATUS_KIND, state=doc)
        except Exception as exc:  # the database gone: the capture goes on
            self.failures += 1
            log.warning("sensor status not stored: %s", exc)
            return False
        return True
