"""Query parameters every list shares: paging and sorting, checked against the sortable columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Query

from ...store.queries import Page

Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Rows to skip")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page")]
Since = Annotated[float | None, Query(ge=0, le=1e11, description="From (epoch seconds)")]
Until = Annotated[float | None, Query(ge=0, le=1e11, description="Before (epoch seconds)")]


def sort_choices(columns: Iterable[str]) -> list[str]:
    """Each column, and each with ``-`` in front for descending."""
    return sorted(c for name in columns for c in (name, f"-{name}"))


def sort_query(default: str) -> Any:
    return Query(description=f"Sort column, '-' in front for descending (default {default})")


def page(offset: int, limit: int, sort: str) -> Page:
    return Page(offset=offset, limit=limit, sort=sort)
