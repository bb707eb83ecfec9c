"""Event plumbing that every protocol relies on: construction, timestamps, batches."""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import pickle
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from otsight.core.events import BaseEvent, EventBatch, utc_stamp, utc_stamps
from otsight.protocols.modbus.events import ModbusRequest, ModbusResponse
from otsight.protocols.registry import builtin_dissectors, builtin_frame_dissectors


def _event_classes() -> list[type[BaseEvent]]:
    builtin_dissectors()
    builtin_frame_dissectors()  # imports every protocol's events

    def walk(cls: type[BaseEvent]) -> Iterator[type[BaseEvent]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return sorted(set(walk(BaseEvent)), key=lambda c: (c.__module__, c.__qualname__))


def _sample_kwargs(cls: type[BaseEvent], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    values: list[Any] = [1, 2.5, "x", None, (1, 2), ("a", 3), b"\x00", True]
    return {name: rng.choice(values) for name in cls.__struct_fields__}


def test_every_event_class_is_frozen_keyword_only_and_survives_pickling() -> None:
    """A class that forgets ``kw_only=True`` (msgspec applies it per class) would take its own
    fields positionally and put them first; every class must be built by keyword only."""
    classes = _event_classes()
    assert len(classes) > 60
    for cls in classes:
        kinds = {p.kind for p in inspect.signature(cls).parameters.values()}
        assert kinds == {inspect.Parameter.KEYWORD_ONLY}, cls
        for seed in range(3):
            kwargs = _sample_kwargs(cls, seed)
            event = cls(**kwargs)
            assert [getattr(event, name) for name in cls.__struct_fields__] == list(
                kwargs.values()
            )
            assert pickle.loads(pickle.dumps(event)) == event
            assert hash(cls(**kwargs)) == hash(event)
            assert not gc.is_tracked(event)  # gc=False: events hold no cycles
            with pytest.raises(AttributeError):
                event.ts = 0.0  # type: ignore[misc]


MODBUS: dict[str, Any] = {  # every field a Modbus message needs
    "ts": 1.5, "flow_id": 1, "src_ip": "192.0.2.1", "src_port": 40000,
    "dst_ip": "192.0.2.2", "dst_port": 502, "transport": "tcp", "transaction_id": 1,
    "unit_id": 1, "function_code": 3, "function": "read-holding-registers",
}


def test_fields_are_what_the_protocol_adds_in_declared_order() -> None:
    response = ModbusResponse(**MODBUS)
    fields = response.fields()
    assert list(fields)[:4] == ["transaction_id", "unit_id", "function_code", "function"]
    assert not {"ts", "frame", "flow_id", "src_ip", "transport"} & set(fields)
    assert ModbusResponse.__struct_fields__[:2] == ("ts", "frame")  # base fields first


def test_construction_keeps_defaults_and_refuses_bad_arguments() -> None:
    response = ModbusResponse(**MODBUS)
    assert (response.frame, response.matched, response.values) == (0, False, None)
    assert response == ModbusResponse(**MODBUS)
    assert response != ModbusRequest(**MODBUS)  # type: ignore[comparison-overlap]  # another class
    with pytest.raises(TypeError, match="Missing required"):
        ModbusRequest(ts=1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        ModbusRequest(1.0, **MODBUS)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Unexpected keyword"):
        ModbusRequest(**MODBUS, colour="red")  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        response.ts = 2.0  # type: ignore[misc]


def _reference_stamp(ts: float) -> str:
    stamp = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


def test_utc_stamps_are_the_datetime_text() -> None:
    rng = random.Random(3)
    cases = [0.0, 0.0000005, 0.0000015, 0.9999995, 1767225599.9999996, 1767225600.0,
             4294967295.999999, 253402300798.9999999, 1e-9]
    cases += [rng.randrange(0, 4_300_000_000_000_000_000) / 1e9 for _ in range(200_000)]
    cases += [rng.randrange(1_767_225_600, 1_767_325_600) + rng.randrange(2_000_001) / 2e6
              for _ in range(50_000)]
    for ts in cases:
        assert utc_stamp(ts) == _reference_stamp(ts), ts
    column = np.array([0, 500, 1500, 999_999_500, 1_767_225_599_999_999_600]
                      + [rng.randrange(0, 9_200_000_000_000_000_000) for _ in range(100_000)],
                      dtype=np.int64)
    assert utc_stamps(column) == [_reference_stamp(t) for t in (column / 1e9).tolist()]
    assert utc_stamps(np.array([-5, 7], dtype=np.int64)) == [
        _reference_stamp(-5e-9), _reference_stamp(7e-9)]
    for odd in (-1.5, 253402300800.5):  # outside the cached range: datetime decides
        try:
            expected: str | None = _reference_stamp(odd)
        except (OverflowError, ValueError, OSError):
            expected = None
        if expected is None:
            with pytest.raises((OverflowError, ValueError, OSError)):
                utc_stamp(odd)
        else:
            assert utc_stamp(odd) == expected


class _Listed(EventBatch):
    protocol = "modbus"

    def __init__(self, events: list[BaseEvent]) -> None:
        super().__init__()
        self.items = events
        self.built = 0

    def __len__(self) -> int:
        return len(self.items)

    def _materialise(self) -> Sequence[BaseEvent]:
        self.built += 1
        return list(self.items)


def test_an_event_batch_builds_its_events_once_and_writes_their_documents() -> None:
    events: list[BaseEvent] = [BaseEvent(ts=1.0, frame=1), BaseEvent(ts=2.0, frame=2)]
    batch = _Listed(events)
    assert list(batch) == events
    assert list(batch) == events
    assert batch.built == 1
    assert list(batch.ecs_docs()) == [e.ecs() for e in events]
