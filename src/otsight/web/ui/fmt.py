"""How numbers and times read on the pages (Jinja filters).

Times are capture time, shown in UTC: a capture from another site's clock must read the same
to everyone looking at it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any
from urllib.parse import quote

from ...store.models import AssetRow

TECHNIQUE_RE = re.compile(r"^T\d{4}(?:\.\d{3})?$")


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def when(ts: float | None) -> str:
    """``2023-11-14 22:13:20`` (UTC), or an em dash for no time."""
    if ts is None or not math.isfinite(ts) or ts <= 0:
        return "—"
    return _utc(ts).strftime("%Y-%m-%d %H:%M:%S")


def when_ms(ts: float | None) -> str:
    if ts is None or not math.isfinite(ts) or ts <= 0:
        return "—"
    return _utc(ts).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def clock(ts: float | None) -> str:
    """``22:13:20``: the time of day, for lists whose date is shown once."""
    if ts is None or not math.isfinite(ts) or ts <= 0:
        return "—"
    return _utc(ts).strftime("%H:%M:%S")


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``2 d``."""
    s = abs(seconds)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} d"


def number(n: float | None) -> str:
    if n is None:
        return "—"
    return f"{n:,.0f}".replace(",", "\u202f")


def size(n: float | None) -> str:
    """Bytes as ``512 B``, ``3.2 kB``, ``41 MB`` (powers of 1000, as traffic is counted)."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop always returns


def percent(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def clip(text: Any, n: int = 40) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def asset_url(asset_id: str) -> str:
    return "/assets/" + quote(asset_id, safe=":@")


def alert_url(alert_id: str) -> str:
    return "/alerts/" + quote(alert_id, safe=":@")


def technique_url(technique_id: str) -> str | None:
    """The ATT&CK for ICS page of a technique id; None for anything not shaped like one."""
    if not TECHNIQUE_RE.match(technique_id):
        return None
    return "https://attack.mitre.org/techniques/" + technique_id.replace(".", "/")


def display_name(row: AssetRow) -> str:
    """What a person calls the device: its configured name, a hostname, else an address."""
    for name in (row.device_name, *(row.hostnames or ()), *(row.ips or ()), *(row.macs or ())):
        if name:
            return str(name)
    return row.asset_id


FILTERS = {
    "when": when,
    "when_ms": when_ms,
    "clock": clock,
    "duration": duration,
    "number": number,
    "size": size,
    "percent": percent,
    "clip": clip,
}
