"""Which detectors exist: an explicit list of built-ins, plus plugins from the entry point group
``otsight.detectors``. Nothing is discovered by scanning modules; a plugin that fails to load
is logged and skipped, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from .base import Detector

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "otsight.detectors"


def builtin_detectors() -> list[type[Detector[Any]]]:
    """The rule detectors shipped with otsight (imported here, not at package import)."""
    from .rules.arp import ArpSpoofDetector
    from .rules.credentials import BruteForceDetector, CleartextCredentialDetector
    from .rules.flood import FloodDetector
    from .rules.ot_commands import OtCommandDetector, UnknownMasterDetector
    from .rules.scan import ScanDetector

    return [
        OtCommandDetector,
        UnknownMasterDetector,
        ScanDetector,
        ArpSpoofDetector,
        FloodDetector,
        CleartextCredentialDetector,
        BruteForceDetector,
    ]


def optional_detectors() -> list[type[Detector[Any]]]:
    """Shipped but off unless named in the config: models that need a clean learning period
    the operator vouches for, or cost more than the default throughput budget allows."""
    from .anomaly.plugins import PacketAnomalyPlugin, ProcessValuePlugin
    from .baseline.detector import BaselineDetector

    return [PacketAnomalyPlugin, ProcessValuePlugin, BaselineDetector]


def plugin_detectors() -> list[type[Detector[Any]]]:
    found: list[type[Detector[Any]]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception:
            log.exception("detector plugin %s failed to load", ep.name)
            continue
        if isinstance(cls, type) and issubclass(cls, Detector) and cls.name:
            found.append(cls)
        else:
            log.error("detector plugin %s is not a named Detector subclass", ep.name)
    return found


def available_detectors(plugins: bool = True) -> dict[str, type[Detector[Any]]]:
    """Detector classes by name; a plugin cannot shadow a built-in."""
    found: dict[str, type[Detector[Any]]] = {}
    for cls in builtin_detectors() + optional_detectors() + (
        plugin_detectors() if plugins else []
    ):
        if cls.name in found:
            log.error("detector %s defined twice; keeping %s", cls.name, found[cls.name])
            continue
        found[cls.name] = cls
    return found


def create_detectors(
    config: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    only: Iterable[str] | None = None,
    disable: Iterable[str] = (),
    plugins: bool = True,
) -> list[Detector[Any]]:
    """Instantiate detectors with their options from ``config`` (name -> options).

    Raises ValueError for an unknown name in ``config``/``only``/``disable`` or invalid options
    (pydantic's message names the field), so a typo never silently disables a rule.
    """
    classes = available_detectors(plugins)
    config = dict(config or {})
    optional = {cls.name for cls in optional_detectors()}
    wanted = (
        list(only)
        if only is not None
        else [n for n in classes if n not in optional or n in config]
    )
    dropped = set(disable)
    unknown = sorted((set(config) | set(wanted) | dropped) - set(classes))
    if unknown:
        raise ValueError(
            f"unknown detector(s): {', '.join(unknown)}; known: {', '.join(sorted(classes))}"
        )
    detectors: list[Detector[Any]] = []
    for name in wanted:
        if name in dropped:
            continue
        try:
            detectors.append(classes[name].from_config(config.get(name)))
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            raise ValueError(f"detector {name}: {exc}") from None
    return detectors
