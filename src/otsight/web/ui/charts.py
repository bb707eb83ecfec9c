"""Chart geometry for server-rendered SVG: Python places the shapes, templates draw them.

Only numbers, fixed class names and our own links leave here; labels are escaped by the
template like any other text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

NICE_BUCKETS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800, 2592000,
)  # fmt: skip
MAX_BUCKETS = 48


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    css: str
    href: str | None
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    label_w: int
    bars: list[Bar]


def bar_chart(
    items: Sequence[tuple[str, int, str, str | None]], *, width: int = 600, row: int = 26
) -> BarChart:
    """Horizontal bars, one per ``(label, value, css class, link)``, longest scaled to fit."""
    label_w, value_w = 170, 56
    top = max((v for _, v, _, _ in items), default=0) or 1
    span = width - label_w - value_w
    bars = [
        Bar(label, value, css, href, label_w, i * row + 4, max(2.0, span * value / top), row - 8)
        for i, (label, value, css, href) in enumerate(items)
    ]
    return BarChart(width, max(row, row * len(items)), label_w, bars)


@dataclass(frozen=True, slots=True)
class Segment:
    css: str
    y: float
    h: float


@dataclass(frozen=True, slots=True)
class Column:
    start: float
    end: float
    total: int
    x: float
    w: float
    segments: list[Segment]
    title: str
    href: str | None


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float
    label: str


@dataclass(slots=True)
class Histogram:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    bucket_s: int
    start: float
    end: float
    columns: list[Column] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)


def bucket_width(span: float, max_buckets: int = MAX_BUCKETS) -> int:
    """The smallest tidy bucket width (seconds) that cuts ``span`` into at most that many."""
    for b in NICE_BUCKETS:
        if span / b <= max_buckets - 1:
            return b
    return math.ceil(span / (max_buckets - 1))


def _time_label(ts: float, span: float, bucket_s: int) -> str:
    t = dt.datetime.fromtimestamp(ts, dt.UTC)
    if span > 86400 * 2:
        return t.strftime("%m-%d %H:%M")
    return t.strftime("%H:%M" if bucket_s >= 60 else "%H:%M:%S")


def _nice_max(n: int) -> int:
    if n <= 4:
        return max(n, 1)
    mag = 10 ** int(math.log10(n))
    for step in (1, 2, 2.5, 5, 10):
        if step * mag >= n:
            return int(step * mag)
    return n  # pragma: no cover


def histogram(
    counts: dict[float, dict[str, int]],
    series: Sequence[tuple[str, str]],
    *,
    start: float,
    end: float,
    bucket_s: int,
    link: Callable[[float, float], str | None],
    describe: Callable[[float, float, dict[str, int]], str],
    width: int = 1300,
    height: int = 200,
) -> Histogram:
    """Stacked columns over time from ``{bucket start: {series key: count}}``.

    ``series`` is ``(key, css class)`` bottom to top; ``start``/``end`` are bucket-aligned.
    """
    left, top, bottom, right = 40, 8, 26, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, round((end - start) / bucket_s) + 1)
    col_w = plot_w / n
    peak = _nice_max(max((sum(c.values()) for c in counts.values()), default=0))
    h = Histogram(width, height, left, top, plot_w, plot_h, bucket_s, start, end)
    for i in range(n):
        b0 = start + i * bucket_s
        by = counts.get(b0, {})
        total = sum(by.values())
        y = float(top + plot_h)
        segments = []
        for key, css in series:
            v = by.get(key, 0)
            if v:
                sh = plot_h * v / peak
                y -= sh
                segments.append(Segment(css, y, sh))
        x = left + i * col_w + min(1.0, col_w * 0.1)
        w = max(1.0, col_w - 2 * min(1.0, col_w * 0.1))
        title = describe(b0, b0 + bucket_s, by)
        href = link(b0, b0 + bucket_s) if total else None
        h.columns.append(Column(b0, b0 + bucket_s, total, x, w, segments, title, href))
    span = end + bucket_s - start
    step = max(1, math.ceil(n / 6))
    for i in range(0, n, step):
        ts = start + i * bucket_s
        h.x_ticks.append(Tick(left + i * col_w, _time_label(ts, span, bucket_s)))
    for value in sorted({0, peak // 2 if peak % 2 == 0 else 0, peak}):
        h.y_ticks.append(Tick(top + plot_h * (1 - value / peak), str(value)))
    return h
