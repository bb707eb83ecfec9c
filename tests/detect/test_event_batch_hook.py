"""Detectors that take compiled Modbus batches whole (``on_event_batch``) raise the same alerts,
in the same order, and learn the same as when the batch's events are handed over one by one,
whatever the rows: function codes, units, flows, directions, out-of-order times, options and
learned state carried from batch to batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.alerts.model import Alert
from otsight.core.events import BaseEvent, Event, EventBatch
from otsight.detect.alerting import event_alert
from otsight.detect.base import Detector, DetectorOptions
from otsight.detect.registry import create_detectors
from otsight.detect.rules.ot_catalog import (
    MODBUS_COMMAND_CODES,
    MODBUS_WRITE_OR_IDENTIFY_CODES,
    is_identification,
    is_write,
    modbus_command,
)
from otsight.detect.rules.ot_commands import (
    OtCommandDetector,
    OtCommandOptions,
    UnknownMasterDetector,
    UnknownMasterOptions,
)
from otsight.detect.stage import DetectionStage
from otsight.protocols.modbus.batch import ModbusBatch
from otsight.protocols.modbus.events import ModbusRequest, ModbusResponse
from otsight.protocols.modbus.kernel import NONE, REQUEST, RESPONSE

T0_NS = 1_767_225_600 * 10**9
CODES = [1, 2, 3, 4, 5, 6, 7, 8, 11, 15, 16, 17, 20, 21, 22, 23, 43, 90, 0, 129, 255]
IPS = ["192.0.2.10", "192.0.2.11", "192.0.2.20", "192.0.2.21", "192.0.2.66"]


# ------------------------------------------------------------------------------ batches
@st.composite
def batches(draw: st.DrawFn) -> ModbusBatch:
    """Random rows over a few flows between a few addresses (a client may have several flows,
    a flow may carry requests both ways); times roughly in order, sometimes not."""
    flows = draw(st.integers(1, 6))
    endpoints = []
    for f in range(flows):
        client, server = draw(st.sampled_from(IPS)), draw(st.sampled_from(IPS))
        a = {"flow_id": 100 + f, "src_ip": client, "src_port": 40000 + f, "dst_ip": server,
             "dst_port": 502, "transport": "tcp"}
        b = {**a, "src_ip": server, "src_port": 502, "dst_ip": client, "dst_port": 40000 + f}
        endpoints.append((a, b))
    n = draw(st.integers(0, 40))
    rows = draw(st.lists(st.tuples(
        st.sampled_from([REQUEST, REQUEST, REQUEST, RESPONSE]),  # kind
        st.sampled_from(CODES),  # fc
        st.integers(0, 255),  # unit
        st.integers(0, flows - 1),  # flow
        st.sampled_from([0, 0, 0, 1]),  # direction
        st.integers(-2_000, 12_000),  # ms after the previous row (negative: out of order)
        st.one_of(st.none(), st.lists(st.integers(0, 65535), max_size=10)),  # values
        st.booleans(),  # address/quantity given
    ), min_size=n, max_size=n))
    start = draw(st.integers(0, 30_000))  # ms after T0
    ts, t = [], start
    for row in rows:
        t = max(0, t + row[5])
        ts.append(T0_NS + t * 1_000_000)
    values: list[int] = []
    val_start, val_len = [], []
    for row in rows:
        carried = row[6]
        val_start.append(len(values) if carried is not None else 0)
        val_len.append(len(carried) if carried is not None else NONE)
        values += carried or []
    kind = [r[0] for r in rows]
    columns: dict[str, npt.NDArray[Any]] = {
        "kind": np.array(kind, np.int8),
        "ts_ns": np.array(ts, np.int64),
        "frame": np.arange(1, n + 1, dtype=np.int64) // 2 + 1,  # two ADUs share a frame
        "flow": np.array([r[3] for r in rows], np.int64),
        "direction": np.array([r[4] for r in rows], np.int8),
        "tid": np.arange(n, dtype=np.int64),
        "unit": np.array([r[2] for r in rows], np.int64),
        "fc": np.array([r[1] for r in rows], np.int64),
        "addr": np.array([r[1] * 10 if r[7] else NONE for r in rows], np.int64),
        "qty": np.array([r[2] % 7 + 1 if r[7] else NONE for r in rows], np.int64),
        "exc": np.array([2 if k == RESPONSE and r[1] == 7 else NONE
                         for k, r in zip(kind, rows, strict=True)], np.int64),
        "matched": np.array([k == RESPONSE for k in kind], np.bool_),
        "req_frame": np.arange(n, dtype=np.int64),
        "latency_ns": np.full(n, 1_000_000, np.int64),
        "val_start": np.array(val_start, np.int64),
        "val_len": np.array(val_len, np.int64),
    }
    return ModbusBatch(columns, np.array(values, np.uint16), endpoints)


options = st.builds(
    UnknownMasterOptions,
    warmup_s=st.sampled_from([0.0, 1.0, 5.0, 20.0]),
    max_servers=st.sampled_from([1, 2, 100_000]),
    max_clients_per_server=st.sampled_from([1, 2, 1024]),
    report_identification=st.booleans(),
)
command_options = st.builds(OtCommandOptions, ignore_kinds=st.frozensets(
    st.sampled_from(["modbus-diagnostics", "device-restart", "modbus-listen-only"])))


# ------------------------------------------------------------------------------ one by one
class _Baseline:
    """A learned baseline with opinions on some clients; it records what it is asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []

    def knows(self, server: str, client: str, protocol: str) -> bool | None:
        self.asked.append((server, client, protocol))
        return {"192.0.2.20": True, "192.0.2.66": False}.get(client)


class _PlainCommands(OtCommandDetector):
    """The same rule without the batch hook: it gets the events one by one."""

    batch_types = ()


class _PlainMasters(UnknownMasterDetector):
    batch_types = ()


class _EveryPoll(Detector[DetectorOptions]):
    """A detector of every Modbus message (so batches go whole, event by event, to it): it
    raises on every response with an exception and on every odd unit, to interleave with the
    others' alerts."""

    name: ClassVar[str] = "every-poll"
    event_types = (ModbusRequest, ModbusResponse)

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        assert isinstance(event, ModbusRequest | ModbusResponse)
        if event.unit_id % 2 or (isinstance(event, ModbusResponse) and event.exception_code):
            return (event_alert(self.name, "odd", event, severity="low", title="odd",
                                explanation="odd unit", technique_id="T0888"),)
        return ()


class _SummaryPoll(_EveryPoll):
    """The same, content with the summary of polling batches (one by one, though)."""

    name: ClassVar[str] = "summary-poll"
    sees_every_poll = False


def _state(detector: Detector[Any]) -> object:
    if isinstance(detector, UnknownMasterDetector):
        servers = {key: (s.first_ts, sorted(s.known)) for key, s in detector._servers.items()}
        asked = detector.baseline.asked if isinstance(detector.baseline, _Baseline) else None
        return servers, detector.dropped, asked
    return None


def _pair(
    masters: UnknownMasterOptions, commands: OtCommandOptions, baseline: bool,
    other: type[Detector[Any]] | None,
) -> tuple[list[Detector[Any]], list[Detector[Any]]]:
    """The same detectors twice: with the batch hook, and without; with ``other`` (a
    detector of Modbus events one by one) between them."""
    made: list[list[Detector[Any]]] = []
    for cmd, um in ((OtCommandDetector, UnknownMasterDetector), (_PlainCommands, _PlainMasters)):
        detectors: list[Detector[Any]] = [
            cmd(commands), um(masters, baseline=_Baseline() if baseline else None)]
        if other is not None:
            detectors.insert(1, other())
        made.append(detectors)
    return made[0], made[1]


def _seed(stage: DetectionStage, batch: ModbusBatch) -> None:
    """Learned state from before the batches: some events of the slow path."""
    for event in batch.events():
        stage.on_event(event)


def _run(detectors: list[Detector[Any]], first: ModbusBatch, rest: Sequence[ModbusBatch]
         ) -> tuple[DetectionStage, list[Alert]]:
    """The batches through ``on_events``."""
    streamed: list[Alert] = []
    stage = DetectionStage(detectors, keep_raw=True, on_alert=streamed.append)
    _seed(stage, first)
    for batch in rest:
        stage.on_events(_fresh(batch))
    return stage, streamed


def _run_one_by_one(
    detectors: list[Detector[Any]], first: ModbusBatch, rest: Sequence[ModbusBatch]
) -> tuple[DetectionStage, list[Alert]]:
    """The reference: each event of the batches through ``on_event``, of the summary when no
    detector sees every poll (as the stage did before detectors could take batches)."""
    streamed: list[Alert] = []
    stage = DetectionStage(detectors, keep_raw=True, on_alert=streamed.append)
    _seed(stage, first)
    every = any(d.sees_every_poll for d in detectors)
    for batch in rest:
        for event in (_fresh(batch) if every else _fresh(batch).summary()).events():
            stage.on_event(event)
    return stage, streamed


def _fresh(batch: ModbusBatch) -> ModbusBatch:
    """The batch without the events an earlier run built (each run builds its own)."""
    return ModbusBatch(batch.columns, batch.values, batch.endpoints)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(batches(), min_size=1, max_size=4), options, command_options, st.booleans(),
    st.sampled_from([None, _EveryPoll, _SummaryPoll]),
)
def test_the_stage_raises_and_learns_the_same_with_and_without_the_batch_hook(
    runs: list[ModbusBatch], masters: UnknownMasterOptions, commands: OtCommandOptions,
    baseline: bool, other: type[Detector[Any]] | None,
) -> None:
    """Alone, the two rules judge a summary each (the stage builds none); with a detector of
    every poll, whole batches; with one of the summaries, the summary the stage built."""
    hooked, plain = _pair(masters, commands, baseline, other)
    with_hook, streamed = _run(hooked, runs[0], runs[1:])
    without, streamed_plain = _run_one_by_one(plain, runs[0], runs[1:])
    assert with_hook.raw == without.raw  # every alert, in the order raised
    assert streamed == streamed_plain  # what a sensor streams as it comes
    assert with_hook.alerts == without.alerts
    assert with_hook.raised == without.raised
    assert with_hook.errors == without.errors == {}
    assert [_state(d) for d in hooked] == [_state(d) for d in plain]
    plain_batches, _ = _run(_pair(masters, commands, baseline, other)[1], runs[0], runs[1:])
    assert plain_batches.raw == without.raw  # (and without the hook, through on_events)


@settings(max_examples=300, deadline=None)
@given(batches(), batches(), options, command_options, st.booleans(), st.booleans())
def test_the_hook_gives_what_on_event_gives_for_each_event(
    earlier: ModbusBatch, batch: ModbusBatch, masters: UnknownMasterOptions,
    commands: OtCommandOptions, baseline: bool, summary: bool,
) -> None:
    """Straight from the detectors, on the whole batch (responses too) or on its summary,
    with the row of each alert."""
    for hooked, plain in zip(*_pair(masters, commands, baseline, None), strict=True):
        for event in earlier.events():  # the same history
            if isinstance(event, hooked.event_types):
                assert list(hooked.on_event(event)) == list(plain.on_event(event))
        judged = _fresh(batch).summary() if summary else _fresh(batch)
        expected = [(row, alert) for row, event in enumerate(judged.events())
                    if isinstance(event, plain.event_types) for alert in plain.on_event(event)]
        assert list(hooked.on_event_batch(_fresh(batch), summary)) == expected
        assert _state(hooked) == _state(plain)


# ------------------------------------------------------------------------------ building
def _polls(n: int, write_every: int = 0) -> ModbusBatch:
    """``n`` reads (and some writes) of one known master, in one flow."""
    a = {"flow_id": 1, "src_ip": IPS[2], "src_port": 40000, "dst_ip": IPS[0], "dst_port": 502,
         "transport": "tcp"}
    b = {**a, "src_ip": IPS[0], "src_port": 502, "dst_ip": IPS[2], "dst_port": 40000}
    fc = [6 if write_every and i % write_every == 0 else 3 for i in range(n)]
    columns: dict[str, npt.NDArray[Any]] = {
        "kind": np.full(n, REQUEST, np.int8),
        "ts_ns": T0_NS + np.arange(n, dtype=np.int64) * 10**8,
        "frame": np.arange(1, n + 1, dtype=np.int64),
        "flow": np.zeros(n, np.int64),
        "direction": np.zeros(n, np.int8),
        "tid": np.arange(n, dtype=np.int64),
        "unit": np.ones(n, np.int64),
        "fc": np.array(fc, np.int64),
        "addr": np.zeros(n, np.int64),
        "qty": np.ones(n, np.int64),
        "exc": np.full(n, NONE, np.int64),
        "matched": np.zeros(n, np.bool_),
        "req_frame": np.zeros(n, np.int64),
        "latency_ns": np.zeros(n, np.int64),
        "val_start": np.zeros(n, np.int64),
        "val_len": np.full(n, NONE, np.int64),
    }
    return ModbusBatch(columns, np.zeros(0, np.uint16), [(a, b)])


def test_polling_of_known_masters_builds_no_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default rules, a batch of reads and writes among known peers is judged on its
    columns: not one Modbus event object is made."""
    stage = DetectionStage(create_detectors(plugins=False))
    stage.on_events(_polls(50, write_every=5))  # learns the master
    built: list[int] = []
    materialise = ModbusBatch._materialise

    def spy(self: ModbusBatch) -> Sequence[Any]:
        built.append(len(self))
        return materialise(self)

    monkeypatch.setattr(ModbusBatch, "_materialise", spy)
    for _ in range(3):
        stage.on_events(_polls(50, write_every=5))
    assert built == []
    assert stage.alerts == []


@given(batches(), st.data())
def test_events_at_builds_the_events_of_those_rows(batch: ModbusBatch, data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.integers(0, max(len(batch) - 1, 0)), unique=True).map(sorted)
                     if len(batch) else st.just([]))
    picked = np.array(rows, np.int64)
    expected = [_fresh(batch).events()[r] for r in rows]
    assert list(_fresh(batch).events_at(picked)) == expected
    built = _fresh(batch)
    built.events()
    assert list(built.events_at(picked)) == expected  # (from the events built already)


def test_the_code_sets_cover_every_modbus_command_write_and_identification() -> None:
    """A request whose function code is outside the sets is neither, whatever its
    sub-function: the hooks may skip it without building it."""
    ends: dict[str, Any] = {"flow_id": 1, "src_ip": IPS[2], "src_port": 40000, "dst_ip": IPS[0],
            "dst_port": 502, "transport": "tcp"}
    for fc in range(256):
        for sub in (None, *range(256)):
            e = ModbusRequest(ts=1.0, **ends, transaction_id=1, unit_id=1, function_code=fc,
                              function="x", sub_function=sub)
            if fc not in MODBUS_COMMAND_CODES:
                assert modbus_command(e) is None
            if fc not in MODBUS_WRITE_OR_IDENTIFY_CODES:
                assert not is_write(e)
                assert not is_identification(e)


# ------------------------------------------------------------------------------ failures
class _Failing(Detector[DetectorOptions]):
    """Takes Modbus batches whole, raises one alert, then fails."""

    name: ClassVar[str] = "failing"
    event_types = (ModbusRequest,)
    sees_every_poll = False
    batch_types = (ModbusBatch,)

    def on_event_batch(
        self, batch: EventBatch, summary: bool = False
    ) -> Iterable[tuple[int, Alert]]:
        event = (batch.summary() if summary else batch).events()[0]
        assert isinstance(event, Event)
        yield 0, event_alert(self.name, "first", event, severity="low", title="first",
                             explanation="first", technique_id="T0888")
        raise RuntimeError("bug in a columnar rule")


def test_a_failing_hook_is_contained_counted_and_keeps_what_it_raised() -> None:
    cmd, um = OtCommandDetector(), UnknownMasterDetector()
    stage = DetectionStage([_Failing(), cmd, um], keep_raw=True)
    stage.on_events(_polls(20))
    late = _polls(3, write_every=1)
    late.endpoints[0][0]["src_ip"] = IPS[4]  # a new master, after the warm-up
    late.columns["ts_ns"] += 60 * 10**9
    stage.on_events(late)
    assert stage.errors == {"failing": 2}
    assert "on_event_batch: RuntimeError: bug in a columnar rule" in stage.failures["failing"][0]
    assert stage.raised == {"failing": 2, "unknown-master": 3}
    assert [a.detector for a in stage.raw or ()] == ["failing", "failing", *["unknown-master"] * 3]
