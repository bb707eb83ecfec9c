"""Process-value models for many series at once, compiled.

Each series (one register of one device) owns a row of ``state``. Observations arrive as
(row, time, value) in order; for each one the kernel first scores it against what the row has
learned, then either learns from it (``LEARN``) or only moves the row's context forward
(``SCORE``: last value and forecast level), so learned ranges and rates are never widened by
data under test. Three scores per observation, each a ratio (1 = at the edge of the learned
behaviour):

- range: distance outside the learned [min, max], in spans of that range;
- rate: ``|dv| / max(dt, dt_floor)`` over the largest rate learned;
- forecast: Holt (level + trend, per observation) residual over the mean absolute residual
  learned; errors are clipped at ``CLIP`` mean residuals when updating the level (robust).

Spans and scales have a floor (``floor``, or 1 % of the value's magnitude) so a register that
never moved while learning scores its first change by its size, not by infinity. A row that
has learned fewer than ``min_learn`` observations scores 0 (not enough evidence).
"""

from __future__ import annotations

from typing import Any

from ...core.jit import kernel

LEARN = 0
SCORE = 1
CLIP = 4.0  # forecast errors beyond this many mean residuals move the level no further

# state columns
N = 0
VMIN = 1
VMAX = 2
LAST_T = 3
LAST_V = 4
HAS_LAST = 5
MAX_RATE = 6
LEVEL = 7
TREND = 8
HAS_LEVEL = 9
N_RES = 10
SUM_ABS_RES = 11
MAX_ABS_RES = 12
COLUMNS = 13


@kernel
def process_values(
    rows: Any,
    t: Any,
    v: Any,
    mode: Any,
    state: Any,
    alpha: float,
    beta: float,
    dt_floor: float,
    floor: float,
    min_learn: float,
    scores: Any,
    prev: Any,
) -> None:
    """Score (and learn or observe) observations in order; ``scores[i]`` = range, rate,
    forecast; ``prev[i]`` = the row's previous value (NaN if none)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        s = state[r]
        x = v[i]
        ti = t[i]
        learned = s[N] >= min_learn
        scale = max(floor, 0.01 * max(abs(s[VMIN]), abs(s[VMAX]))) if s[N] > 0 else floor
        rng = 0.0
        rate_score = 0.0
        fc = 0.0
        prev[i] = s[LAST_V] if s[HAS_LAST] > 0 else float("nan")
        if learned:
            span = max(s[VMAX] - s[VMIN], scale)
            if x > s[VMAX]:
                rng = (x - s[VMAX]) / span
            elif x < s[VMIN]:
                rng = (s[VMIN] - x) / span
        rate = 0.0
        if s[HAS_LAST] > 0:
            rate = abs(x - s[LAST_V]) / max(ti - s[LAST_T], dt_floor)
            if learned:
                rate_score = rate / max(s[MAX_RATE], scale)
        res = 0.0
        if s[HAS_LEVEL] > 0:
            res = abs(x - (s[LEVEL] + s[TREND]))
            if learned and s[N_RES] > 0:
                fc = res / max(s[SUM_ABS_RES] / s[N_RES], scale)
        scores[i, 0] = rng
        scores[i, 1] = rate_score
        scores[i, 2] = fc
        if mode[i] == LEARN:
            if s[N] == 0:
                s[VMIN] = x
                s[VMAX] = x
            else:
                s[VMIN] = min(s[VMIN], x)
                s[VMAX] = max(s[VMAX], x)
            s[N] += 1.0
            if s[HAS_LAST] > 0:
                s[MAX_RATE] = max(s[MAX_RATE], rate)
            if s[HAS_LEVEL] > 0:
                s[N_RES] += 1.0
                s[SUM_ABS_RES] += res
                s[MAX_ABS_RES] = max(s[MAX_ABS_RES], res)
        # context moves forward in both modes (Holt in error-correction form; once a series
        # has learned its residual scale, the error is clipped so one outlier cannot drag
        # the forecast away for many observations)
        if s[HAS_LEVEL] > 0:
            e = x - (s[LEVEL] + s[TREND])
            if learned and s[N_RES] > 0:
                bound = CLIP * max(s[SUM_ABS_RES] / s[N_RES], scale)
                e = min(max(e, -bound), bound)
            s[LEVEL] = s[LEVEL] + s[TREND] + alpha * e
            s[TREND] = s[TREND] + alpha * beta * e
        else:
            s[LEVEL] = x
            s[TREND] = 0.0
            s[HAS_LEVEL] = 1.0
        if s[HAS_LAST] == 0 or ti >= s[LAST_T]:
            s[LAST_T] = ti
        s[LAST_V] = x
        s[HAS_LAST] = 1.0
