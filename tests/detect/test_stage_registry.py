"""The detector contract: registry, typed options, routing and per-detector containment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field

from otsight.alerts.model import Alert
from otsight.core.events import BaseEvent
from otsight.decode.view import BatchView
from otsight.detect.base import Detector, DetectorOptions
from otsight.detect.registry import (
    OPTIONAL,
    available_detectors,
    builtin_detectors,
    create_detectors,
    optional_detectors,
    plugin_detectors,
)
from otsight.detect.rules.ot_commands import OtCommandDetector, UnknownMasterDetector
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files
from otsight.protocols.modbus.events import ModbusRequest

from .builders import ATK, HMI, PLC, Capture, detect, modbus, modbus_diagnostics, modbus_poll


class _Broken(Detector[DetectorOptions]):
    name: ClassVar[str] = "broken"
    event_types = (ModbusRequest,)
    wants_batches = True

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        raise RuntimeError("bug in a rule")

    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        raise KeyError("bug in a batch rule")


class _CountOptions(DetectorOptions):
    limit: int = Field(default=3, ge=1)


class _Counter(Detector[_CountOptions]):
    """Sees only the event classes it asked for."""

    name: ClassVar[str] = "counter"
    Options = _CountOptions
    event_types = (ModbusRequest,)

    def __init__(self, options: _CountOptions | None = None) -> None:
        super().__init__(options)
        self.seen: list[str] = []

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        self.seen.append(type(event).__name__)
        return ()


def _listen_only_capture(tmp_path: Path) -> Path:
    cap = Capture()
    for i in range(3):
        modbus_poll(cap, i, HMI, PLC, i + 1, 40001)
    cap.exchange(5, ATK, PLC, 40002, 502, modbus(9, modbus_diagnostics(4)))
    return cap.write(tmp_path / "listen-only.pcap")


def test_builtins_have_unique_slugs_descriptions_and_default_options() -> None:
    classes = builtin_detectors()
    names = [c.name for c in classes]
    assert len(names) == len(set(names))
    assert all(n == n.lower() and " " not in n for n in names)
    assert all(c.description for c in classes)
    assert [type(d).name for d in create_detectors(plugins=False)] == names
    assert plugin_detectors() == []
    # The anomaly models are known but off unless configured.
    optional = {c.name for c in optional_detectors()}
    assert optional == {"packet-anomaly", "process-values", "baseline"}
    assert [c.name for c in optional_detectors()] == list(OPTIONAL)  # keys name their class
    assert set(available_detectors()) == set(names) | optional
    (model,) = create_detectors({"process-values": {}}, only=["process-values"])
    assert type(model).name == "process-values"


def test_the_default_detectors_do_not_import_the_optional_models() -> None:
    code = (
        "import sys; from otsight.detect.registry import create_detectors; create_detectors(); "
        "print(sorted(m for m in sys.modules if m.startswith(('otsight.detect.anomaly', "
        "'otsight.detect.baseline'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_options_are_validated_and_unknown_names_refused() -> None:
    (um,) = create_detectors({"unknown-master": {"warmup_s": 30}}, only=["unknown-master"])
    assert isinstance(um, UnknownMasterDetector)
    assert um.options.warmup_s == 30
    with pytest.raises(ValueError, match="warmup_s"):
        create_detectors({"unknown-master": {"warmup_s": -1}})
    with pytest.raises(ValueError, match="warm_up"):
        create_detectors({"unknown-master": {"warm_up": 3}})
    with pytest.raises(ValueError, match=r"unknown detector.*port-scan"):
        create_detectors(only=["port-scan"])
    names = [d.name for d in create_detectors(disable=["flood", "arp"])]
    assert "flood" not in names
    assert "arp" not in names
    assert "scan" in names


def test_a_broken_detector_is_contained_counted_and_reported(tmp_path: Path) -> None:
    path = _listen_only_capture(tmp_path)
    stage = DetectionStage([_Broken(), OtCommandDetector()])
    result = run_files([str(path)], build_stages([stage]))
    assert not result.errors
    assert result.summary.observer_errors == {}
    assert [a.kind for a in stage.alerts] == ["modbus-listen-only"]
    assert stage.errors["broken"] == 4 + 1  # four Modbus requests, one batch
    assert len(stage.failures["broken"]) == 3
    assert "RuntimeError: bug in a rule" in stage.failures["broken"][0]
    assert "ModbusRequest" in stage.failures["broken"][0]  # the offending input, for a report


def test_events_are_routed_by_class(tmp_path: Path) -> None:
    counter = _Counter()
    detect([_listen_only_capture(tmp_path)], [counter])
    assert counter.seen == ["ModbusRequest"] * 4  # responses never reach it


def test_duplicate_detector_names_are_refused() -> None:
    with pytest.raises(ValueError, match="ot-commands"):
        DetectionStage([OtCommandDetector(), OtCommandDetector()])


def test_alerts_stream_to_a_callback_as_they_open(tmp_path: Path) -> None:
    opened: list[str] = []
    stage = DetectionStage([OtCommandDetector()], on_alert=lambda a: opened.append(a.kind))
    run_files([str(_listen_only_capture(tmp_path))], build_stages([stage]))
    assert opened == ["modbus-listen-only"]
    stage.finish()  # a second finish is harmless
    assert stage.finished
