"""Pick each attribute's value by source reliability, and keep the disagreements.

For one asset and one attribute, the winner is the most reliable source, then the most repeated
value, then the latest. A different value from another source is kept as a :class:`Conflict`
(a device whose DHCP vendor class says one thing and whose identification service says another
is worth a look). A firmware value that changes *within* one source over time is a firmware
change, reported by the change tracker, not a conflict.
"""

from __future__ import annotations

from collections import defaultdict

from .ledger import ObservationTally
from .model import Conflict, Evidence

MAX_CONFLICTS_PER_ATTRIBUTE = 4
MAX_HOSTNAMES = 8
# Attributes that are naturally multi-valued: every value is kept, none conflicts.
MULTI_VALUED = frozenset({"ip", "mac", "hostname", "ja4", "dhcp_fingerprint"})


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def choose(
    tallies: list[ObservationTally],
) -> tuple[dict[str, str], dict[str, list[str]], list[Conflict], list[Evidence]]:
    """Chosen single values, multi-valued lists, conflicts and evidence for one asset."""
    by_attr: dict[str, list[ObservationTally]] = defaultdict(list)
    for t in tallies:
        by_attr[t.attribute].append(t)
    chosen: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    conflicts: list[Conflict] = []
    evidence: list[Evidence] = []
    for attribute in sorted(by_attr):
        group = by_attr[attribute]
        if attribute in MULTI_VALUED:
            ranked = sorted(group, key=lambda t: (-t.reliability, -t.count, t.first_ts, t.value))
            seen: dict[str, str] = {}
            for t in ranked:
                seen.setdefault(_norm(t.value), t.value)
            multi[attribute] = list(seen.values())[:MAX_HOSTNAMES]
            continue
        # The most reliable (then most heard) source wins; within it the most reliable field
        # (ModelName over ProductName), then the latest value, so a firmware update replaces
        # the old version instead of being outvoted by its history.
        weight: dict[str, tuple[int, int]] = {}
        for t in group:
            r, c = weight.get(t.source, (0, 0))
            weight[t.source] = (max(r, t.reliability), c + t.count)
        source = min(weight, key=lambda s: (-weight[s][0], -weight[s][1], s))
        best = max(
            (t for t in group if t.source == source),
            key=lambda t: (t.reliability, t.last_ts, t.value),
        )
        rest = sorted(
            (t for t in group if t is not best),
            key=lambda t: (-t.reliability, -t.count, -t.last_ts, t.value),
        )
        ranked = [best, *rest]
        chosen[attribute] = best.value
        evidence.append(
            Evidence(
                attribute,
                f"{attribute} {best.value!r} from {best.source}"
                + (f" ({best.count} times)" if best.count > 1 else ""),
                best.source,
                best.first_ts,
                best.reliability / 100,
            )
        )
        others: dict[str, ObservationTally] = {}
        for t in ranked[1:]:
            if _norm(t.value) == _norm(best.value) or t.source == best.source:
                continue
            others.setdefault(_norm(t.value), t)
        for t in list(others.values())[:MAX_CONFLICTS_PER_ATTRIBUTE]:
            conflicts.append(Conflict(attribute, best.value, best.source, t.value, t.source))
    return chosen, multi, conflicts, evidence
