"""Detection sees the same attacks whether Modbus polling comes event by event or as a
compiled batch (of which the default rules take only the summary), and wherever the cuts
between batches fall."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.core.events import BaseEvent, EventBatch
from otsight.decode.flows import FlowColumns
from otsight.decode.view import BatchView
from otsight.detect.registry import create_detectors
from otsight.detect.rules.ot_commands import OtCommandDetector
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files
from otsight.protocols.modbus.batch import ModbusBatch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed" / "capture.pcap"


def _alerts(batch_frames: int) -> list[tuple[str, str, float, str | None, str | None, int]]:
    # The Modbus rules: scans and floods judge by batch boundaries, whatever the Modbus path.
    stage = DetectionStage(create_detectors(only=["ot-commands", "unknown-master"]))
    assert run_files([str(EXAMPLE)], build_stages([stage]), batch_frames=batch_frames).ok
    return sorted((a.alert_id, a.kind, a.ts, a.src_ip, a.dst_ip, a.count) for a in stage.alerts)


def test_same_alerts_with_and_without_the_batch_path() -> None:
    whole = _alerts(1 << 16)  # one batch: nothing is handed to the batch path
    small = _alerts(128)  # polling flows go through the compiled path from their 2nd batch
    assert len(whole) >= 4  # unknown-master writes, diagnostics, listen-only
    assert small == whole


@pytest.mark.parametrize("example", ["lab-mixed", "lab-mitm", "lab-dos"])
def test_every_default_rule_gives_the_same_alerts_wherever_batches_are_cut(example: str) -> None:
    """Scans are judged probe by probe in packet order (a late answer is a failure, a retry
    after the grace time a new probe), so the cut between batches changes nothing."""
    capture = EXAMPLE.parents[1] / example / "capture.pcap"
    results = []
    for batch_frames in (64, 1000, 1 << 16):
        stage = DetectionStage(create_detectors())
        assert run_files([str(capture)], build_stages([stage]), batch_frames=batch_frames).ok
        results.append(sorted((a.alert_id, a.kind, a.ts, a.src_ip, a.dst_ip, a.count)
                              for a in stage.alerts))
    assert results[0]
    assert results[0] == results[1] == results[2]


def test_a_compiled_batch_no_rule_wants_is_neither_summarised_nor_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Routing is decided per kind of batch, before any work on it: a batch whose events no
    detector takes is dropped whole (no summary, no event objects)."""
    batches: list[EventBatch] = []

    class Keep:
        name = "keep"

        def on_event(self, event: BaseEvent) -> None:
            pass

        def on_events(self, batch: EventBatch) -> None:
            batches.append(batch)

        def on_batch(self, view: BatchView) -> None:
            pass

        def on_flows(self, flows: FlowColumns) -> None:
            pass

        def finish(self) -> None:
            pass

    assert run_files([str(EXAMPLE)], build_stages([Keep()]), batch_frames=128).ok
    assert batches
    summarised: list[EventBatch] = []
    summary = ModbusBatch.summary

    def spy(self: ModbusBatch) -> ModbusBatch:
        summarised.append(self)
        return summary(self)

    monkeypatch.setattr(ModbusBatch, "summary", spy)
    flood_only = DetectionStage(create_detectors(only=["flood", "scan"]))
    for batch in batches:
        flood_only.on_events(batch)
    assert summarised == []
    assert all(batch._events is None for batch in batches)
    commands = DetectionStage(create_detectors(only=["ot-commands"]))
    for batch in batches:
        commands.on_events(batch)
    # (the rule takes Modbus batches whole, and polling holds no command: nothing to build)
    assert summarised == []
    assert all(batch._events is None for batch in batches)

    class OneByOne(OtCommandDetector):
        batch_types = ()

    one_by_one = DetectionStage([OneByOne()])
    for batch in batches:
        one_by_one.on_events(batch)
    assert summarised == batches
