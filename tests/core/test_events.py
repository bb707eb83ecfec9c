"""Event plumbing that every protocol relies on: quick construction, timestamps, batches."""

from __future__ import annotations

import dataclasses
import datetime as dt
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

    # dataclass(slots=True) replaces each class; only the final (slotted) ones are used.
    return sorted({c for c in walk(BaseEvent) if "__slots__" in c.__dict__},
                  key=lambda c: c.__qualname__)


def _sample_kwargs(cls: type[BaseEvent], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    values: list[Any] = [1, 2.5, "x", None, (1, 2), {"k": "v"}, b"\x00", True]
    return {f.name: rng.choice(values) for f in dataclasses.fields(cls)}


def test_every_event_class_gets_the_quick_init_with_the_same_results() -> None:
    classes = _event_classes()
    assert len(classes) > 60
    for cls in classes:
        assert "__dataclass_init__" in cls.__dict__, cls  # installed for every event class
        for seed in range(3):
            kwargs = _sample_kwargs(cls, seed)
            quick = cls(**kwargs)
            reference = object.__new__(cls)
            cls.__dataclass_init__(reference, **kwargs)  # type: ignore[attr-defined]
            assert quick == reference
            assert repr(quick) == repr(reference)
            assert [getattr(quick, f.name) for f in dataclasses.fields(cls)] == list(
                kwargs.values()
            )


def test_the_quick_init_keeps_defaults_and_refuses_what_the_dataclass_refuses() -> None:
    common: dict[str, Any] = {
        "ts": 1.5, "flow_id": 1, "src_ip": "192.0.2.1", "src_port": 40000,
        "dst_ip": "192.0.2.2", "dst_port": 502, "transport": "tcp", "transaction_id": 1,
        "unit_id": 1, "function_code": 3, "function": "read-holding-registers",
    }
    response = ModbusResponse(**common)
    assert (response.frame, response.matched, response.values) == (0, False, None)
    with pytest.raises(TypeError, match="missing"):
        ModbusRequest(ts=1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        ModbusRequest(1.0, **common)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected"):
        ModbusRequest(**common, colour="red")  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        response.ts = 2.0  # type: ignore[misc]


def test_a_class_outside_the_simple_case_keeps_the_dataclass_init() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Positional(BaseEvent):  # kw_only is inherited per field: ``extra`` is positional
        extra: int = 0

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Checked(BaseEvent):
        extra: int = 0

        def __post_init__(self) -> None:
            if self.extra < 0:
                raise ValueError("negative")

    assert "__dataclass_init__" not in Positional.__dict__
    assert Positional(7, ts=1.0).extra == 7
    assert "__dataclass_init__" not in Checked.__dict__
    with pytest.raises(ValueError, match="negative"):
        Checked(ts=1.0, extra=-1)


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
