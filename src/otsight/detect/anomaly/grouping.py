"""Bursts: anomalous packets or values close in packet time become one alert with a span.

A burst opens with its first anomaly and the alert is emitted at once (no waiting for the
burst to end). When the burst closes (a gap longer than ``gap_s`` of packet time, or the end of
input) an update with the *same* ``alert_id`` carries the final span, count and evidence; a
store that de-duplicates on ``alert_id`` keeps the last version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...alerts.model import Alert, AlertEvidence


@dataclass
class Burst:
    key: Hashable
    first_ts: float
    last_ts: float
    first_frame: int
    count: int
    max_score: float
    evidence: list[AlertEvidence]
    context: dict[str, Any]  # what the renderer needs, from the first anomaly
    peak: dict[str, Any] = field(default_factory=dict)  # details of the highest-scoring one
    emitted: int = 0  # count at the last emission


def alert_id(detector: str, kind: str, key: Hashable, first_frame: int, first_ts: float) -> str:
    """Deterministic id: replaying a capture gives the same ids."""
    raw = f"{detector}|{kind}|{key!r}|{first_frame}|{first_ts:.9f}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


class BurstGrouper:
    def __init__(
        self, gap_s: float, render: Callable[[Burst], Alert], max_evidence: int = 8
    ) -> None:
        if gap_s < 0.0 or max_evidence < 1:
            raise ValueError("need gap_s >= 0 and max_evidence >= 1")
        self.gap_s = gap_s
        self.render = render
        self.max_evidence = max_evidence
        self.open: dict[Hashable, Burst] = {}

    def add(
        self,
        key: Hashable,
        first_ts: float,
        last_ts: float,
        count: int,
        first_frame: int,
        score: float,
        evidence: Sequence[AlertEvidence],
        context: dict[str, Any],
        peak: dict[str, Any] | None = None,
    ) -> list[Alert]:
        """A run of ``count`` anomalies of ``key`` (in time order, runs of a key in order)."""
        out: list[Alert] = []
        burst = self.open.get(key)
        if burst is not None and first_ts - burst.last_ts > self.gap_s:
            out += self._close(key)
            burst = None
        if burst is None:
            burst = Burst(key, first_ts, last_ts, first_frame, count, score,
                          list(evidence[: self.max_evidence]), context, peak or {})
            self.open[key] = burst
            burst.emitted = burst.count
            out.append(self.render(burst))
            return out
        burst.last_ts = max(burst.last_ts, last_ts)
        burst.count += count
        room = self.max_evidence - len(burst.evidence)
        if room > 0:
            burst.evidence += evidence[:room]
        if score > burst.max_score:
            burst.max_score = score
            if peak:
                burst.peak = peak
        return out

    def expire(self, now: float) -> list[Alert]:
        """Close bursts quiet for more than ``gap_s`` before ``now`` (packet time)."""
        out: list[Alert] = []
        for key in [k for k, b in self.open.items() if now - b.last_ts > self.gap_s]:
            out += self._close(key)
        return out

    def close_all(self) -> list[Alert]:
        out: list[Alert] = []
        for key in list(self.open):
            out += self._close(key)
        return out

    def _close(self, key: Hashable) -> list[Alert]:
        burst = self.open.pop(key)
        return [self.render(burst)] if burst.count > burst.emitted else []
