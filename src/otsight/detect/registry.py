"""Which detectors exist: an explicit list of built-ins, plus plugins from the entry point group
``otsight.detectors``. Nothing is discovered by scanning modules; a plugin that fails to load
is logged and skipped, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from importlib import import_module
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


# Shipped but off unless named in the config: models that need a clean learning period the
# operator vouches for, or cost more than the default throughput budget allows. Imported only
# when asked for (the ML models and the baseline pull in a good deal of code).
OPTIONAL: dict[str, tuple[str, str]] = {
    "packet-anomaly": ("otsight.detect.anomaly.plugins", "PacketAnomalyPlugin"),
    "process-values": ("otsight.detect.anomaly.plugins", "ProcessValuePlugin"),
    "baseline": ("otsight.detect.baseline.detector", "BaselineDetector"),
}


def optional_detector(name: str) -> type[Detector[Any]]:
    module, attr = OPTIONAL[name]
    cls: type[Detector[Any]] = getattr(import_module(module), attr)
    return cls


def optional_detectors() -> list[type[Detector[Any]]]:
    return [optional_detector(name) for name in OPTIONAL]


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
    return _classes(builtin_detectors() + optional_detectors(), plugins)


def _classes(
    classes: list[type[Detector[Any]]], plugins: bool
) -> dict[str, type[Detector[Any]]]:
    found: dict[str, type[Detector[Any]]] = {}
    for cls in classes + (plugin_detectors() if plugins else []):
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
    config = dict(config or {})
    asked = set(config) | set(only or ())
    optional = [optional_detector(name) for name in OPTIONAL if name in asked]
    classes = _classes(builtin_detectors() + optional, plugins)
    wanted = (
        list(only)
        if only is not None
        else [n for n in classes if n not in OPTIONAL or n in config]
    )
    dropped = set(disable)
    unknown = sorted((set(config) | set(wanted) | dropped) - set(classes) - set(OPTIONAL))
    if unknown:
        known = sorted(set(classes) | set(OPTIONAL))
        raise ValueError(f"unknown detector(s): {', '.join(unknown)}; known: {', '.join(known)}")
    detectors: list[Detector[Any]] = []
    for name in wanted:
        if name in dropped:
            continue
        try:
            detectors.append(classes[name].from_config(config.get(name)))
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            raise ValueError(f"detector {name}: {exc}") from None
    return detectors
