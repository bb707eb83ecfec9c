"""Signing in to the UI: the token check, the session cookie, redirects and logging out."""

from __future__ import annotations

import pytest

from otsight.store import transaction
from otsight.store.users import revoke_token
from otsight.web.ui.session import COOKIE

from .conftest import Ui, csrf_of

PAGES = ("/", "/assets", "/assets/mac:00:1d:9c:10:01:11", "/map", "/alerts", "/timeline")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_wants_a_login(ui: Ui, path: str) -> None:
    r = ui.client().get(path + "?x=1")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    assert r.headers["location"].endswith("%3Fx%3D1")


def test_login_page_and_bad_tokens(ui: Ui) -> None:
    c = ui.client()
    r = c.get("/login")
    assert r.status_code == 200
    assert 'name="token"' in r.text
    for token in ("", "ots_not-a-token", "x" * 300):
        r = c.post("/ui/login", data={"token": token})
        assert r.status_code == 401
        assert COOKIE not in r.headers.get("set-cookie", "")
        assert "alert-box" in r.text


def test_login_sets_an_httponly_lax_cookie_and_goes_back(ui: Ui) -> None:
    c = ui.client()
    r = c.post("/ui/login", data={"token": ui.tokens["viewer"], "next": "/alerts?status=all"})
    assert r.status_code == 303
    assert r.headers["location"] == "/alerts?status=all"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http on localhost; https sets it
    assert c.get("/").status_code == 200
    assert c.get("/login").headers["location"] == "/"  # already signed in


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x", ""]
)
def test_next_never_leaves_the_site(ui: Ui, target: str) -> None:
    r = ui.client().post("/ui/login", data={"token": ui.tokens["viewer"], "next": target})
    assert r.headers["location"] == "/"


def test_login_from_another_site_is_refused(ui: Ui) -> None:
    r = ui.client().post(
        "/ui/login",
        data={"token": ui.tokens["admin"]},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert "another site" in r.text


def test_revoked_token_ends_the_session(ui: Ui) -> None:
    c = ui.client("analyst")
    assert c.get("/alerts").status_code == 200
    with transaction(ui.app.state.sessions) as s:
        revoke_token(s, ui.tokens["analyst"][:12], actor="test")
    assert c.get("/alerts").headers["location"].startswith("/login")


def test_logout_forgets_the_cookie(ui: Ui) -> None:
    c = ui.client("viewer")
    page = c.get("/").text
    assert 'action="/ui/logout"' in page
    r = c.post("/ui/logout", data={"csrf": csrf_of(page)})
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    assert f'{COOKIE}=""' in r.headers["set-cookie"]
    assert c.get("/").status_code == 303


def test_api_still_wants_a_bearer_token(ui: Ui) -> None:
    """The UI's cookie is not an API credential: the API keeps its own rule."""
    c = ui.client("admin")
    assert c.get("/api/me").status_code == 401


def test_ui_routes_stay_out_of_the_api_schema(ui: Ui) -> None:
    spec = ui.client().get("/api/openapi.json").json()
    assert spec["paths"]
    assert all(path.startswith("/api/") for path in spec["paths"])
