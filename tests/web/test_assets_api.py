"""Assets and conversations over the API: filters, paging, detail with evidence, clear 4xx."""

from __future__ import annotations

import pytest

from store.factories import plc

from .conftest import Api


def test_asset_list_filters_and_totals(api: Api) -> None:
    h = api.auth("viewer")
    body = api.client.get("/api/assets", headers=h).json()
    assert body["total"] == 4
    assert body["offset"] == 0
    assert body["limit"] == 50
    assert body["items"][0]["asset_id"] == plc(3).asset_id  # most recently seen first
    page = api.client.get("/api/assets?role=plc&limit=2&offset=2&sort=asset_id", headers=h).json()
    assert page["total"] == 3
    assert [a["asset_id"] for a in page["items"]] == [plc(3).asset_id]
    by_ip = api.client.get("/api/assets", params={"ip": "10.0.0.2"}, headers=h).json()
    assert [a["asset_id"] for a in by_ip["items"]] == [plc(2).asset_id]
    by_mac = api.client.get("/api/assets", params={"mac": "00-1D-9C-C6-72-01"}, headers=h).json()
    assert [a["asset_id"] for a in by_mac["items"]] == [plc(1).asset_id]
    assert api.client.get("/api/assets?purdue_level=2", headers=h).json()["total"] == 1
    assert api.client.get("/api/assets?vendor=dell", headers=h).json()["total"] == 1
    assert api.client.get("/api/assets?q=plc-1", headers=h).json()["total"] == 1


def test_asset_detail_has_evidence_conflicts_and_services(api: Api) -> None:
    r = api.client.get(f"/api/assets/{plc(1).asset_id}", headers=api.auth("viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "1756-L61"
    assert body["attributes"] == {"product_code": "55"}
    assert {e["claim"] for e in body["evidence"]} == {"role", "vendor"}
    assert body["conflicts"][0]["other_source"] == "oui"
    assert body["services"] == [
        {"protocol": "modbus", "transport": "tcp", "port": 502, "clients": 2}
    ]


def test_asset_conversations_and_conversation_list(api: Api) -> None:
    h = api.auth("viewer")
    r = api.client.get(f"/api/assets/{plc(1).asset_id}/conversations", headers=h).json()
    assert r["total"] == 1
    assert r["items"][0]["server"] == "10.0.0.1"
    r = api.client.get("/api/conversations?address=10.0.1.100&port=502", headers=h).json()
    assert r["total"] == 2
    r = api.client.get("/api/conversations?transport=udp", headers=h).json()
    assert r["total"] == 0


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/api/assets/ip:10.9.9.9", 404, "asset 'ip:10.9.9.9' not found"),
        ("/api/assets/ip:10.9.9.9/conversations", 404, "asset 'ip:10.9.9.9' not found"),
        ("/api/assets?role=wizard", 422, "query.role: role must be one of plc, rtu"),
        ("/api/assets?purdue_level=9", 422, "query.purdue_level: Input should be less than"),
        ("/api/assets?limit=5000", 422, "query.limit: Input should be less than or equal to 1000"),
        ("/api/assets?offset=-1", 422, "query.offset"),
        ("/api/assets?sort=password", 422, "sort must be one of -asset_id"),
        ("/api/assets?ip=10.0.0.999", 422, "ip: '10.0.0.999' is not an IPv4 or IPv6 address"),
        ("/api/assets?mac=zz", 422, "mac: 'zz' is not a MAC address"),
        ("/api/assets?q=a%00b", 422, "query.q: String should match pattern"),
        (f"/api/assets?q={'x' * 201}", 422, "query.q: String should have at most 200"),
        ("/api/conversations?port=70000", 422, "query.port"),
        ("/api/conversations?transport=TCP!", 422, "query.transport"),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(api: Api, url: str, status: int, message: str) -> None:
    r = api.client.get(url, headers=api.auth("viewer"))
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
