"""Group alerts into incidents: one story per attacker (or per target when the source is not
known), so an analyst reads "192.0.2.66 scanned, spoofed ARP, then wrote to plc1" once instead
of ten alerts.

Two alerts belong together when they share an actor (source IP or MAC; a target address when
the alert names no source) and the later one starts within ``gap_s`` of the group's last
activity. An alert that names both a source IP and a MAC links the two, so an ARP-spoofing alert
(MAC) and a Modbus write (IP) of the same attacker join.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .factory import SEVERITY_RANK
from .model import Alert

DEFAULT_GAP_S = 900.0


@dataclass(frozen=True, slots=True)
class Incident:
    """Alerts of one actor close in time. ``incident_id`` derives from its first alert."""

    incident_id: str
    ts: float  # first packet of the first alert
    last_ts: float
    severity: str  # the highest of its alerts
    title: str
    actors: tuple[str, ...]  # source addresses (attacker side), first seen first
    targets: tuple[str, ...]  # destination addresses
    kinds: tuple[str, ...]  # alert kinds in order of first occurrence
    technique_ids: tuple[str, ...]
    alert_ids: tuple[str, ...]


def _actor_keys(alert: Alert) -> list[str]:
    keys = [k for k in (alert.src_ip, alert.src_mac) if k]
    if not keys:
        keys = [f"target:{k}" for k in (alert.dst_ip, alert.dst_mac) if k]
    return keys


class _Groups:
    """Union-find over alert indexes, with the last activity per group root."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.last: list[float] = []

    def add(self, last: float) -> int:
        self.parent.append(len(self.parent))
        self.last.append(last)
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        keep, drop = min(ra, rb), max(ra, rb)
        self.parent[drop] = keep
        self.last[keep] = max(self.last[keep], self.last[drop])
        return keep


def group_incidents(alerts: Iterable[Alert], gap_s: float = DEFAULT_GAP_S) -> list[Incident]:
    """Incidents of ``alerts`` in capture-time order."""
    ordered = sorted(alerts, key=lambda a: (a.ts, a.alert_id))
    groups = _Groups()
    owner: dict[str, int] = {}  # actor key -> an alert index of its latest group
    for i, alert in enumerate(ordered):
        end = alert.last_ts if alert.last_ts is not None else alert.ts
        groups.add(end)
        root = i
        for key in _actor_keys(alert):
            j = owner.get(key)
            if j is not None and alert.ts - groups.last[groups.find(j)] <= gap_s:
                root = groups.union(root, j)
            owner[key] = root
        for key in _actor_keys(alert):
            owner[key] = root
        r = groups.find(root)
        groups.last[r] = max(groups.last[r], end)
    members: dict[int, list[Alert]] = {}
    for i, alert in enumerate(ordered):
        members.setdefault(groups.find(i), []).append(alert)
    incidents = [_incident(group) for group in members.values()]
    incidents.sort(key=lambda inc: (inc.ts, inc.incident_id))
    return incidents


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _incident(alerts: list[Alert]) -> Incident:
    first = alerts[0]
    actors = _unique(v for a in alerts for v in (a.src_ip, a.src_mac))
    targets = _unique(v for a in alerts for v in (a.dst_ip, a.dst_mac))
    kinds = _unique(a.kind for a in alerts)
    severity = max((a.severity for a in alerts), key=lambda s: SEVERITY_RANK[s])
    who = actors[0] if actors else "unknown source"
    against = f" against {', '.join(targets[:3])}" + ("..." if len(targets) > 3 else "")
    title = f"{who}: {', '.join(kinds)}" + (against if targets else "")
    digest = hashlib.blake2b(first.alert_id.encode(), digest_size=8).hexdigest()
    return Incident(
        incident_id=f"inc-{digest}",
        ts=first.ts,
        last_ts=max(a.last_ts if a.last_ts is not None else a.ts for a in alerts),
        severity=severity,
        title=title,
        actors=actors,
        targets=targets,
        kinds=kinds,
        technique_ids=_unique(a.technique_id for a in alerts),
        alert_ids=tuple(a.alert_id for a in alerts),
    )
