"""Modbus polling from the compiled batch path folds into the same activities as event by event."""

from __future__ import annotations

from pathlib import Path

from otsight.core.events import BaseEvent, EventBatch
from otsight.decode.flows import FlowColumns
from otsight.decode.view import BatchView
from otsight.inventory.facts import facts_of
from otsight.inventory.facts.modbus import fold_modbus
from otsight.inventory.ledger import Ledger
from otsight.inventory.model import Activity
from otsight.pipeline.assemble import build_stages, run_files
from otsight.protocols.modbus.batch import ModbusBatch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed" / "capture.pcap"


class Batches:
    name = "batches"

    def __init__(self) -> None:
        self.batches: list[ModbusBatch] = []

    def on_event(self, event: BaseEvent) -> None:
        """Events outside batches are not what this test compares."""

    def on_events(self, batch: EventBatch) -> None:
        assert isinstance(batch, ModbusBatch)
        self.batches.append(batch)

    def on_batch(self, view: BatchView) -> None:
        """Packets are not needed."""

    def on_flows(self, flows: FlowColumns) -> None:
        """Flows are not needed."""

    def finish(self) -> None:
        """Nothing to finish."""


def test_batch_folding_equals_per_event_facts() -> None:
    seen = Batches()
    # Small batches: a flow is handed to the batch path from the batch after it was recognised.
    assert run_files([str(EXAMPLE)], build_stages([seen]), batch_frames=256).ok
    assert sum(len(b) for b in seen.batches) > 500  # the HMI's polling took the batch path
    columnar, one_by_one = Ledger(), Ledger()
    for batch in seen.batches:
        fold_modbus(columnar, batch)
        for event in batch.events():
            for fact in facts_of(event):
                assert isinstance(fact, Activity)  # polling carries no identity
                one_by_one.act(fact)
    assert columnar.activities.keys() == one_by_one.activities.keys()
    for key, tally in one_by_one.activities.items():
        got = columnar.activities[key]
        assert (got.count, got.server_port, got.transport) == (
            tally.count,
            tally.server_port,
            tally.transport,
        ), key
        assert abs(got.first_ts - tally.first_ts) < 1e-6
        assert abs(got.last_ts - tally.last_ts) < 1e-6
