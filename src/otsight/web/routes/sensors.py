"""Sensors: whether each live sensor is running and keeping up (read by all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ...store import queries
from ...store.errors import NotFound
from ..auth import Viewer
from ..deps import DbSession
from ..errors import NOT_FOUND, RESPONSES
from ..schemas import NO_NUL, SensorDetail, SensorSummary

router = APIRouter(tags=["sensors"], responses=RESPONSES)

SensorName = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_NUL)]


@router.get("/sensors", response_model=list[SensorSummary])
def list_sensors(session: DbSession, _user: Viewer) -> list[SensorSummary]:
    """Every sensor's latest status, by name (settings and all counters: ask for one sensor)."""
    return [SensorSummary.model_validate(r) for r in queries.list_sensors(session)]


@router.get("/sensors/{name}", response_model=SensorDetail, responses=NOT_FOUND)
def get_sensor(session: DbSession, _user: Viewer, name: SensorName) -> SensorDetail:
    """One sensor's latest status, with how it was started and every counter it reports."""
    row = queries.get_sensor(session, name)
    if row is None:
        raise NotFound(f"sensor {name!r} not found")
    return SensorDetail.model_validate(row)
