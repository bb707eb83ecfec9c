"""A UI on a fresh store holding the test plant, with a logged-in client per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from otsight.web import create_app
from store.factories import BACKENDS, db_url

from .plant import fill


@dataclass
class Ui:
    app: FastAPI
    tokens: dict[str, str]

    def client(self, role: str | None = None) -> TestClient:
        """A client (logged in as ``role`` if given) that does not follow redirects."""
        c = TestClient(self.app, follow_redirects=False)
        if role is not None:
            r = c.post("/ui/login", data={"token": self.tokens[role], "next": "/"})
            assert r.status_code == 303, r.text
        return c


@pytest.fixture(params=BACKENDS)
def ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ui]:
    """The plant on SQLite and on PostgreSQL (skipped without its URL)."""
    app = create_app(db_url(str(request.param), tmp_path))
    tokens = fill(app.state.sessions)
    yield Ui(app, tokens)
    app.state.engine.dispose()


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
