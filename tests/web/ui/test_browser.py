"""The UI in a real browser: headless Debian chromium driven by Playwright, against
``otsight serve`` on a free port over a store holding the test plant.

The journey: log in, open the dashboard, search and open an asset, open the map (pan, zoom,
hover, click an asset), acknowledge an alert from the queue (the store and the audit log say
so), and log out. A viewer sees no triage buttons. Every page is saved as a screenshot under
``test-artifacts/screenshots/``, and no page may log a script error or a CSP violation.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from otsight.store import make_engine, session_factory
from otsight.store.models import AlertRow, AuditRow

from .plant import XSS, fill

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
ALERT = "ot-commands:plc-stop:4"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium)", allow_module_level=True)
try:
    from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    pytest.skip("pip install playwright (the dev extra)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    db: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``otsight serve`` in a child process, on a store filled with the plant."""
    db = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'ui.db'}"
    engine = make_engine(db)
    from otsight.store.migrate import ensure_schema

    ensure_schema(engine)
    tokens = fill(session_factory(engine))
    engine.dispose()
    port = free_port()
    cmd = [sys.executable, "-m", "otsight.cli", "serve", "--db", db, "--port", str(port)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"otsight serve did not start: {out[-2000:]}")
            time.sleep(0.1)
        yield Server(url, db, tokens)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Watch:
    """Script errors, CSP violations and dialogs (an XSS would open one) seen by a page."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console: {msg.text}") if msg.type == "error" else None
            ),
        )

        def dialog(d: Dialog) -> None:
            self.problems.append(f"dialog: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page: Page, server: Server, role: str) -> None:
    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/login")
    page.fill("#token", server.tokens[role])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")


def test_analyst_journey(server: Server, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    watch = Watch()
    watch.attach(page)

    # Log in: a wrong token is refused, the right one opens the dashboard.
    page.goto(server.url + "/alerts")
    assert "/login?next=%2Falerts" in page.url
    shot(page, "01-login")
    page.fill("#token", "ots_wrong")
    page.click("button[type=submit]")
    expect(page.locator(".alert-box")).to_contain_text("not valid")
    assert [p for p in watch.problems if "401" not in p] == []  # the refusal is a 401
    watch.problems.clear()
    page.fill("#token", server.tokens["analyst"])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/alerts")
    cookie = next(c for c in context.cookies() if c["name"] == "otsight_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read the session

    # Dashboard: counts, charts, top risks.
    page.click("nav.mainnav >> text=Dashboard")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator(".tile").first).to_contain_text("21")
    assert page.locator("svg.chart .bar").count() >= 8
    assert page.locator("svg.histogram rect.fill-sev-critical").count() >= 1
    expect(page.locator("table").first).to_contain_text("plc-pump")
    shot(page, "02-dashboard")

    # Inventory: search, open an asset.
    page.click("nav.mainnav >> text=Assets")
    shot(page, "03-assets")
    page.fill("#asset-search", "pump")
    page.press("#asset-search", "Enter")
    page.wait_for_url("**/assets?q=pump*")
    rows = page.locator("#assets tbody tr")
    expect(rows).to_have_count(1)
    page.click("#assets >> text=plc-pump")
    expect(page.locator("h1")).to_have_text("plc-pump")
    expect(page.locator("body")).to_contain_text("Rockwell Automation")
    expect(page.locator("#conversations tbody tr")).to_have_count(4)
    shot(page, "04-asset")

    # Hostile names from the network are shown as text and never run.
    page.goto(server.url + "/assets?q=script")
    expect(page.locator("#assets tbody tr")).to_have_count(1)
    expect(page.locator("#assets tbody")).to_contain_text(XSS)

    # Map: lanes, nodes, edges; zoom, hover, click an asset to open it.
    page.click("nav.mainnav >> text=Network map")
    svg = page.locator("#netmap")
    expect(svg).to_be_visible()
    assert page.locator("#netmap .node").count() == 21
    assert page.locator("#netmap .edge").count() == 22
    before = svg.get_attribute("viewBox")
    page.click("[data-zoom=in]")
    assert svg.get_attribute("viewBox") != before
    page.click("[data-zoom=reset]")
    page.hover("#netmap .node[data-name=plc-pump] circle")
    assert "hovering" in (svg.get_attribute("class") or "")
    assert page.locator("#netmap .edge.lit").count() == 4
    shot(page, "05-map")
    page.click("#netmap .node[data-name=plc-pump] circle")
    page.wait_for_url("**/assets/mac:00:1d:9c:10:01:11")
    page.goto(server.url + "/map?protocol=modbus")
    assert page.locator("#netmap .edge").count() == 8
    shot(page, "06-map-modbus")

    # Alert queue: acknowledge the PLC stop.
    page.click("nav.mainnav >> text=Alerts")
    row = page.locator(f'tr[data-alert="{ALERT}"]')
    expect(row.locator(".status-cell")).to_contain_text("new")
    shot(page, "07-alerts")
    row.locator("button[data-action=acknowledge]").click()
    page.wait_for_load_state()
    expect(row.locator(".status-cell")).to_contain_text("acknowledged")
    assert row.locator("button[data-action=acknowledge]").count() == 0
    engine = make_engine(server.db)
    with session_factory(engine)() as s:
        alert = s.get(AlertRow, ALERT)
        assert alert is not None
        assert (alert.status, alert.status_changed_by) == ("acknowledged", "analyst")
        audit = s.scalars(select(AuditRow).where(AuditRow.target_id == ALERT)).all()
        assert [(a.actor, a.action) for a in audit] == [("analyst", "alert.acknowledge")]
    engine.dispose()

    # Alert page: evidence and technique, then the timeline.
    page.click(f'tr[data-alert="{ALERT}"] a.strong')
    expect(page.locator("#alert-status")).to_contain_text("acknowledged")
    expect(page.locator("body")).to_contain_text("T0816 Device Restart/Shutdown")
    shot(page, "08-alert")
    page.click("nav.mainnav >> text=Timeline")
    expect(page.locator(".tl-incident")).to_contain_text("Attack on line 1 PLCs")
    shot(page, "09-timeline")

    # Log out: the pages ask for the token again.
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto(server.url + "/")
    assert "/login" in page.url
    assert watch.problems == []
    context.close()


def test_viewer_sees_no_triage(server: Server, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    login(page, server, "viewer")
    page.goto(server.url + "/alerts")
    assert page.locator("#alert-queue tbody tr").count() >= 5
    assert page.locator("button[data-action]").count() == 0
    page.goto(f"{server.url}/alerts/{ALERT}")
    assert page.locator("button[data-action]").count() == 0
    expect(page.locator("body")).to_contain_text("You are a viewer")
    assert watch.problems == []
    context.close()
