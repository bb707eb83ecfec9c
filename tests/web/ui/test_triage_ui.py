"""Triage from the UI: the same rules and audit as the API, and forged posts refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from otsight.store.models import AlertRow, AuditRow

from .conftest import Ui, csrf_of

ALERT = "ot-commands:plc-stop:4"


def status(ui: Ui, alert_id: str = ALERT) -> tuple[str, str | None]:
    with ui.app.state.sessions() as s:
        row = s.get(AlertRow, alert_id)
        assert row is not None
        return row.status, row.assignee


def audit(ui: Ui) -> list[tuple[str, str, str]]:
    with ui.app.state.sessions() as s:
        rows = s.scalars(
            select(AuditRow).where(AuditRow.target_type == "alert").order_by(AuditRow.id)
        )
        return [(r.actor, r.action, r.target_id) for r in rows]


def post(c: TestClient, csrf: str, **fields: str) -> object:
    return c.post("/ui/alerts/triage", data={"csrf": csrf, "alert_id": ALERT, **fields})


def test_analyst_triages_with_audit(ui: Ui) -> None:
    c = ui.client("analyst")
    queue = c.get("/alerts").text
    token = csrf_of(queue)
    assert 'data-action="acknowledge"' in queue
    r = c.post(
        "/ui/alerts/triage",
        data={
            "csrf": token,
            "alert_id": ALERT,
            "action": "acknowledge",
            "note": "looking",
            "next": "/alerts?severity=critical",
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/alerts?severity=critical"
    assert status(ui) == ("acknowledged", None)
    for fields in (
        {"action": "assign", "assignee": "admin"},
        {"action": "resolve"},
        {"action": "reopen"},
        {"action": "expected"},
        {"action": "assign", "assignee": ""},
    ):
        assert (
            c.post(
                "/ui/alerts/triage", data={"csrf": token, "alert_id": ALERT, **fields}
            ).status_code
            == 303
        )
    assert status(ui) == ("expected", None)
    mine = [a for a in audit(ui) if a[0] == "analyst" and a[2] == ALERT]
    assert [a[1] for a in mine] == [
        "alert.acknowledge",
        "alert.assign",
        "alert.resolve",
        "alert.reopen",
        "alert.expected",
        "alert.assign",
    ]
    page = c.get(f"/alerts/{ALERT}").text
    assert "looking" in page  # the note
    assert 'data-action="reopen"' in page
    assert 'data-action="acknowledge"' not in page


def test_a_change_that_does_not_fit_is_409(ui: Ui) -> None:
    c = ui.client("analyst")
    token = csrf_of(c.get("/alerts").text)
    assert (
        c.post(
            "/ui/alerts/triage", data={"csrf": token, "alert_id": ALERT, "action": "resolve"}
        ).status_code
        == 303
    )
    r = c.post(
        "/ui/alerts/triage", data={"csrf": token, "alert_id": ALERT, "action": "acknowledge"}
    )
    assert r.status_code == 409
    assert "is resolved; acknowledge applies only to new alerts" in r.text


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"action": "delete"}, 400, "action must be one of"),
        ({"action": "acknowledge", "alert_id": "nope"}, 404, "alert &#39;nope&#39; not found"),
        ({"action": "acknowledge", "alert_id": ""}, 404, "not found"),
        ({"action": "assign", "assignee": "mallory"}, 400, "no such user"),
    ],
)
def test_bad_triage_posts(ui: Ui, fields: dict[str, str], code: int, message: str) -> None:
    c = ui.client("analyst")
    token = csrf_of(c.get("/alerts").text)
    r = c.post("/ui/alerts/triage", data={"csrf": token, "alert_id": ALERT, **fields})
    assert r.status_code == code
    assert message in r.text
    assert status(ui) == ("new", None)


def test_viewer_sees_no_buttons_and_is_refused(ui: Ui) -> None:
    c = ui.client("viewer")
    queue = c.get("/alerts").text
    assert "data-action" not in queue
    assert "Triage</th>" not in queue
    detail = c.get(f"/alerts/{ALERT}").text
    assert "data-action" not in detail
    r = c.post(
        "/ui/alerts/triage",
        data={"csrf": csrf_of(queue), "alert_id": ALERT, "action": "acknowledge"},
    )
    assert r.status_code == 403
    assert "user &#39;viewer&#39; is viewer; triage needs analyst or admin" in r.text
    assert status(ui) == ("new", None)
    assert audit(ui) == [("analyst", "alert.expected", "baseline:new-connection:7")]


def test_forged_posts_are_refused(ui: Ui) -> None:
    c = ui.client("admin")
    token = csrf_of(c.get("/alerts").text)
    other = csrf_of(ui.client("analyst").get("/alerts").text)
    cases = [
        ({}, {}),  # no CSRF token
        ({"csrf": "0" * 64}, {}),  # a made-up one
        ({"csrf": other}, {}),  # another session's
        ({"csrf": token}, {"Origin": "https://evil.example"}),  # right token, wrong site
        ({"csrf": token}, {"Origin": "null"}),
        ({"csrf": token}, {"Referer": "http://evil.example/page"}),
    ]
    for extra, headers in cases:
        r = c.post(
            "/ui/alerts/triage",
            data={"alert_id": ALERT, "action": "acknowledge", **extra},
            headers=headers,
        )
        assert r.status_code == 403, (extra, headers)
    assert status(ui) == ("new", None)
    ok = c.post(
        "/ui/alerts/triage",
        data={"alert_id": ALERT, "action": "acknowledge", "csrf": token},
        headers={"Origin": "http://testserver"},
    )
    assert ok.status_code == 303
    assert status(ui) == ("acknowledged", None)


def test_posts_without_a_session_or_in_odd_shapes(ui: Ui) -> None:
    anonymous = ui.client()
    r = anonymous.post("/ui/alerts/triage", data={"alert_id": ALERT, "action": "acknowledge"})
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    c = ui.client("analyst")
    token = csrf_of(c.get("/alerts").text)
    r = c.post("/ui/alerts/triage", json={"csrf": token, "alert_id": ALERT, "action": "resolve"})
    assert r.status_code == 415
    big = c.post(
        "/ui/alerts/triage",
        content=b"csrf=" + token.encode() + b"&note=" + b"x" * 20_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413
    many = "&".join(f"f{i}=1" for i in range(50))
    r = c.post(
        "/ui/alerts/triage",
        content=many.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    bad = c.post(
        "/ui/alerts/triage",
        content=b"csrf=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 400
    assert status(ui) == ("new", None)


def test_next_after_triage_stays_on_the_site(ui: Ui) -> None:
    c = ui.client("analyst")
    token = csrf_of(c.get("/alerts").text)
    r = c.post(
        "/ui/alerts/triage",
        data={"csrf": token, "alert_id": ALERT, "action": "acknowledge", "next": "//evil.example"},
    )
    assert r.headers["location"] == "/"
