"""The engine's contracts with its callers: stream handlers and their factory (errors contained,
None honoured), statistics, the per-batch view, the end of input, and compiled kernels agreeing
with the same kernels run as plain Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from decode.streams_helper import (
    MS,
    SEC,
    T0,
    Harness,
    Item,
    Packet,
    Recorder,
    TcpConversation,
    batches,
    config,
    mixed_traffic,
    run,
    udp_packet,
)
from otsight.capture.batch import FrameBatch
from otsight.core.plugins import FlowContext, StreamHandler
from otsight.decode.flows import END_EOF, FlowRecord
from otsight.decode.view import BatchView
from otsight.pipeline.engine import Engine, EngineStats
from otsight.testing.packets import ARP_REQUEST, BROADCAST_MAC, ETH_ARP, arp, ethernet

TESTS = Path(__file__).resolve().parents[1]


def two_flows() -> list[Packet]:
    """Two interleaved TCP connections (client ports 41000 and 42000), each with a reordered
    segment and a lost one proved by an ACK, so both fast and slow paths deliver data."""
    a = TcpConversation(client_port=41000, start_ns=T0)
    b = TcpConversation(client_port=42000, start_ns=T0)
    packets = [
        *a.handshake(),
        *b.handshake(),
        a.client(3, b"def"),
        b.client(0, b"ABC"),
        a.client(0, b"abc"),
        b.client(6, b"GHI"),  # b's bytes 3-5 are lost
        b.server(0, b"ok", ack=9),
        a.server(0, b"ok", ack=6),
        a.client(6, b"ghi", ack=2),
    ]
    packets.sort(key=lambda p: p.ts_ns)
    return packets


def port_of(flow: FlowContext) -> int:
    return flow.orig_port


# --------------------------------------------------------------------------- broken handlers
def test_handler_exceptions_are_contained_and_counted() -> None:
    recorder = Recorder(fail_on=lambda flow, data: port_of(flow) == 41000)
    h = run(two_flows(), recorder=recorder)
    ids = {r.orig_port: r.flow_id for r in h.records}
    a, b = ids[41000], ids[42000]
    # The broken handler keeps being called (each call recorded, then it raised) ...
    assert recorder.layout(a, 0) == [b"abcdefghi"]
    assert recorder.layout(a, 1) == [b"ok"]
    a_calls = [it for it in recorder.of(a) if it.kind == "data"]
    assert h.engine.stats.handler_errors == len(a_calls) == 4  # abc, def, ok, ghi
    # ... and the other flow never notices.
    assert recorder.layout(b, 0) == [b"ABC", 3, b"GHI"]
    assert recorder.layout(b, 1) == [b"ok"]
    assert [it.kind for it in recorder.of(b)][-1] == "end"
    assert len(h.records) == 2


class _RaisingEverywhere:
    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> None:
        raise ValueError("on_data")

    def on_gap(self, direction: int, nbytes: int, ts_ns: int) -> None:
        raise ValueError("on_gap")

    def on_end(self, ts_ns: int) -> None:
        raise ValueError("on_end")


def test_errors_in_every_handler_method_are_counted() -> None:
    def factory(flow: FlowContext, direction: int, first_data: bytes) -> StreamHandler | None:
        return _RaisingEverywhere()

    h = run(two_flows(), factory=factory)
    # flow a: abc, def, ok, ghi, end; flow b: ABC, ok, gap, GHI, end
    assert h.engine.stats.handler_errors == (4 + 1) + (4 + 1)
    assert len(h.records) == 2


def test_factory_exception_is_counted_and_the_flow_ignored() -> None:
    calls: list[int] = []
    recorder = Recorder()

    def factory(flow: FlowContext, direction: int, first_data: bytes) -> StreamHandler | None:
        calls.append(flow.orig_port)
        if flow.orig_port == 41000:
            raise RuntimeError("factory bug (test)")
        return recorder(flow, direction, first_data)

    h = run(two_flows(), factory=factory)
    assert calls.count(41000) == 1  # asked once, never again for that flow
    assert h.engine.stats.handler_errors == 1
    ids = {r.orig_port: r.flow_id for r in h.records}
    assert recorder.of(ids[41000]) == []
    assert recorder.layout(ids[42000], 0) == [b"ABC", 3, b"GHI"]


def test_factory_returning_none_stops_delivery_for_that_flow() -> None:
    recorder = Recorder(accept=lambda flow, direction, data: port_of(flow) != 41000)
    h = run(two_flows(), recorder=recorder)
    ids = {r.orig_port: r.flow_id for r in h.records}
    a, b = ids[41000], ids[42000]
    assert recorder.first_calls[a] == (0, b"abc")  # asked once, with the first data
    assert recorder.of(a) == []  # no data, gap or end afterwards
    assert recorder.layout(b, 0) == [b"ABC", 3, b"GHI"]
    assert h.engine.stats.handler_errors == 0
    rec_a = h.record(a)
    assert rec_a.tcp["orig_delivered"] == 9  # reassembly itself went on


class _DoneAfterFirst:
    """Says it is done after its first payload (as TLS does past the handshake)."""

    def __init__(self, log: list[tuple[str, bytes | int]]) -> None:
        self.log = log

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> bool:
        self.log.append(("data", data))
        return True

    def on_gap(self, direction: int, nbytes: int, ts_ns: int) -> None:
        self.log.append(("gap", nbytes))

    def on_end(self, ts_ns: int) -> None:
        self.log.append(("end", ts_ns))


def test_a_handler_that_is_done_gets_no_more_payload_but_its_end() -> None:
    logs: dict[int, list[tuple[str, bytes | int]]] = {}

    def factory(flow: FlowContext, direction: int, first_data: bytes) -> StreamHandler | None:
        return _DoneAfterFirst(logs.setdefault(flow.orig_port, []))

    h = run(two_flows(), factory=factory)
    assert [kind for kind, _ in logs[41000]] == ["data", "end"]
    assert logs[41000][0] == ("data", b"abc")
    assert [kind for kind, _ in logs[42000]] == ["data", "end"]
    assert h.engine.stats.handler_errors == 0
    ids = {r.orig_port: r.flow_id for r in h.records}
    assert h.record(ids[41000]).tcp["orig_delivered"] == 9  # reassembly itself went on


def test_a_refused_flow_is_asked_again_after_it_ends() -> None:
    asked: list[int] = []

    def accept(flow: FlowContext, direction: int, data: bytes) -> bool:
        asked.append(flow.flow_id)
        return flow.flow_id != 1

    recorder = Recorder(accept=accept)
    packets = [
        udp_packet("10.0.0.1", "10.0.0.2", 7, 8, b"first", T0),
        udp_packet("10.0.0.1", "10.0.0.2", 7, 8, b"ignored", T0 + SEC),
        udp_packet("10.0.0.1", "10.0.0.2", 7, 8, b"new flow", T0 + 100 * SEC),
    ]
    run(packets, recorder=recorder)
    assert asked == [1, 2]
    assert [(it.kind, it.flow_id, it.data) for it in recorder.items] == [
        ("data", 2, b"new flow"),
        ("end", 2, b""),
    ]


def test_no_factory_means_no_delivery_but_full_accounting() -> None:
    h = run(two_flows(), handlers=False)
    assert h.items == []
    assert sorted(r.tcp["orig_delivered"] for r in h.records) == [6, 9]
    assert h.engine.stats.handler_errors == 0


# --------------------------------------------------------------------------- stats and view
def _arp_frame() -> bytes:
    body = arp(ARP_REQUEST, "02:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")
    return ethernet(BROADCAST_MAC, "02:00:00:00:00:01", ETH_ARP, body, pad=True)


def test_stats_and_the_batch_view() -> None:
    views: list[tuple[int, list[int], list[int]]] = []

    def on_batch(view: BatchView) -> None:
        views.append((view.batch.first_frame, view.flow_ids.tolist(), view.slots.tolist()))

    def pkt(payload: bytes, ts_ns: int) -> Packet:
        return udp_packet("10.0.0.1", "10.0.0.2", 7, 8, payload, ts_ns)

    packets = [
        pkt(b"a", T0),
        Packet(_arp_frame(), T0 + MS),
        pkt(b"b", T0 + 2 * MS),
        pkt(b"c", T0 + 100 * SEC),  # idle past the UDP timeout: a new flow, same batch
        udp_packet("10.0.0.3", "10.0.0.2", 7, 8, b"d", T0 + 101 * SEC),
    ]
    h = Harness(config())
    h.engine.on_batch = on_batch
    h.feed(packets[:4]).feed(packets[4:])
    assert [first_frame for first_frame, _, _ in views] == [1, 5]
    assert views[0][1] == [1, 0, 1, 2]  # the ARP frame has no flow; ids per packet, not slot
    assert views[0][2][1] == -1
    assert views[1][1] == [3]
    assert h.engine.stats == EngineStats(packets=5, flows_started=3, flows_ended=1)
    h.finish()
    assert h.engine.stats == EngineStats(packets=5, flows_started=3, flows_ended=3)
    assert h.engine.flows.live == 0


def test_empty_batch_changes_nothing() -> None:
    h = Harness(config())
    h.engine.process(FrameBatch.from_frames([], 1))
    assert h.engine.stats == EngineStats()
    assert h.records == []


def test_finish_ends_every_flow_in_flow_id_order_once() -> None:
    packets = [
        udp_packet(f"10.0.0.{k}", "10.0.1.1", 1000 + k, 2000, b"x", T0 + k * MS)
        for k in range(1, 30)
    ]
    h = run(packets, batch_size=10)
    assert [r.flow_id for r in h.records] == list(range(1, 30))
    assert {r.end_reason for r in h.records} == {END_EOF}
    assert h.recorder.ends() == list(range(1, 30))
    h.engine.finish()
    assert len(h.records) == 29


def test_engine_without_a_handler_factory_or_observers() -> None:
    seen: list[FlowRecord] = []
    engine = Engine(config(), on_flow_end=seen.append)
    conv = TcpConversation()
    for batch in batches([*conv.handshake(), conv.client(0, b"abc")], 2):
        engine.process(batch)
    assert seen == []
    engine.finish()
    (rec,) = seen
    assert (rec.orig_packets, rec.resp_packets, rec.orig_payload) == (3, 1, 3)
    assert rec.tcp["orig_delivered"] == 3


# --------------------------------------------------------------------------- compiled == Python
def _outcome(records: list[FlowRecord], items: list[Item]) -> dict[str, object]:
    return {
        "records": [
            {**vars_of(r), "tcp": dict(sorted(r.tcp.items()))}
            for r in sorted(records, key=lambda r: r.flow_id)
        ],
        "items": [
            [it.kind, it.flow_id, it.direction, it.data.hex(), it.nbytes, it.ts_ns, it.frame]
            for it in items
        ],
    }


def vars_of(record: FlowRecord) -> dict[str, object]:
    names = [n for n in FlowRecord.__dataclass_fields__ if n != "tcp"]
    return {n: getattr(record, n) for n in names}


_CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
from decode.streams_helper import mixed_traffic, run
from pipeline.test_engine import _outcome
from otsight.decode.flowkernel import flow_kernel
h = run(mixed_traffic({seed}), batch_size=5)
print(json.dumps({{"compiled": hasattr(flow_kernel, "py_func"), **_outcome(h.records, h.items)}}))
"""


@pytest.mark.timeout(300)
def test_compiled_kernels_agree_with_plain_python() -> None:
    seed = 11
    h = run(mixed_traffic(seed), batch_size=5)
    compiled = json.loads(json.dumps(_outcome(h.records, h.items)))
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(tests=str(TESTS), seed=seed)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    plain = json.loads(child.stdout)
    assert plain.pop("compiled") is False  # the child really ran the kernels as Python
    assert len(compiled["records"]) > 10
    assert plain == compiled
