"""Stages after the protocol layer: every observer sees everything; a broken one is contained."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from otsight.capture.sources import expand_inputs, read_input
from otsight.capture.writer import PcapWriter
from otsight.core.events import BaseEvent, EventBatch
from otsight.decode.flows import FlowColumns
from otsight.decode.view import BatchView
from otsight.detect.registry import create_detectors
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_batches, run_files
from otsight.pipeline.fanout import Fanout
from otsight.protocols.arp.dissector import ArpMessage
from otsight.protocols.http.events import HttpResponse
from otsight.testing.packets import tcp_frame


class Recorder:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.events: list[BaseEvent] = []
        self.packets = 0
        self.flows = 0
        self.finished = False

    def on_event(self, event: BaseEvent) -> None:
        if self.fail:
            raise RuntimeError("broken stage")
        self.events.append(event)

    def on_batch(self, view: BatchView) -> None:
        self.packets += len(view.batch)

    def on_flows(self, flows: FlowColumns) -> None:
        self.flows += len(flows)

    def finish(self) -> None:
        self.finished = True


def _modbus_capture(path: Path) -> None:
    req = bytes.fromhex("000100000006010300000002")
    rsp = bytes.fromhex("00010000000701030400010002")
    a, b = "192.0.2.20", "192.0.2.10"
    with path.open("wb") as f:
        w = PcapWriter(f)
        w.write(tcp_frame(a, b, 40000, 502, seq=1, ack=1, payload=req), 1_000_000_000)
        w.write(tcp_frame(b, a, 502, 40000, seq=1, ack=13, payload=rsp), 1_100_000_000)


def test_every_observer_sees_events_batches_flows_and_a_broken_one_is_contained(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cap = tmp_path / "m.pcap"
    _modbus_capture(cap)
    broken, good = Recorder("broken", fail=True), Recorder("good")
    stages = build_stages([broken, good])
    result = run_files([str(cap)], stages)
    assert [e.action for e in good.events] == ["read-holding-registers"] * 2
    assert (good.packets, good.flows, good.finished) == (2, 1, True)
    assert (broken.packets, broken.finished) == (2, True)
    assert result.summary.observer_errors == {"broken": 2}
    assert "observer broken failed" in caplog.text


class BatchTaker(Recorder):
    """Takes event batches whole."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.batches: list[EventBatch] = []

    def on_events(self, batch: EventBatch) -> None:
        self.batches.append(batch)


def _polling_capture(path: Path, polls: int) -> None:
    a, b = "192.0.2.20", "192.0.2.10"
    with path.open("wb") as f:
        w = PcapWriter(f)
        cs, ss = 1, 1
        for k in range(polls):
            req = bytes.fromhex(f"{k:04x}00000006010300000002")
            rsp = bytes.fromhex(f"{k:04x}0000000701030400010002")
            w.write(tcp_frame(a, b, 40000, 502, seq=cs, ack=ss, payload=req), 10**9 + k * 10**8)
            w.write(tcp_frame(b, a, 502, 40000, seq=ss, ack=cs + 12, payload=rsp),
                    10**9 + k * 10**8 + 10**6)
            cs, ss = cs + 12, ss + 13


def test_event_batches_go_whole_to_observers_that_take_them_and_one_by_one_to_others(
    tmp_path: Path,
) -> None:
    cap = tmp_path / "polls.pcap"
    _polling_capture(cap, 50)
    taker, plain, broken = BatchTaker("taker"), Recorder("plain"), Recorder("broken", fail=True)
    (item,), _ = expand_inputs([str(cap)])
    result = run_batches("polls", read_input(item, batch_frames=8),
                         build_stages([taker, plain, broken]))
    assert taker.batches  # the batch path took the flow after its first batch
    from_batches = [e for batch in taker.batches for e in batch.events()]
    assert len(taker.events) + len(from_batches) == 100
    assert plain.events == sorted(plain.events, key=lambda e: e.frame)  # one flow: in order
    assert len(plain.events) == 100
    assert sorted(taker.events + from_batches, key=lambda e: e.frame) == plain.events
    assert result.summary.observer_errors == {"broken": 100}  # one per event, as before


# ------------------------------------------------------------ observers that name their events
class _Ping(BaseEvent, frozen=True, kw_only=True):
    pass


class _Pong(BaseEvent, frozen=True, kw_only=True):
    pass


class _SubPing(_Ping, frozen=True, kw_only=True):
    pass


class Choosy(Recorder):
    """Wants only ``_Ping`` (and its subclasses); counts how often it is asked."""

    def __init__(self, name: str, fail_asking: bool = False) -> None:
        super().__init__(name)
        self.asked: list[type] = []
        self.fail_asking = fail_asking

    def wants_event(self, cls: type[BaseEvent]) -> bool:
        self.asked.append(cls)
        if self.fail_asking:
            raise RuntimeError("cannot say")
        return issubclass(cls, _Ping)


def _stream(n: int) -> list[BaseEvent]:
    kinds: list[type[BaseEvent]] = [_Ping, _Pong, _SubPing]
    return [kinds[(k * 7 + k // 3) % 3](ts=float(k), frame=k + 1) for k in range(n)]


def test_fanout_skips_an_observer_for_classes_it_does_not_want_and_asks_once_per_class() -> None:
    choosy, plain = Choosy("choosy"), Recorder("plain")
    fanout = Fanout([choosy, plain])
    events = _stream(30)
    for event in events:
        fanout(event)
    assert plain.events == events  # no wants_event: everything, as before
    assert choosy.events == [e for e in events if isinstance(e, _Ping)]
    assert choosy.events
    assert len(choosy.events) < len(events)
    assert sorted(c.__name__ for c in choosy.asked) == ["_Ping", "_Pong", "_SubPing"]


def test_an_observer_whose_wants_event_fails_gets_every_event_and_the_failure_is_counted() -> None:
    choosy = Choosy("choosy", fail_asking=True)
    fanout = Fanout([choosy])
    events = _stream(12)
    for event in events:
        fanout(event)
    assert choosy.events == events
    assert fanout.errors == {"choosy": 3}  # once per class asked


def test_event_batches_given_one_by_one_are_filtered_by_wants_event_too() -> None:
    class Batch(EventBatch):
        def __init__(self, events: list[BaseEvent]) -> None:
            super().__init__()
            self._items = events

        def __len__(self) -> int:
            return len(self._items)

        def _materialise(self) -> Sequence[BaseEvent]:
            return self._items

    choosy, plain, taker = Choosy("choosy"), Recorder("plain"), BatchTaker("taker")
    fanout = Fanout([choosy, plain, taker])
    events = _stream(20)
    batch = Batch(events)
    fanout.on_events(batch)
    assert taker.batches == [batch]
    assert taker.events == []
    assert plain.events == events
    assert choosy.events == [e for e in events if isinstance(e, _Ping)]


def test_the_detection_stage_wants_only_classes_a_detector_takes() -> None:
    stage = DetectionStage(create_detectors())
    assert stage.wants_event(ArpMessage)
    assert stage.wants_event(HttpResponse)
    assert not stage.wants_event(_Pong)
    assert all(stage.wants_event(c) for d in stage.detectors for c in d.event_types)
