"""Fold repeats into one alert so the list stays short enough to be read.

Repeats are alerts of the same detector and kind on the same endpoints; one that comes within
``window_s`` (packet time) of the previous occurrence is merged into it: ``count`` adds up,
``last_ts`` moves on, the severity is the highest seen, and the evidence keeps the first items
plus the latest one (bounded memory however long the condition lasts). A repeat after a quiet
gap longer than the window opens a new alert: it is news again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .factory import SEVERITY_RANK
from .model import Alert, AlertEvidence

DEFAULT_WINDOW_S = 300.0
MAX_EVIDENCE = 20

DedupKey = tuple[str, str, str | None, str | None, str | None, str | None]


def dedup_key(alert: Alert) -> DedupKey:
    """What makes two alerts "the same kind on the same endpoints"."""
    return (alert.detector, alert.kind, alert.src_ip, alert.dst_ip, alert.src_mac, alert.dst_mac)


class _Open:
    """One alert being accumulated (mutable until :meth:`Deduplicator.alerts`)."""

    __slots__ = ("count", "evidence", "first", "last_ts", "latest", "severity")

    def __init__(self, alert: Alert, max_evidence: int) -> None:
        self.first = alert
        self.count = alert.count
        self.last_ts = alert.last_ts if alert.last_ts is not None else alert.ts
        self.severity = alert.severity
        self.evidence: list[AlertEvidence] = list(alert.evidence[: max_evidence - 1])
        self.latest: AlertEvidence | None = None
        for item in alert.evidence[max_evidence - 1 :]:
            self.latest = item

    def merge(self, alert: Alert, max_evidence: int) -> None:
        self.count += alert.count
        last = alert.last_ts if alert.last_ts is not None else alert.ts
        self.last_ts = max(self.last_ts, last)
        if SEVERITY_RANK[alert.severity] > SEVERITY_RANK[self.severity]:
            self.severity = alert.severity
        for item in alert.evidence:
            if len(self.evidence) < max_evidence - 1:
                self.evidence.append(item)
            else:
                self.latest = item

    def build(self) -> Alert:
        evidence = self.evidence + ([self.latest] if self.latest is not None else [])
        return dataclasses.replace(
            self.first,
            count=self.count,
            last_ts=self.last_ts,
            severity=self.severity,
            evidence=tuple(evidence),
        )


class Deduplicator:
    """Online deduplication; :meth:`add` says whether the alert opened a new one."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, max_evidence: int = MAX_EVIDENCE):
        if window_s < 0 or max_evidence < 1:
            raise ValueError("window_s must be >= 0 and max_evidence >= 1")
        self.window_s = window_s
        self.max_evidence = max_evidence
        self._open: dict[DedupKey, _Open] = {}
        self._closed: list[_Open] = []
        self.merged = 0

    def add(self, alert: Alert) -> bool:
        key = dedup_key(alert)
        acc = self._open.get(key)
        if acc is not None:
            lo = acc.first.ts - self.window_s
            if lo <= alert.ts <= acc.last_ts + self.window_s:
                acc.merge(alert, self.max_evidence)
                self.merged += 1
                return False
            self._closed.append(acc)
        self._open[key] = _Open(alert, self.max_evidence)
        return True

    def __len__(self) -> int:
        return len(self._closed) + len(self._open)

    def alerts(self) -> list[Alert]:
        """Every alert so far, merged, in capture-time order (ties by id: deterministic)."""
        built = [acc.build() for acc in (*self._closed, *self._open.values())]
        built.sort(key=lambda a: (a.ts, a.alert_id))
        return built


def deduplicate(
    alerts: Iterable[Alert], window_s: float = DEFAULT_WINDOW_S, max_evidence: int = MAX_EVIDENCE
) -> list[Alert]:
    """Merge repeats of ``alerts`` (taken in capture-time order)."""
    dedup = Deduplicator(window_s, max_evidence)
    for alert in sorted(alerts, key=lambda a: (a.ts, a.alert_id)):
        dedup.add(alert)
    return dedup.alerts()
