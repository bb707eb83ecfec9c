"""The UI's pages, one module per screen."""

from __future__ import annotations

from . import alerts, assets, auth, dashboard, netmap, timeline

__all__ = ["alerts", "assets", "auth", "dashboard", "netmap", "timeline"]
