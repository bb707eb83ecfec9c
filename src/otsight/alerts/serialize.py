"""Alerts and incidents as JSON-ready dicts (the `--alerts-out` JSON lines) and back."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

from .incidents import Incident
from .model import Alert, AlertEvidence


def _stamp(ts: float) -> str:
    when = _dt.datetime.fromtimestamp(ts, tz=_dt.UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """Every field of the alert plus ``@timestamp`` (ISO 8601 of ``ts``, UTC)."""
    doc: dict[str, Any] = {"@timestamp": _stamp(alert.ts)}
    doc.update(dataclasses.asdict(alert))
    return doc


def alert_from_dict(doc: dict[str, Any]) -> Alert:
    """The inverse of :func:`alert_to_dict` (unknown keys are ignored)."""
    names = {f.name for f in dataclasses.fields(Alert)}
    values = {k: v for k, v in doc.items() if k in names}
    values["evidence"] = tuple(AlertEvidence(**e) for e in doc.get("evidence", ()))
    return Alert(**values)


def incident_to_dict(incident: Incident) -> dict[str, Any]:
    doc: dict[str, Any] = {"@timestamp": _stamp(incident.ts)}
    doc.update(dataclasses.asdict(incident))
    return doc
