"""Alerts and incidents over the API: lists, detail, triage with audit, conflicts and 404s."""

from __future__ import annotations

import pytest

from .conftest import Api

A1 = "ot-commands:plc-stop:1"
A2 = "ot-commands:plc-stop:2"


def audit(api: Api) -> list[dict[str, object]]:
    items: list[dict[str, object]] = api.client.get(
        "/api/audit?limit=1000", headers=api.auth("admin")
    ).json()["items"]
    return items


def test_alert_list_and_detail(api: Api) -> None:
    h = api.auth("viewer")
    body = api.client.get("/api/alerts", headers=h).json()
    assert body["total"] == 3
    assert body["items"][0]["alert_id"] == "ot-commands:plc-stop:3"
    sev = api.client.get("/api/alerts?severity=high&severity=critical", headers=h).json()
    assert sorted(a["alert_id"] for a in sev["items"]) == [A1, A2]
    assert api.client.get("/api/alerts?status=resolved", headers=h).json()["total"] == 0
    assert api.client.get("/api/alerts?ip=10.0.0.2", headers=h).json()["total"] == 1
    detail = api.client.get(f"/api/alerts/{A1}", headers=h).json()
    assert detail["explanation"].startswith("A STOP command")
    assert detail["evidence"][0]["operation"] == "plc-stop"
    assert detail["technique_id"] == "T0816"
    assert detail["incident_ids"] == []


def test_triage_changes_status_and_is_audited(api: Api) -> None:
    h = api.auth("analyst")
    r = api.client.post(f"/api/alerts/{A1}/acknowledge", headers=h, json={"note": "on it"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["note"], r.json()["status_changed_by"]) == (
        "acknowledged",
        "on it",
        "analyst",
    )
    r = api.client.post(f"/api/alerts/{A1}/assign", headers=h, json={"assignee": "analyst"})
    assert r.json()["assignee"] == "analyst"
    assert api.client.post(f"/api/alerts/{A1}/resolve", headers=h).json()["status"] == "resolved"
    r = api.client.post(f"/api/alerts/{A1}/acknowledge", headers=h)
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"alert '{A1}' is resolved; acknowledge applies only to new alerts"
    )
    assert api.client.post(f"/api/alerts/{A1}/reopen", headers=h).json()["status"] == "new"
    r = api.client.post(f"/api/alerts/{A2}/mark-expected", headers=h, json={"note": "backup job"})
    assert r.json()["status"] == "expected"
    trail = [(e["action"], e["target_id"]) for e in reversed(audit(api)) if e["actor"] == "analyst"]
    assert trail == [
        ("alert.acknowledge", A1),
        ("alert.assign", A1),
        ("alert.resolve", A1),
        ("alert.reopen", A1),
        ("alert.expected", A2),
    ]
    entry = next(e for e in audit(api) if e["action"] == "alert.resolve")
    assert entry["before"] == {"status": "acknowledged", "assignee": "analyst", "note": "on it"}
    assert entry["after"] == {"status": "resolved", "assignee": "analyst", "note": "on it"}
    assert api.client.get("/api/alerts?assignee=analyst", headers=h).json()["total"] == 1


def test_incidents_group_alerts_and_are_triaged(api: Api) -> None:
    h = api.auth("analyst")
    r = api.client.post("/api/incidents", headers=h, json={"title": "stop", "alert_ids": [A1]})
    assert r.status_code == 201
    inc = r.json()
    iid = inc["incident_id"]
    assert (inc["severity"], inc["status"], inc["alert_ids"]) == ("high", "new", [A1])
    r = api.client.post(f"/api/incidents/{iid}/alerts", headers=h, json={"alert_ids": [A2]})
    assert sorted(r.json()["alert_ids"]) == [A1, A2]
    assert [a["alert_id"] for a in r.json()["alerts"]] == [A1, A2]
    r = api.client.post(f"/api/incidents/{iid}/acknowledge", headers=h)
    assert r.json()["status"] == "acknowledged"
    r = api.client.post(f"/api/incidents/{iid}/assign", headers=h, json={"assignee": "admin"})
    assert r.json()["assignee"] == "admin"
    listed = api.client.get("/api/incidents?status=acknowledged", headers=h).json()
    assert listed["total"] == 1
    assert listed["items"][0]["incident_id"] == iid
    assert api.client.get(f"/api/incidents/{iid}", headers=h).json()["title"] == "stop"
    assert api.client.get(f"/api/alerts/{A2}", headers=h).json()["incident_ids"] == [iid]
    actions = {e["action"] for e in audit(api)}
    assert {"incident.create", "incident.add_alerts", "incident.acknowledge"} <= actions
    assert "incident.assign" in actions


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "message"),
    [
        ("get", "/api/alerts/nope", None, 404, "alert 'nope' not found"),
        ("post", "/api/alerts/nope/resolve", None, 404, "alert 'nope' not found"),
        ("post", "/api/incidents/inc-0/reopen", None, 404, "incident 'inc-0' not found"),
        ("get", "/api/incidents/inc-0", None, 404, "incident 'inc-0' not found"),
        ("get", "/api/alerts?severity=urgent", None, 422, "severity must be one of info, low"),
        ("get", "/api/alerts?since=nan", None, 422, "query.since"),
        ("get", "/api/alerts?since=1e300", None, 422, "query.since"),
        ("post", f"/api/alerts/{A1}/assign", {"assignee": "ghost"}, 422, "no such user"),
        ("post", f"/api/alerts/{A1}/assign", {"assignee": "a b"}, 422, "body.assignee"),
        ("post", f"/api/alerts/{A1}/assign", {}, 422, "body.assignee: Field required"),
        ("post", f"/api/alerts/{A1}/resolve", {"note": 5}, 422, "body.note"),
        ("post", f"/api/alerts/{A1}/resolve", {"nite": "x"}, 422, "body.nite: Extra inputs"),
        ("post", "/api/incidents", {"title": "x", "alert_ids": []}, 422, "body.alert_ids"),
        ("post", "/api/incidents", {"title": "x", "alert_ids": ["no"]}, 422, "unknown alert"),
        ("post", "/api/incidents", {"title": "", "alert_ids": [A1]}, 422, "body.title"),
        (
            "post",
            "/api/incidents",
            {"title": "x", "alert_ids": [A1], "severity": "dire"},
            422,
            "severity must be one of",
        ),
        ("post", "/api/incidents", "not json", 422, "body"),
    ],
)
def test_bad_triage_input_is_a_4xx_with_a_message(
    api: Api, method: str, url: str, body: object, status: int, message: str
) -> None:
    h = {**api.auth("analyst"), "Content-Type": "application/json"}
    kwargs: dict[str, object] = {"headers": h}
    if isinstance(body, str):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    r = api.client.request(method.upper(), url, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
