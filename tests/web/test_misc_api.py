"""Baselines, sensors, stats, alerts over time, the audit log and the OpenAPI schema."""

from __future__ import annotations

import hashlib

from .conftest import SENSOR, Api


def test_baselines_list_detail_and_admin_delete(api: Api) -> None:
    h = api.auth("viewer")
    listed = api.client.get("/api/baselines", headers=h).json()
    assert [(b["name"], b["has_state"], b["blob_bytes"]) for b in listed] == [
        ("comms", True, 0),
        ("model", False, 3),
    ]
    comms = api.client.get("/api/baselines/comms", headers=h).json()
    assert (comms["state"], comms["blob_sha256"], comms["created_at"]) == ({"pairs": 2}, None, 5.0)
    model = api.client.get("/api/baselines/model", headers=h).json()
    assert model["blob_sha256"] == hashlib.sha256(b"\x01\x02\x03").hexdigest()
    assert api.client.get("/api/baselines/none", headers=h).status_code == 404
    r = api.client.delete("/api/baselines/comms", headers=api.auth("admin"))
    assert r.status_code == 204
    assert api.client.get("/api/baselines/comms", headers=h).status_code == 404
    r = api.client.delete("/api/baselines/comms", headers=api.auth("admin"))
    assert (r.status_code, r.json()["detail"]) == (404, "baseline 'comms' not found")
    entry = api.client.get("/api/audit?target_type=baseline", headers=api.auth("admin")).json()
    assert entry["total"] == 1
    assert entry["items"][0]["before"]["name"] == "comms"
    assert entry["items"][0]["actor"] == "admin"


def test_sensors_list_and_detail(api: Api) -> None:
    h = api.auth("viewer")
    listed = api.client.get("/api/sensors", headers=h).json()
    assert listed == [
        {
            "name": SENSOR,
            "host": "site-a",
            "interface": "eth1",
            "state": "running",
            "started_at": 10.0,
            "updated_at": 70.0,
            "last_checkpoint_at": 68.0,
            "uptime_s": 60.0,
            "captured": 1000,
            "processed": 990,
            "kernel_received": 1002,
            "kernel_dropped": 2,
            "queue_bytes": 4096,
            "queue_peak_bytes": 65536,
            "queue_waits": 1,
        }
    ]
    one = api.client.get(f"/api/sensors/{SENSOR}", headers=h).json()
    assert one == {
        **listed[0],
        "settings": {"interface": "eth1", "filter": None, "checkpoint_s": 5.0},
        "counters": one["counters"],
    }
    assert (one["counters"]["flows_live"], one["counters"]["kernel_dropped"]) == (7, 2)
    r = api.client.get("/api/sensors/sensor:elsewhere:eth0", headers=h)
    assert (r.status_code, r.json()["detail"]) == (404, "sensor 'sensor:elsewhere:eth0' not found")
    # Sensor status is no longer a baseline.
    assert [b["name"] for b in api.client.get("/api/baselines", headers=h).json()] == [
        "comms",
        "model",
    ]


def test_stats_and_alerts_over_time(api: Api) -> None:
    h = api.auth("viewer")
    s = api.client.get("/api/stats", headers=h).json()
    assert s["assets"] == 4
    assert s["assets_by_role"] == {"plc": 3, "hmi": 1}
    assert s["alerts_by_severity"] == {"high": 1, "critical": 1, "low": 1}
    assert s["alerts_by_status"] == {"new": 3}
    assert s["conversations"] == 2
    t = api.client.get("/api/stats/alerts-over-time?bucket_s=86400", headers=h).json()
    assert t["bucket_s"] == 86400
    assert [(b["total"], b["by_severity"]) for b in t["buckets"]] == [
        (3, {"critical": 1, "high": 1, "low": 1})
    ]
    t = api.client.get("/api/stats/alerts-over-time?bucket_s=60", headers=h).json()
    assert [b["total"] for b in t["buckets"]] == [1, 1, 1]
    r = api.client.get("/api/stats/alerts-over-time?bucket_s=0", headers=h)
    assert r.status_code == 422
    assert "query.bucket_s" in r.json()["detail"]


def test_audit_log_records_user_and_token_creation(api: Api) -> None:
    body = api.client.get("/api/audit?actor=test", headers=api.auth("admin")).json()
    actions = sorted(e["action"] for e in body["items"])
    assert actions == ["token.create"] * 3 + ["user.add"] * 3


def test_openapi_schema_describes_every_route_with_bearer_auth(api: Api) -> None:
    spec = api.client.get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/api/assets" in spec["paths"]
    assert "/api/alerts/{alert_id}/mark-expected" in spec["paths"]
    role = spec["paths"]["/api/assets"]["get"]["parameters"]
    assert next(p for p in role if p["name"] == "role")["schema"]["anyOf"][0]["enum"][0] == "plc"
    # / is the web UI: without a session it sends you to log in.
    assert api.client.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"


def test_events_list_with_filters(api: Api) -> None:
    h = api.auth("viewer")
    body = api.client.get("/api/events", headers=h).json()
    assert body["total"] == 2
    assert [e["frame"] for e in body["items"]] == [2, 1]  # newest first
    first = body["items"][1]
    assert (first["protocol"], first["action"], first["dst_port"]) == (
        "modbus",
        "WriteSingleRegister",
        502,
    )
    assert first["doc"]["modbus"]["address"] == 40001
    got = api.client.get("/api/events?address=10.0.0.1&since=1700000001.5", headers=h).json()
    assert [e["frame"] for e in got["items"]] == [2]
    assert api.client.get("/api/events?protocol=dnp3", headers=h).json()["total"] == 0
    r = api.client.get("/api/events?sort=doc", headers=h)
    assert r.status_code == 422
