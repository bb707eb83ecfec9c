"""The pages at 10,000 assets: each renders well under 200 ms, with a fixed number of queries.

The number of SQL statements a page runs must not grow with the store (no query per row); the
time is the median of a few requests, measured in-process on SQLite.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from otsight.store import transaction
from otsight.store.users import add_user, create_token
from otsight.web import create_app

from .bigplant import fill_big, ip

BUDGET_MS = 200.0
PAGES = (
    "/",
    "/assets",
    "/assets?q=host-99&sort=-bytes",
    "/assets?protocol=modbus&level=1",
    "/assets?offset=9950",
    f"/assets/ip:{ip(142)}",
    "/map",
    "/map?protocol=modbus",
    f"/map?focus=ip:{ip(142)}",
    "/alerts",
    "/alerts?status=all&severity=high&offset=5",
    "/alerts/big:17",
    "/timeline",
    "/timeline?events=1",
)


class Site:
    def __init__(self, root: Path, n_assets: int, n_alerts: int) -> None:
        self.app = create_app(f"sqlite:///{root / f'site-{n_assets}.db'}")
        fill_big(self.app.state.sessions, n_assets, n_alerts)
        with transaction(self.app.state.sessions) as s:
            add_user(s, "ann", "analyst", actor="test")
            token = create_token(s, "ann", actor="test")
        self.client = TestClient(self.app, follow_redirects=False)
        assert self.client.post("/ui/login", data={"token": token}).status_code == 303
        self.statements = 0

        @event.listens_for(self.app.state.engine, "before_cursor_execute")
        def count(*_args: Any) -> None:
            self.statements += 1

    def queries(self, path: str) -> int:
        before = self.statements
        assert self.client.get(path).status_code == 200, path
        return self.statements - before

    def close(self) -> None:
        self.app.state.engine.dispose()


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Site]]:
    root = tmp_path_factory.mktemp("scale")
    small, big = Site(root, 300, 60), Site(root, 10_000, 2_000)
    yield small, big
    small.close()
    big.close()


@pytest.mark.parametrize("path", PAGES)
def test_queries_do_not_grow_with_the_store(sites: tuple[Site, Site], path: str) -> None:
    small, big = sites
    assert big.queries(path) == small.queries(path)


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_within_budget(sites: tuple[Site, Site], path: str) -> None:
    _, big = sites
    big.client.get(path)  # warm caches, as a page a person keeps open is
    times = []
    for _ in range(3):
        start = time.perf_counter()
        r = big.client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200
    assert statistics.median(times) < BUDGET_MS, f"{path}: {times}"


def test_big_map_says_what_it_left_out(sites: tuple[Site, Site]) -> None:
    _, big = sites
    html = big.client.get("/map").text
    assert "Showing the 300 assets with the most traffic of 10000" in html
    assert html.count("<path d=") <= 1500
