"""The JSON lines writer: a batch of events is written exactly as its events one by one."""

from __future__ import annotations

import io
import random
from pathlib import Path

import orjson

from otsight.capture.sources import expand_inputs, read_input
from otsight.core.events import EventBatch
from otsight.export.jsonl import JsonlSink
from otsight.pipeline.assemble import build_stages, run_batches, run_files
from otsight.testing.synth import generate


class Keep:
    """Keeps the batches (and single events) the protocol layer hands on."""

    name = "keep"

    def __init__(self) -> None:
        self.batches: list[EventBatch] = []

    def on_event(self, event: object) -> None:
        pass

    def on_events(self, batch: EventBatch) -> None:
        self.batches.append(batch)

    def on_batch(self, view: object) -> None:
        pass

    def on_flows(self, flows: object) -> None:
        pass

    def finish(self) -> None:
        pass


def test_a_batch_writes_the_lines_of_its_events(tmp_path: Path) -> None:
    capture = tmp_path / "plant.pcap"
    generate(capture, 30_000, seed=2)
    keep = Keep()
    (item,), _ = expand_inputs([str(capture)])
    run_batches("plant", read_input(item, batch_frames=500), build_stages([keep]))
    assert sum(len(b) for b in keep.batches) > 5000
    for batch in random.Random(1).sample(keep.batches, min(20, len(keep.batches))):
        whole, single = io.BytesIO(), io.BytesIO()
        JsonlSink("-", stream=whole).on_events(batch)
        one_by_one = JsonlSink("-", stream=single)
        for event in batch.events():
            one_by_one(event)
        assert whole.getvalue() == single.getvalue()
        lines = whole.getvalue().splitlines()
        assert len(lines) == len(batch)
        assert [orjson.loads(x) for x in lines[:3]] == [
            orjson.loads(orjson.dumps(e.ecs())) for e in batch.events()[:3]]


def test_the_cli_writes_the_same_events_with_or_without_observers_of_batches(
    tmp_path: Path,
) -> None:
    """Counting (--dissect) and writing (--events) see the same number of events."""
    capture = tmp_path / "plant.pcap"
    generate(capture, 8_000, seed=4)
    out = io.BytesIO()
    sink = JsonlSink("-", stream=out)
    stages = build_stages([sink])
    run_files([str(capture)], stages)
    counted = build_stages([])
    run_files([str(capture)], counted)
    assert stages.dissected() == counted.dissected()
    assert len(out.getvalue().splitlines()) == sum(d["events"] for d in stages.dissected().values())
