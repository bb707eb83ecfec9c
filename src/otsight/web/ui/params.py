"""Query strings read for the pages: every value checked, a bad one answered 400 in words.

The pages read their parameters here rather than through FastAPI's typed ones so that a bad
filter gets an HTML page saying what was wrong, not the API's JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PAGE_SIZES = (25, 50, 100, 200)


class UiError(Exception):
    """A page cannot be shown: ``status`` and a sentence for the person who asked."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def number_text(x: float | None) -> str | None:
    """A number for a query string, exact to the microsecond (capture times are epochs)."""
    return None if x is None else f"{x:.6f}".rstrip("0").rstrip(".")


def _shown(value: str) -> str:
    return repr(value[:60] + ("…" if len(value) > 60 else ""))


class Params:
    """The query string of one request, read with checks."""

    def __init__(self, query: QueryParams) -> None:
        self.query = query

    def _raw(self, name: str) -> str | None:
        values = self.query.getlist(name)
        if len(values) > 1:
            raise UiError(400, f"{name}: give it once, not {len(values)} times")
        return values[0] if values else None

    def text(self, name: str, *, max_len: int = 200) -> str | None:
        """Free text (trimmed; empty means not given)."""
        raw = self._raw(name)
        if raw is None:
            return None
        value = raw.strip()
        if len(value) > max_len:
            raise UiError(400, f"{name}: at most {max_len} characters")
        if CONTROL.search(value):
            raise UiError(400, f"{name}: control characters are not allowed")
        return value or None

    def integer(self, name: str, lo: int, hi: int, default: int) -> int:
        value = self.optional_integer(name, lo, hi)
        return default if value is None else value

    def optional_integer(self, name: str, lo: int, hi: int) -> int | None:
        raw = self._raw(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw, 10)
        except ValueError:
            raise UiError(400, f"{name}: {_shown(raw)} is not a whole number") from None
        if not lo <= value <= hi:
            raise UiError(400, f"{name}: must be between {lo} and {hi}")
        return value

    def number(self, name: str, lo: float, hi: float) -> float | None:
        raw = self._raw(name)
        if raw is None or raw == "":
            return None
        try:
            value = float(raw)
        except ValueError:
            raise UiError(400, f"{name}: {_shown(raw)} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise UiError(400, f"{name}: must be a number between {lo:g} and {hi:g}")
        return value

    def choice(self, name: str, choices: Sequence[str], default: str | None = None) -> str | None:
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        if raw not in choices:
            raise UiError(400, f"{name}: {_shown(raw)} is not one of {', '.join(choices)}")
        return raw

    def choices(self, name: str, choices: Sequence[str]) -> list[str]:
        """A parameter that may repeat (``?severity=high&severity=critical``)."""
        values = [v for v in self.query.getlist(name) if v != ""]
        for v in values:
            if v not in choices:
                raise UiError(400, f"{name}: {_shown(v)} is not one of {', '.join(choices)}")
        return list(dict.fromkeys(values))

    def page(self, default_limit: int = 50) -> tuple[int, int]:
        """``(offset, limit)`` from ``offset`` and ``limit`` (one of the page sizes)."""
        offset = self.integer("offset", 0, 1_000_000, 0)
        limit = self.integer("limit", 1, max(PAGE_SIZES), default_limit)
        if limit not in PAGE_SIZES:
            raise UiError(400, f"limit: must be one of {', '.join(map(str, PAGE_SIZES))}")
        return offset, limit


class Here:
    """The current page's path and filters, to build links that change one of them."""

    def __init__(self, path: str, params: dict[str, str | int | float | list[str] | None]):
        self.path = path
        self.params = params

    def with_(self, **changes: str | int | float | list[str] | None) -> str:
        merged = {**self.params, **changes}
        if "offset" not in changes:
            merged.pop("offset", None)  # a new filter or sort starts at the first page
        pairs: list[tuple[str, str]] = []
        for key, value in merged.items():
            if value is None or value == "" or (isinstance(value, list) and not value):
                continue
            if isinstance(value, list):
                pairs.extend((key, str(v)) for v in value)
            else:
                pairs.append((key, str(value)))
        return f"{self.path}?{urlencode(pairs)}" if pairs else self.path

    def sort_link(self, column: str, current: str) -> str:
        """Sort by ``column``; clicking the current column again flips the direction."""
        if current.lstrip("-") == column:
            target = column if current.startswith("-") else f"-{column}"
        else:
            target = f"-{column}" if column in DESC_FIRST else column
        return self.with_(sort=target)


# Columns a person wants largest or newest first when they first click them.
DESC_FIRST = frozenset(
    {"last_seen", "first_seen", "packets", "bytes", "ts", "severity", "count", "peers"}
)
