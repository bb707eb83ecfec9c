"""Baselines: what was learned as normal (read by all; deleted only by an admin)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path

from ...store import audit, queries
from ...store.errors import NotFound
from ...store.models import BaselineRow
from ..auth import Admin, Viewer
from ..deps import DbSession
from ..errors import NOT_FOUND, RESPONSES
from ..schemas import NO_NUL, BaselineDetail, BaselineSummary

router = APIRouter(tags=["baselines"], responses=RESPONSES)

BaselineName = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_NUL)]


def _summary_fields(row: BaselineRow) -> dict[str, object]:
    return {
        "name": row.name,
        "kind": row.kind,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "has_state": row.state is not None,
        "blob_bytes": len(row.blob) if row.blob is not None else 0,
    }


def _get(session: DbSession, name: str) -> BaselineRow:
    row = session.get(BaselineRow, name)
    if row is None:
        raise NotFound(f"baseline {name!r} not found")
    return row


@router.get("/baselines", response_model=list[BaselineSummary])
def list_baselines(session: DbSession, _user: Viewer) -> list[BaselineSummary]:
    """Every baseline, by name (state not included: ask for one baseline to get it)."""
    return [
        BaselineSummary.model_validate(_summary_fields(r)) for r in queries.list_baselines(session)
    ]


@router.get("/baselines/{name}", response_model=BaselineDetail, responses=NOT_FOUND)
def get_baseline(session: DbSession, _user: Viewer, name: BaselineName) -> BaselineDetail:
    """One baseline with its JSON state; a binary state is described by size and sha256."""
    row = _get(session, name)
    digest = hashlib.sha256(row.blob).hexdigest() if row.blob is not None else None
    return BaselineDetail.model_validate(
        {**_summary_fields(row), "state": row.state, "blob_sha256": digest}
    )


@router.delete("/baselines/{name}", status_code=204, responses=NOT_FOUND)
def delete_baseline(session: DbSession, user: Admin, name: BaselineName) -> None:
    """Forget a baseline (detectors learn a new one); admin only, audited."""
    row = _get(session, name)
    before = _summary_fields(row)
    session.delete(row)
    audit.record(session, user.name, "baseline.delete", "baseline", name, before=before)
    session.commit()
