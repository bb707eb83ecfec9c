"""API routes, one module per resource, gathered under ``/api``."""

from __future__ import annotations

from fastapi import APIRouter

from . import alerts, assets, baselines, conversations, events, incidents, meta, sensors, stats

RESOURCES = (meta, assets, conversations, events, alerts, incidents, baselines, sensors, stats)


def api_router() -> APIRouter:
    router = APIRouter()
    for module in RESOURCES:
        router.include_router(module.router)
    return router
