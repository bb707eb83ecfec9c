"""The web side of otsight: the REST API (and, next, the web UI)."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
