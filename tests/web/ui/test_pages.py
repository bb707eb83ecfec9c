"""Every page over HTTP: what it shows, its filters, escaping, headers, and bad input."""

from __future__ import annotations

import re

import pytest

from otsight.store import save_assets, transaction
from otsight.web.ui.render import CSP

from .conftest import Ui
from .plant import ATTACKER, Host, asset

PLC = "mac:00:1d:9c:10:01:11"
ALERT = "ot-commands:plc-stop:4"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
PAGES = (
    "/",
    "/assets",
    f"/assets/{PLC}",
    "/map",
    "/map?protocol=modbus",
    f"/map?focus={PLC}",
    "/alerts",
    "/alerts?status=all",
    f"/alerts/{ALERT}",
    "/timeline",
    "/timeline?events=1",
)


def rows(html: str, table_id: str) -> int:
    table = html.split(f'id="{table_id}"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr")


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_escaped_with_strict_headers(ui: Ui, path: str) -> None:
    r = ui.client("viewer").get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>alert" not in r.text
    assert "<script" not in r.text.replace('<script src="/static/map.js', "")
    assert "style=" not in r.text  # the CSP allows no inline styles


def test_hostile_names_are_text_everywhere(ui: Ui) -> None:
    c = ui.client("viewer")
    xss_asset = "mac:00:0c:29:10:02:99"
    for path in ("/", "/assets?q=script", f"/assets/{xss_asset}", "/map", "/alerts", "/timeline"):
        html = c.get(path).text
        assert ESCAPED in html, path
    detail = c.get(f"/assets/{xss_asset}").text
    assert f'<h1 class="page-title">{ESCAPED}</h1>' in detail


def test_dashboard_counts_charts_and_risks(ui: Ui) -> None:
    html = ui.client("viewer").get("/").text
    assert re.search(r'class="tile-n">21<', html)  # assets
    assert re.search(r'class="tile-n">8<', html)  # open alerts: 9 less one marked expected
    assert 'href="/assets?role=plc"' in html
    assert 'href="/assets?level=unknown"' in html
    assert html.count("fill-sev-critical") >= 2  # legend and at least one bar segment
    risks = html.split("Top risks", 1)[1].split("</table>", 1)[0]
    names = re.findall(r'<a href="/assets/[^"]+">([^<]+)</a>', risks)
    assert names[:2] == [ATTACKER, "plc-pump"]
    assert "open alerts: 2 critical, 2 high, 1 medium" in risks
    assert "cleartext login" in risks


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 21),
        ("q=plc", 4),  # three by name, 10.10.1.14 by its role
        ("role=plc", 4),
        ("level=1", 7),
        ("level=unknown", 4),
        ("vendor=schneider", 2),
        ("protocol=modbus", 3),
        ("protocol=s7comm_plus", 0),
        ("q=100%25", 0),  # LIKE wildcards are literal
        ("role=plc&level=1&vendor=siemens", 1),
    ],
)
def test_inventory_filters(ui: Ui, query: str, expected: int) -> None:
    html = ui.client("viewer").get(f"/assets?{query}").text
    assert (rows(html, "assets") if expected else 0) == expected
    if not expected:
        assert "No asset matches these filters." in html


def test_inventory_sorts_and_pages(ui: Ui) -> None:
    c = ui.client("viewer")
    html = c.get("/assets?sort=-bytes&limit=25").text
    names = re.findall(r'class="strong">([^<]+)</a>', html)
    assert names[0] == ESCAPED  # the biggest talker in the plant
    assert 'aria-sort="descending"' in html
    page2 = c.get("/assets?sort=bytes&limit=25&offset=20").text
    assert rows(page2, "assets") == 1
    assert "21–21 of 21 assets" in page2
    assert "offset=0" not in page2  # "previous" to the first page drops the offset
    first = c.get("/assets?sort=asset_id&limit=25").text
    assert "Next" not in first.split('class="pager"', 1)[1]


def test_asset_page(ui: Ui) -> None:
    html = ui.client("viewer").get(f"/assets/{PLC}").text
    for text in ("Rockwell Automation", "1756-L61", "20.11", "0x6A1B22F3", "80% confidence"):
        assert text in html
    assert "answers enip on 44818" in html  # evidence
    assert "enip/list-identity" in html  # conflict
    conversations = html.split('id="conversations"', 1)[1]
    assert conversations.count("<tr>") == 1 + 4  # header and four peers
    assert "hmi-line1" in conversations
    alerts = html.split("Alerts involving it", 1)[1].split("</section>", 1)[0]
    assert alerts.count("badge sev-") == 3
    assert f'href="/map?focus={PLC.replace(":", "%3A")}"' in html


def test_alert_queue_filters(ui: Ui) -> None:
    c = ui.client("viewer")
    assert rows(c.get("/alerts").text, "alert-queue") == 8
    assert rows(c.get("/alerts?status=all").text, "alert-queue") == 9
    assert rows(c.get("/alerts?status=expected").text, "alert-queue") == 1
    assert rows(c.get("/alerts?severity=critical").text, "alert-queue") == 2
    assert rows(c.get("/alerts?detector=ot-commands").text, "alert-queue") == 4
    assert rows(c.get("/alerts?q=modbus").text, "alert-queue") == 3
    t = 1_715_680_800 + 60 + 37 * 4
    window = c.get(f"/alerts?status=all&since={t}&until={t + 0.5}").text
    assert rows(window, "alert-queue") == 1
    assert "Capture time from" in window
    assert f'name="until" value="{t}.5"' in window  # the filter form keeps the window


def test_alert_page(ui: Ui) -> None:
    html = ui.client("viewer").get(f"/alerts/{ALERT}").text
    assert 'href="https://attack.mitre.org/techniques/T0816"' in html
    assert "Attack on line 1 PLCs" in html
    assert html.count("plc-stop by 192.0.2.66") == 1
    assert 'href="/assets/mac:00:1b:1b:10:01:12"' in html  # the destination's asset


def test_map_lanes_edges_and_focus(ui: Ui) -> None:
    c = ui.client("viewer")
    html = c.get("/map").text
    nodes = re.compile(r'class="node( focus)?"')
    assert len(nodes.findall(html)) == 21
    assert html.count("<path d=") == 22
    for lane in ("Level 4–5 · Enterprise", "Level 1 · Basic control", "Level unknown"):
        assert lane in html
    modbus = c.get("/map?protocol=modbus").text
    assert modbus.count("<path d=") == modbus.count('<path d="M') == 8
    assert re.findall(r'<path d="[^"]*" class="edge ([\w-]+)"', modbus) == ["proto-modbus"] * 8
    focus = c.get(f"/map?focus={PLC}").text
    assert len(nodes.findall(focus)) == 5  # the PLC and its four peers
    assert 'class="node focus"' in focus


def test_timeline_groups_the_incident(ui: Ui) -> None:
    c = ui.client("viewer")
    html = c.get("/timeline").text
    incident = html.split("tl-incident", 2)[2].split("</li>\n    </ol>", 1)[0]
    assert "Incident: Attack on line 1 PLCs" in html
    assert incident.count('class="badge sev-') >= 3
    assert html.count("New asset") == 21
    zoomed = c.get("/timeline?since=1715680890&until=1715680900").text
    assert "New asset" not in zoomed
    assert "Port scan" in zoomed
    assert "Zoom out" in zoomed


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/assets?level=7", "level: &#39;7&#39; is not one of"),
        ("/assets?role=%3Cb%3E", "role: &#39;&lt;b&gt;&#39; is not one of"),
        ("/assets?sort=password", "sort: &#39;password&#39; is not one of"),
        ("/assets?offset=-1", "offset: must be between 0 and 1000000"),
        ("/assets?offset=abc", "offset: &#39;abc&#39; is not a whole number"),
        ("/assets?limit=7", "limit: must be one of 25, 50, 100, 200"),
        ("/assets?q=a%00b", "q: control characters are not allowed"),
        ("/assets?q=" + "x" * 201, "q: at most 200 characters"),
        ("/assets?protocol=mod%20bus", "protocol: a protocol name is"),
        ("/assets?q=a&q=b", "q: give it once, not 2 times"),
        (f"/assets/{PLC}?coff=x", "coff: &#39;x&#39; is not a whole number"),
        ("/alerts?severity=urgent", "severity: &#39;urgent&#39; is not one of"),
        ("/alerts?status=open&status=all", "status: give it once"),
        ("/alerts?since=nan", "since: must be a number between"),
        ("/alerts?until=1e300", "until: must be a number between"),
        ("/map?protocol=%3Cscript%3E", "protocol: a protocol name is"),
        ("/timeline?since=10&until=5", "until: must be after since"),
        ("/timeline?events=yes", "events: &#39;yes&#39; is not one of 0, 1"),
    ],
)
def test_bad_parameters_are_400_in_words(ui: Ui, path: str, message: str) -> None:
    r = ui.client("viewer").get(path)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert message in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/assets/mac:ff:ff:ff:ff:ff:ff",
        "/assets/" + "x" * 300,
        "/alerts/nope",
        "/alerts/%3Cscript%3E",
        "/map?focus=nope",
    ],
)
def test_unknown_ids_are_404_pages(ui: Ui, path: str) -> None:
    r = ui.client("viewer").get(path)
    assert r.status_code == 404
    assert "Cannot show this page" in r.text
    assert 'class="mainnav"' in r.text  # signed in: the navigation stays
    assert "<script>" not in r.text


def test_ids_with_slashes_and_odd_characters(ui: Ui) -> None:
    odd = Host("odd", "10.9.9.9", "aa:bb:cc:dd:ee:ff", "plc", "odd/name?x=1#y")
    a = asset(odd, 1)
    a.asset_id = "ip:10.9.9.9/odd?#"
    with transaction(ui.app.state.sessions) as s:
        save_assets(s, [a])
    c = ui.client("viewer")
    listing = c.get("/assets?q=odd").text
    href = re.search(r'<a href="(/assets/ip:10\.9\.9\.9[^"]*)"', listing)
    assert href is not None
    assert href.group(1) == "/assets/ip:10.9.9.9%2Fodd%3F%23"
    page = c.get(href.group(1))
    assert page.status_code == 200
    assert "odd/name?x=1#y" in page.text


def test_static_files(ui: Ui) -> None:
    c = ui.client()
    css = c.get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert c.get("/static/map.js").status_code == 200
    assert c.get("/static/../ui/session.py").status_code == 404


def test_empty_store(tmp_path: object) -> None:
    """A fresh install: every page says there is nothing yet instead of failing."""
    from pathlib import Path

    from fastapi.testclient import TestClient

    from otsight.store.users import add_user, create_token
    from otsight.web import create_app

    assert isinstance(tmp_path, Path)
    app = create_app(f"sqlite:///{tmp_path / 'empty.db'}")
    with transaction(app.state.sessions) as s:
        add_user(s, "ann", "viewer", actor="test")
        token = create_token(s, "ann", actor="test")
    c = TestClient(app, follow_redirects=False)
    c.post("/ui/login", data={"token": token})
    for path in ("/", "/assets", "/map", "/alerts", "/timeline"):
        r = c.get(path)
        assert r.status_code == 200, path
        assert 'class="empty"' in r.text, path
    app.state.engine.dispose()
