"""Watching learned polling loops: a master that falls silent, or polls much faster.

A series is watched when learning found it regular (enough intervals, MAD at most a fraction of
the median). Silence is decided in packet time: no request for longer than
``max(stop_factor x median, 1.5 x the longest learned interval, stop_min_s)`` while later
packets keep arriving. "Faster" is the mean of the last ``window`` intervals below
``median / fast_factor`` (a mean: one long gap makes it less eager, never more); it re-arms
when the rhythm is back within ``sqrt(fast_factor)``.
Each episode is reported once. A loop not yet seen in a run gets ``start_grace_s`` before its
silence counts (a capture that begins while the plant boots).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .model import Series


@dataclass(frozen=True, slots=True)
class Rhythm:
    """Watch settings (from the detector options)."""

    stop_factor: float
    stop_min_s: float
    fast_factor: float
    window: int
    start_grace_s: float = 0.0


def silence_limit(series: Series, rhythm: Rhythm) -> float:
    median = series.median or 0.0
    return max(rhythm.stop_factor * median, 1.5 * series.max_interval, rhythm.stop_min_s)


class Monitor:
    """Runtime state of one watched series (not saved: a new run starts it afresh)."""

    __slots__ = (
        "fast", "last_frame", "last_ts", "limit", "median", "normal_limit", "recent", "silent"
    )

    def __init__(
        self, series: Series, rhythm: Rhythm, last_ts: float, last_frame: int, seen: bool = True
    ) -> None:
        """``seen``: the loop ran in this run already; if not (a capture that starts while
        the plant boots), its first silence limit is at least ``start_grace_s``."""
        self.median = series.median or 0.0
        self.limit = self.normal_limit = silence_limit(series, rhythm)
        if not seen:
            self.limit = max(self.limit, rhythm.start_grace_s)
        self.last_ts = last_ts
        self.last_frame = last_frame
        self.recent: deque[float] = deque(maxlen=rhythm.window + 1)
        self.silent = False
        self.fast = False

    def seen(self, ts: float, frame: int, rhythm: Rhythm) -> float | None:
        """A request at ``ts``; the recent mean interval when it just became "faster"."""
        if ts < self.last_ts:
            return None
        self.last_ts, self.last_frame = ts, frame
        self.silent = False
        self.limit = self.normal_limit
        recent = self.recent
        recent.append(ts)  # the last window + 1 request times: O(1) per request
        if len(recent) < (recent.maxlen or 0):
            return None
        current = (ts - recent[0]) / (len(recent) - 1)
        if not self.fast and current < self.median / rhythm.fast_factor:
            self.fast = True
            return current
        if self.fast and current >= self.median / math.sqrt(rhythm.fast_factor):
            self.fast = False
        return None

    def fell_silent(self, now: float) -> bool:
        """True once per silence longer than the limit."""
        if self.silent or now - self.last_ts <= self.limit:
            return False
        self.silent = True
        return True
