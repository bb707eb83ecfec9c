"""The store sink's events of note: the same rows whether the sink computes each event's facts
itself or takes the inventory's verdict (facts computed once), on the event path and on the
Modbus batch path, and whichever observer comes first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from otsight.core.events import BaseEvent, EventBatch
from otsight.core.plugins import Observer
from otsight.inventory.builder import InventoryBuilder
from otsight.inventory.facts import facts_of
from otsight.inventory.model import Fact
from otsight.pipeline.assemble import build_stages, run_files
from otsight.protocols.modbus.events import ModbusRequest
from otsight.store.batch import BatchWriter
from otsight.store.db import make_engine, session_factory
from otsight.store.migrate import ensure_schema
from otsight.store.sink import StoreSink

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed" / "capture.pcap"
SMALL_BATCHES = 128  # Modbus polling flows take the compiled (batch) path from their 2nd batch
ONE_BATCH = 1 << 16  # nothing reaches the batch path


class Spy:
    """Counts the sink's own fact computations and the batches the inventory judged for it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sink_facts = 0
        self.batch_notes = 0
        noted_in = InventoryBuilder.noted_in

        def counted_facts(event: BaseEvent) -> Sequence[Fact]:
            self.sink_facts += 1
            return facts_of(event)

        def counted_noted_in(
            builder: InventoryBuilder, batch: EventBatch
        ) -> Sequence[BaseEvent] | None:
            notes = noted_in(builder, batch)
            self.batch_notes += len(notes) if notes else 0
            return notes

        monkeypatch.setattr("otsight.store.sink.facts_of", counted_facts)
        monkeypatch.setattr(InventoryBuilder, "noted_in", counted_noted_in)


def _stored_notes(tmp_path: Path, wiring: str, batch_frames: int) -> list[tuple[Any, ...]]:
    """Run the example through an inventory and a store sink wired as ``wiring`` says (alone:
    no inventory; inventory-first, as --db and the sensor wire them; sink-first) and read back
    the events of note stored, in the order they were written."""
    db = tmp_path / f"{wiring}.db"
    engine = make_engine(db)
    ensure_schema(engine)
    writer = BatchWriter(session_factory(engine))
    inventory = InventoryBuilder()
    observers: list[Observer]
    if wiring == "alone":
        sink = StoreSink(writer, "lab")
        observers = [sink]
    else:
        sink = StoreSink(writer, "lab", inventory=inventory)
        observers = [inventory, sink] if wiring == "inventory-first" else [sink, inventory]
    result = run_files([str(EXAMPLE)], build_stages(observers), batch_frames=batch_frames)
    assert result.ok
    assert result.summary.observer_errors == {}
    writer.close()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, key, source, ts, protocol, action, src, dst, src_port, dst_port, "
                "flow_id, frame, doc FROM events ORDER BY id"
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("batch_frames", [ONE_BATCH, SMALL_BATCHES])
def test_events_of_note_are_the_same_with_the_inventory_s_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_frames: int
) -> None:
    spy = Spy(monkeypatch)
    alone = _stored_notes(tmp_path, "alone", batch_frames)
    assert spy.sink_facts > 1000  # without an inventory, the sink judges every event itself
    assert len(alone) > 10

    spy.sink_facts = spy.batch_notes = 0
    assert _stored_notes(tmp_path, "inventory-first", batch_frames) == alone
    assert spy.sink_facts == 0  # each event's facts were computed once, by the inventory
    if batch_frames == SMALL_BATCHES:
        assert spy.batch_notes > 0  # Modbus writes of the batch path, found while folding it

    spy.sink_facts = 0
    # The sink before the inventory has no verdict yet for an event: it judges it itself.
    assert _stored_notes(tmp_path, "sink-first", batch_frames) == alone
    assert spy.sink_facts > 1000


def _request(function_code: int, function: str, frame: int) -> ModbusRequest:
    return ModbusRequest(
        ts=1_700_000_000.0 + frame,
        frame=frame,
        flow_id=1,
        src_ip="10.0.1.100",
        src_port=50000,
        dst_ip="10.0.0.1",
        dst_port=502,
        transport="tcp",
        transaction_id=frame,
        unit_id=1,
        function_code=function_code,
        function=function,
        address=0,
        quantity=1,
    )


def test_the_builder_judges_when_asked_and_only_the_event_it_folded_last() -> None:
    builder = InventoryBuilder()
    write = _request(6, "write-single-register", 1)
    read = _request(3, "read-holding-registers", 2)
    builder.on_event(write)
    assert builder.noted(write) is None  # nobody asked
    builder.keep_notes(frozenset({"write", "program"}))
    assert builder.noted(write) is None  # folded before anyone asked
    builder.on_event(write)
    assert builder.noted(write) is True
    assert builder.noted(read) is None  # not the event folded last
    builder.on_event(read)
    assert builder.noted(read) is False
    assert builder.noted(write) is None
