"""An API on a fresh SQLite store with a plant loaded and one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from otsight.store import (
    save_alerts,
    save_assets,
    save_baseline,
    save_conversations,
    save_events,
    save_sensor_status,
    transaction,
)
from otsight.store.users import add_user, create_token
from otsight.web import create_app
from store.factories import BACKENDS, alert, conversation, db_url, hmi, modbus_write, plc

ROLES = ("viewer", "analyst", "admin")
SENSOR = "sensor:site-a:eth1"


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def make_api(url: str) -> Iterator[Api]:
    app = create_app(url)
    tokens = {}
    with transaction(app.state.sessions) as s:
        for role in ROLES:
            add_user(s, role, role, actor="test")
            tokens[role] = create_token(s, role, actor="test")
        save_assets(s, [plc(n) for n in range(1, 4)] + [hmi()])
        save_alerts(s, [alert(1, "high"), alert(2, "critical"), alert(3, "low")])
        save_conversations(s, [conversation(1), conversation(2)])
        save_events(s, [modbus_write(1), modbus_write(2)], source="capture-a")
        save_baseline(s, "comms", kind="communication", state={"pairs": 2}, now=5.0)
        save_baseline(s, "model", kind="anomaly", blob=b"\x01\x02\x03", now=6.0)
        save_sensor_status(
            s,
            SENSOR,
            state="running",
            counters={
                "interface": "eth1",
                "uptime_s": 60.0,
                "captured": 1000,
                "processed": 990,
                "kernel_received": 1002,
                "kernel_dropped": 2,
                "queue_bytes": 4096,
                "queue_peak_bytes": 65536,
                "queue_waits": 1,
                "flows_live": 7,
            },
            started_at=10.0,
            settings={"interface": "eth1", "filter": None, "checkpoint_s": 5.0},
            host="site-a",
            last_checkpoint_at=68.0,
            now=70.0,
        )
    with TestClient(app) as client:
        yield Api(client, tokens)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(f"sqlite:///{tmp_path / 'api.db'}")


@pytest.fixture(params=BACKENDS)
def any_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The API on SQLite and on PostgreSQL (skipped without its URL)."""
    yield from make_api(db_url(str(request.param), tmp_path))
