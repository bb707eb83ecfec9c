"""Coverage against the asset list a site keeps: which expected devices were seen, which not.

The CSV needs a header and at least one of the columns ``ip``, ``mac`` or ``hostname`` per row
(``name`` is optional, for the report). A row matches an asset by MAC, else IP, else host name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .model import Asset

KEY_COLUMNS = ("mac", "ip", "hostname")


class ExpectedError(ValueError):
    """The expected-assets file cannot be used (the message says why and where)."""


@dataclass(slots=True)
class ExpectedAsset:
    line: int
    name: str
    mac: str | None
    ip: str | None
    hostname: str | None

    def label(self) -> str:
        return self.name or self.hostname or self.ip or self.mac or f"line {self.line}"


@dataclass(slots=True)
class Coverage:
    seen: list[tuple[ExpectedAsset, str]] = field(default_factory=list)  # (row, asset id)
    unseen: list[ExpectedAsset] = field(default_factory=list)
    unexpected: list[Asset] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        total = len(self.seen) + len(self.unseen)
        return len(self.seen) / total if total else 1.0


def load_expected(path: Path) -> list[ExpectedAsset]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ExpectedError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ExpectedError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not any(k in header for k in KEY_COLUMNS):
        raise ExpectedError(
            f"{path}: the header needs at least one of the columns {', '.join(KEY_COLUMNS)}"
            f" (found: {', '.join(header) or 'nothing'})"
        )
    rows: list[ExpectedAsset] = []
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        mac = row.get("mac", "").lower().replace("-", ":") or None
        ip = row.get("ip") or None
        hostname = row.get("hostname") or None
        if not (mac or ip or hostname):
            raise ExpectedError(f"{path}:{line}: the row has no mac, ip or hostname")
        rows.append(ExpectedAsset(line, row.get("name", ""), mac, ip, hostname))
    return rows


def coverage(expected: list[ExpectedAsset], assets: list[Asset]) -> Coverage:
    by_mac = {m: a for a in assets for m in a.macs}
    by_ip = {ip: a for a in assets for ip in a.ips}
    by_name = {h.casefold(): a for a in assets for h in a.hostnames}
    result = Coverage()
    matched: set[str] = set()
    for row in expected:
        asset = (
            (by_mac.get(row.mac) if row.mac else None)
            or (by_ip.get(row.ip) if row.ip else None)
            or (by_name.get(row.hostname.casefold()) if row.hostname else None)
        )
        if asset is None:
            result.unseen.append(row)
        else:
            result.seen.append((row, asset.asset_id))
            matched.add(asset.asset_id)
    result.unexpected = [a for a in assets if a.asset_id not in matched]
    return result
