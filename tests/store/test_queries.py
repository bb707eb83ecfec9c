"""Reads for the API on both backends: filters, paging, totals, stats, alerts over time."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy.orm import Session, sessionmaker

from otsight.store import save_alerts, save_assets, save_conversations, transaction
from otsight.store.queries import (
    AlertFilter,
    AssetFilter,
    ConversationFilter,
    Page,
    alerts_over_time,
    list_alerts,
    list_assets,
    list_conversations,
    stats,
)

from .factories import alert, conversation, hmi, plc


@pytest.fixture
def loaded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as s:
        save_assets(s, [plc(n) for n in range(1, 6)] + [hmi(100), hmi(101)])
        save_assets(s, [plc(9, vendor="Schneider_Electric 100%", ips=["10.9.9.9"])])
        save_alerts(s, [alert(1, "high"), alert(2, "low"), alert(61, "high"), alert(62, "high")])
        save_conversations(s, [conversation(1), conversation(2, bytes=99999)])
    return sessions


def ids(rows: Sequence[object]) -> list[str]:
    return [str(getattr(r, "asset_id", getattr(r, "alert_id", ""))) for r in rows]


def test_asset_filters_page_and_total(loaded: sessionmaker[Session]) -> None:
    with loaded() as s:
        rows, total = list_assets(s, AssetFilter(role="plc"), Page(limit=2, sort="asset_id"))
        assert total == 6
        assert ids(rows) == [plc(1).asset_id, plc(2).asset_id]
        rows, total = list_assets(s, AssetFilter(role="plc"), Page(offset=5, limit=2))
        assert total == 6
        assert len(rows) == 1
        assert list_assets(s, AssetFilter(purdue_level=2), Page())[1] == 2
        assert ids(list_assets(s, AssetFilter(ip="10.0.0.3"), Page())[0]) == [plc(3).asset_id]
        assert ids(list_assets(s, AssetFilter(mac="00:1d:9c:c6:72:04"), Page())[0]) == [
            plc(4).asset_id
        ]
        assert list_assets(s, AssetFilter(vendor="rockwell"), Page())[1] == 5
        assert list_assets(s, AssetFilter(q="PLC-2"), Page())[1] == 1
        # LIKE wildcards in the text are literal
        assert list_assets(s, AssetFilter(vendor="r_e"), Page())[1] == 1
        assert list_assets(s, AssetFilter(vendor="o_k"), Page())[1] == 0  # not "rOcKwell"
        assert list_assets(s, AssetFilter(vendor="100%"), Page())[1] == 1
        assert list_assets(s, AssetFilter(q="%"), Page())[1] == 1
        assert list_assets(s, AssetFilter(role="plc", ip="10.0.1.100"), Page())[1] == 0
        newest = list_assets(s, AssetFilter(), Page(limit=1))[0]
        assert ids(newest) == [plc(9).asset_id]  # default: most recently seen first


def test_alert_filters(loaded: sessionmaker[Session]) -> None:
    with loaded() as s:
        assert list_alerts(s, AlertFilter(severity=["high"]), Page())[1] == 3
        assert list_alerts(s, AlertFilter(severity=["high", "low"]), Page())[1] == 4
        assert list_alerts(s, AlertFilter(status=["resolved"]), Page())[1] == 0
        assert ids(list_alerts(s, AlertFilter(ip="10.0.0.2"), Page())[0]) == [
            "ot-commands:plc-stop:2"
        ]
        since = 1_700_000_000.0 + 61 * 60
        assert list_alerts(s, AlertFilter(since=since), Page())[1] == 2
        assert list_alerts(s, AlertFilter(until=since), Page())[1] == 2
        assert list_alerts(s, AlertFilter(q="10.0.0.61"), Page())[1] == 1
        by_severity = list_alerts(s, AlertFilter(), Page(sort="-severity", limit=4))[0]
        assert [a.severity for a in by_severity] == ["high", "high", "high", "low"]
        assert list_alerts(s, AlertFilter(), Page(sort="severity", limit=1))[0][0].severity == "low"


def test_conversation_filters(loaded: sessionmaker[Session]) -> None:
    with loaded() as s:
        rows, total = list_conversations(s, ConversationFilter(address="10.0.1.100"), Page())
        assert total == 2
        assert rows[0].bytes == 99999
        f = ConversationFilter(asset_id=plc(1).asset_id)
        assert list_conversations(s, f, Page())[1] == 1
        assert list_conversations(s, ConversationFilter(port=80), Page())[1] == 0


def test_stats_and_alerts_over_time(loaded: sessionmaker[Session]) -> None:
    with loaded() as s:
        out = stats(s)
        assert out["assets"] == 8
        assert out["assets_by_role"] == {"plc": 6, "hmi": 2}
        assert out["assets_by_purdue_level"] == {"1": 6, "2": 2}
        assert out["alerts_by_severity"] == {"high": 3, "low": 1}
        assert out["alerts_by_status"] == {"new": 4}
        assert out["conversations"] == 2
        buckets = alerts_over_time(s, 3600, None, None)
        # alerts at +60 s, +120 s (one hour bucket) and +3660 s, +3720 s (the next)
        base = (1_700_000_000 + 60) // 3600 * 3600
        assert buckets == [
            (float(base), "high", 1),
            (float(base), "low", 1),
            (float(base + 3600), "high", 2),
        ]
        assert alerts_over_time(s, 60, 1_700_003_700.0, None) == [
            (1_700_003_700.0 // 60 * 60, "high", 1)
        ]
