"""The UI's parts on their own: risk score, map layout and caps, charts, links, sessions."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from otsight.web.ui import netmap, risk
from otsight.web.ui.charts import bucket_width, histogram
from otsight.web.ui.fmt import duration, size, technique_url
from otsight.web.ui.palette import LEVEL_LABELS, level_key
from otsight.web.ui.params import Here, Params, UiError
from otsight.web.ui.session import csrf_for, safe_next

from .conftest import Ui
from .plant import ATTACKER


def test_risk_scores_are_the_sum_the_page_explains(ui: Ui) -> None:
    with ui.app.state.sessions() as s:
        risks = risk.top_risks(s, n=20)
        tallies = risk._tallies(s, [r.asset.asset_id for r in risks])
    assert risks[0].asset.ips == [ATTACKER]
    # 2 critical + 2 high + 1 medium open alerts: 20 + 12 + 3 = 35, under the cap of 40
    assert risks[0].score == 35
    for r in risks:
        assert tallies[r.asset.asset_id].score() == r.score, r.asset.asset_id
    assert [r.score for r in risks] == sorted((r.score for r in risks), reverse=True)
    by_name = {r.asset.hostnames[0] if r.asset.hostnames else r.asset.ips[0]: r for r in risks}
    # a switch with nothing but a cleartext Telnet login
    assert by_name["core-sw"].score == risk.CLEARTEXT_POINTS
    # two OT services, used by the attacker (not in levels 0-3), 3 high alerts (18)
    assert by_name["plc-pump"].score == 18 + 2 * 2 + 4


def test_map_lanes_follow_purdue_levels(ui: Ui) -> None:
    with ui.app.state.sessions() as s:
        m = netmap.build(s)
    labels = [lane.label for lane in m.lanes]
    assert labels == [LEVEL_LABELS[k] for k in (4, 3, 2, 1, None)]  # no level-0 assets
    tops = [lane.y for lane in m.lanes]
    assert tops == sorted(tops)
    lanes = {lane.label: lane for lane in m.lanes}
    for node in m.nodes:
        lane = lanes[LEVEL_LABELS[level_key(node.level)]]
        assert lane.y < node.y < lane.y + lane.h, node.name
        assert netmap.LABEL_W < node.x < m.width


def test_map_caps_edges_and_nodes_with_a_note(ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netmap, "MAX_NODES", 6)
    with ui.app.state.sessions() as s:
        m = netmap.build(s)
        modbus = netmap.build(s, protocol="modbus")
    assert len(m.nodes) == 6
    assert any("Showing the 6 assets with the most traffic of 21" in n for n in m.notes)
    assert len(modbus.nodes) == 6
    assert any("Showing the 6 busiest of 8 assets speaking modbus" in n for n in modbus.notes)
    monkeypatch.setattr(netmap, "MAX_NODES", 300)
    monkeypatch.setattr(netmap, "MAX_EDGES", 5)
    with ui.app.state.sessions() as s:
        modbus = netmap.build(s, protocol="modbus")
    assert len(modbus.edges) == 5
    assert any("heaviest of 8 links" in n for n in modbus.notes)
    weights = [e.bytes for e in modbus.edges]
    assert weights == sorted(weights, reverse=True)


def test_bucket_widths_are_tidy() -> None:
    assert bucket_width(30) == 1
    assert bucket_width(58) == 2
    assert bucket_width(400) == 10
    assert bucket_width(3600) == 120
    assert bucket_width(86400) == 3600
    assert bucket_width(10**9) > 2_592_000


def test_histogram_stacks_and_labels() -> None:
    counts = {100.0: {"high": 2, "low": 1}, 110.0: {"critical": 4}}
    h = histogram(
        counts,
        [("low", "a"), ("high", "b"), ("critical", "c")],
        start=100.0,
        end=120.0,
        bucket_s=10,
        link=lambda b0, b1: f"/x?since={b0:.0f}",
        describe=lambda b0, b1, by: str(sum(by.values())),
    )
    assert [c.total for c in h.columns] == [3, 4, 0]
    assert [c.href for c in h.columns] == ["/x?since=100", "/x?since=110", None]
    assert [s.css for s in h.columns[0].segments] == ["a", "b"]  # bottom to top
    assert [t.label for t in h.y_ticks] == ["0", "2", "4"]
    full = h.columns[1].segments[0]
    assert full.h == pytest.approx(h.plot_h)


def test_links_keep_filters_and_reset_paging() -> None:
    here = Here("/assets", {"q": "a b&c", "role": None, "sort": "-bytes", "offset": 50})
    assert here.with_(role="plc") == "/assets?q=a+b%26c&role=plc&sort=-bytes"
    assert here.with_(offset=100) == "/assets?q=a+b%26c&sort=-bytes&offset=100"
    assert here.sort_link("bytes", "-bytes") == "/assets?q=a+b%26c&sort=bytes"
    assert here.sort_link("vendor", "-bytes").endswith("sort=vendor")
    assert here.sort_link("last_seen", "-bytes").endswith("sort=-last_seen")


def test_params_refuse_in_words() -> None:
    p = Params(QueryParams("n=5&x=%20hello%20&f=inf&s=a"))
    assert p.integer("n", 0, 10, 1) == 5
    assert p.integer("missing", 0, 10, 1) == 1
    assert p.text("x") == "hello"
    with pytest.raises(UiError, match="f: must be a number between"):
        p.number("f", 0, 1e11)
    with pytest.raises(UiError, match="s: 'a' is not one of b, c"):
        p.choice("s", ("b", "c"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/"),
        ("/alerts?x=1", "/alerts?x=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil", "/"),
        ("/a\r\nSet-Cookie: x", "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_csrf_tokens_belong_to_one_session() -> None:
    assert csrf_for("ots_a") == csrf_for("ots_a")
    assert csrf_for("ots_a") != csrf_for("ots_b")
    assert "ots_a" not in csrf_for("ots_a")


def test_formatting() -> None:
    assert size(999) == "999 B"
    assert size(1500) == "1.5 kB"
    assert size(3_200_000_000) == "3.2 GB"
    assert duration(0.25) == "250 ms"
    assert duration(600) == "10 min"
    assert technique_url("T0816") == "https://attack.mitre.org/techniques/T0816"
    assert technique_url("T1059.001") == "https://attack.mitre.org/techniques/T1059/001"
    assert technique_url('javascript:alert(1)"') is None
