"""A small plant for sensor tests: a pymodbus PLC, an HMI polling it and an attacker's host, in
network namespaces on one bridge (:class:`otsight.lab.topology.Topology`, which removes all of
it on exit), plus helpers to run the sensor, enter a namespace and read the API."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from otsight.lab.topology import Host, Topology, wait_for_line
from otsight.store.db import transaction
from otsight.store.repositories import SENSOR_FIGURES
from otsight.store.users import add_user, create_token
from otsight.web import create_app

T = TypeVar("T")

PLC = Host("plc", "192.0.2.10", 24, "00:80:f4:00:00:10")  # Schneider Electric OUI
HMI = Host("hmi", "192.0.2.20", 24, "00:14:22:00:00:20")  # Dell OUI
ATTACKER = Host("atk", "192.0.2.66", 24, "b8:27:eb:00:00:66")  # Raspberry Pi OUI
PLC_SPEC = {
    "ip": PLC.ip,
    "seed": 1,
    "identity": {
        "vendor": "Schneider Electric",
        "product_code": "BMX P34 2020",
        "revision": "v3.10",
    },
}


def require_live() -> None:
    if os.geteuid() != 0:
        pytest.skip("sensor tests need root (network namespaces, veth pairs, AF_PACKET capture)")
    missing = [tool for tool in ("ip", "tcpdump") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"sensor tests need {', '.join(missing)} (Debian: iproute2 tcpdump)")


@contextmanager
def plant(*hosts: Host) -> Iterator[Topology]:
    """The namespaces and bridge for ``hosts``; afterwards nothing of them may be left."""
    require_live()
    topo = Topology(list(hosts))
    with topo:
        yield topo
    assert topo.leftovers() == {"namespaces": [], "processes": [], "root_links": []}


def agent_argv(kind: str, spec: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "otsight.lab.agents", kind, json.dumps(spec)]


def start_plc(topo: Topology) -> subprocess.Popen[bytes]:
    proc = topo.spawn("plc", agent_argv("plc", PLC_SPEC), stdout=subprocess.PIPE, label="plc")
    wait_for_line(proc, b"READY", 30.0)
    return proc


def start_hmi(topo: Topology, poll_s: float = 0.5) -> subprocess.Popen[bytes]:
    spec = {"targets": [{"ip": PLC.ip}], "poll_s": poll_s, "write_every": 4, "seed": 2}
    proc = topo.spawn("hmi", agent_argv("hmi", spec), stdout=subprocess.PIPE, label="hmi")
    wait_for_line(proc, b"READY", 30.0)
    return proc


def start_sensor(
    topo: Topology, db: Path, *options: str, interface: str = "br0"
) -> subprocess.Popen[bytes]:
    """``otsight sensor`` on the bridge (it sees every frame of the plant), once it captures."""
    argv = [
        sys.executable,
        "-m",
        "otsight.cli.sensor",
        "--interface",
        interface,
        "--db",
        str(db),
        *options,
    ]
    proc = topo.spawn("sw", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, label="sensor")
    wait_for_line(proc, b"capturing on", 120.0, stream="stderr")
    return proc


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows from the sensor's SQLite store, read as another process would (WAL: no blocking)."""
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute(sql).fetchall()


STATUS_COLUMNS = (
    "name",
    "host",
    "interface",
    "state",
    "started_at",
    "updated_at",
    "last_checkpoint_at",
    "uptime_s",
    *SENSOR_FIGURES,
    "settings",
    "counters",
)


def status_state(db: Path) -> dict[str, Any]:
    """The sensor's status row (``sensors``), its JSON columns decoded; there is one only."""
    found = rows(db, f"select {', '.join(STATUS_COLUMNS)} from sensors")
    assert len(found) == 1, found
    state = dict(zip(STATUS_COLUMNS, found[0], strict=True))
    state["settings"] = json.loads(state["settings"])
    state["counters"] = json.loads(state["counters"])
    # The figures in their own columns are the counters' own.
    for figure in ("uptime_s", *SENSOR_FIGURES):
        assert state[figure] == state["counters"][figure], figure
    return state


@contextmanager
def api(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The REST API over the store at ``db_url`` and a viewer's auth header."""
    app = create_app(db_url)
    with transaction(app.state.sessions) as session:
        add_user(session, "watcher", "viewer", actor="test")
        token = create_token(session, "watcher", actor="test")
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def wait_until(check: Callable[[], T | None], timeout: float, every: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail with the last value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s (last: {value!r})")
        time.sleep(every)
