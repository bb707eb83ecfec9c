"""Every endpoint behind a token: none or a bad one is 401, too low a role is 403."""

from __future__ import annotations

import pytest

from otsight.store import transaction
from otsight.store.migrate import head_revision
from otsight.store.users import revoke_token

from .conftest import Api

A1 = "ot-commands:plc-stop:1"
# (method, path, JSON body, the lowest role allowed)
ENDPOINTS: list[tuple[str, str, object, str]] = [
    ("GET", "/api/me", None, "viewer"),
    ("GET", "/api/assets", None, "viewer"),
    ("GET", "/api/assets/ip:10.0.1.100", None, "viewer"),
    ("GET", "/api/assets/ip:10.0.1.100/conversations", None, "viewer"),
    ("GET", "/api/conversations", None, "viewer"),
    ("GET", "/api/events", None, "viewer"),
    ("GET", "/api/alerts", None, "viewer"),
    ("GET", f"/api/alerts/{A1}", None, "viewer"),
    ("GET", "/api/incidents", None, "viewer"),
    ("GET", "/api/baselines", None, "viewer"),
    ("GET", "/api/baselines/comms", None, "viewer"),
    ("GET", "/api/sensors", None, "viewer"),
    ("GET", "/api/sensors/sensor:site-a:eth1", None, "viewer"),
    ("GET", "/api/stats", None, "viewer"),
    ("GET", "/api/stats/alerts-over-time", None, "viewer"),
    ("POST", f"/api/alerts/{A1}/acknowledge", None, "analyst"),
    ("POST", f"/api/alerts/{A1}/resolve", {"note": "x"}, "analyst"),
    ("POST", f"/api/alerts/{A1}/mark-expected", None, "analyst"),
    ("POST", f"/api/alerts/{A1}/reopen", None, "analyst"),
    ("POST", f"/api/alerts/{A1}/assign", {"assignee": "viewer"}, "analyst"),
    ("POST", "/api/incidents", {"title": "t", "alert_ids": [A1]}, "analyst"),
    ("GET", "/api/audit", None, "admin"),
    ("DELETE", "/api/baselines/comms", None, "admin"),
]
RANK = {"viewer": 0, "analyst": 1, "admin": 2}


@pytest.mark.parametrize(("method", "path", "body", "lowest"), ENDPOINTS)
def test_no_token_or_a_bad_one_is_401(
    api: Api, method: str, path: str, body: object, lowest: str
) -> None:
    r = api.client.request(method, path, json=body)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "missing bearer token" in r.json()["detail"]
    for header in ("Bearer ots_wrong", "Basic dXNlcjpwdw==", "Bearer "):
        r = api.client.request(method, path, json=body, headers={"Authorization": header})
        assert r.status_code == 401, header


@pytest.mark.parametrize(("method", "path", "body", "lowest"), ENDPOINTS)
def test_roles_below_the_lowest_get_403_and_the_rest_get_through(
    api: Api, method: str, path: str, body: object, lowest: str
) -> None:
    for role in ("viewer", "analyst", "admin"):
        r = api.client.request(method, path, json=body, headers=api.auth(role))
        if RANK[role] < RANK[lowest]:
            assert r.status_code == 403, (role, r.text)
            assert r.json()["detail"].startswith(f"user '{role}' is {role}; this needs")
        else:
            # allowed: the action happens (or is refused for its own reason, never for the role)
            assert r.status_code in (200, 201, 204, 409), (role, r.status_code, r.text)


def test_health_needs_no_token(api: Api) -> None:
    assert api.client.get("/api/health").json() == {
        "status": "ok",
        "schema_revision": head_revision(),
    }


def test_a_revoked_token_stops_working(api: Api) -> None:
    token = api.tokens["analyst"]
    assert api.client.get("/api/me", headers=api.auth("analyst")).json()["role"] == "analyst"
    app = api.client.app
    with transaction(app.state.sessions) as s:  # type: ignore[attr-defined]
        revoke_token(s, token[:12], actor="test")
    r = api.client.get("/api/me", headers=api.auth("analyst"))
    assert (r.status_code, r.json()["detail"]) == (401, "invalid or revoked token")
