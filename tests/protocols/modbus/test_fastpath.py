"""The Modbus batch path gives exactly the events of the dissector alone.

Every comparison runs the same packets twice: through :class:`ModbusDissector` (whose flows the
engine hands to the compiled batch path whenever it can) and through a subclass without a batch
path (the stream path only). Each flow's events must be equal field by field, in order; only
the interleaving of different flows may differ. Small batches make the engine claim and release
flows often, so both hand-overs are exercised many times per capture.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from otsight.capture.batch import FrameBatch
from otsight.capture.sources import expand_inputs, read_input
from otsight.core.events import BaseEvent, Event, EventBatch
from otsight.core.plugins import FlowContext, PayloadRun
from otsight.pipeline.runner import analyze_batches
from otsight.protocols.modbus.batch import ModbusBatch
from otsight.protocols.modbus.dissector import ModbusDissector
from otsight.protocols.modbus.fastpath import LANE_PENDING, ModbusBatchPath
from otsight.protocols.registry import DissectorSelector, _Handler
from otsight.testing import synth
from otsight.testing.corpus import shared_data
from otsight.testing.nojit import NOJIT, rerun_without_jit
from otsight.testing.packets import (
    modbus_exception_response,
    modbus_read_request,
    modbus_read_response,
    modbus_tcp_adu,
    modbus_write_multiple_registers,
    modbus_write_multiple_registers_response,
    tcp_frame,
)

from .test_modbus import MODBUS_CAPTURES

DATA = shared_data()
T0 = 1_767_225_600_000_000_000
SEC = 1_000_000_000


class StreamOnlyModbus(ModbusDissector):
    """The same dissector without a batch path of its own (paths are never inherited)."""


class Batches:
    """An observer that keeps the event batches it is handed (and the other events)."""

    name = "batches"

    def __init__(self) -> None:
        self.batches: list[EventBatch] = []
        self.events: list[BaseEvent] = []

    def __call__(self, event: BaseEvent) -> None:
        self.events.append(event)

    def on_events(self, batch: EventBatch) -> None:
        self.batches.append(batch)


def _batches(frames: list[tuple[int, bytes]], sizes: random.Random) -> Iterator[FrameBatch]:
    i = 0
    while i < len(frames):
        n = sizes.randrange(1, 24)
        chunk = frames[i : i + n]
        yield FrameBatch.from_frames(
            [f for _t, f in chunk], 1, [t for t, _f in chunk], first_frame=i + 1
        )
        i += n


def _run(batches: Iterator[FrameBatch], fast: bool) -> tuple[list[Event], DissectorSelector]:
    events: list[Event] = []
    selector = DissectorSelector([ModbusDissector if fast else StreamOnlyModbus], events.append)
    analyze_batches("test", batches, handler_factory=selector)
    return events, selector


def _per_flow(events: list[Event]) -> dict[int, list[Event]]:
    flows: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        flows[e.flow_id].append(e)
    return dict(flows)


def _compare(fast: list[Event], slow: list[Event]) -> None:
    assert len(fast) == len(slow)
    by_fast, by_slow = _per_flow(fast), _per_flow(slow)
    assert by_fast.keys() == by_slow.keys()
    for flow_id, expected in by_slow.items():
        got = by_fast[flow_id]
        for a, b in zip(got, expected, strict=True):
            assert a == b, f"flow {flow_id}:\n fast {a}\n slow {b}"


def _path(selector: DissectorSelector) -> ModbusBatchPath:
    (path,) = selector.batch_paths.values()
    assert isinstance(path, ModbusBatchPath)
    return path


# --------------------------------------------------------------------------- random sessions


def _pdu_pair(rng: random.Random) -> tuple[bytes, bytes | None]:
    """A request and its response (None: never answered), mostly of the kernel's kinds."""
    kind = rng.random()
    addr = rng.randrange(0, 65536)
    if kind < 0.45:
        fc = rng.choice((1, 2, 3, 4))
        qty = rng.choice((1, 7, 8, 9, 16, 125, 300, 2000))
        if fc in (1, 2):
            data = rng.randbytes(rng.choice(((qty + 7) // 8, rng.randrange(0, 40))) % 251)
        else:
            data = rng.randbytes(rng.choice((2 * qty, rng.randrange(0, 250))) % 251)
        request, response = modbus_read_request(fc, addr, qty), modbus_read_response(fc, data)
        if rng.random() < 0.1:  # byte count larger than the data carried
            response = response[:1] + bytes([min(250, len(data) + 9)]) + response[2:]
    elif kind < 0.55:
        value = rng.choice((0xFF00, 0, rng.randrange(65536)))
        fc = rng.choice((5, 6))
        request = bytes([fc]) + addr.to_bytes(2, "big") + value.to_bytes(2, "big")
        response = request
    elif kind < 0.65:
        values = [rng.randrange(65536) for _ in range(rng.randrange(0, 124))]
        request = modbus_write_multiple_registers(addr, values)
        response = modbus_write_multiple_registers_response(addr, len(values))
    elif kind < 0.72:
        qty = rng.randrange(0, 2100)
        data = rng.randbytes(rng.randrange(0, 250))
        request = bytes([15]) + addr.to_bytes(2, "big") + qty.to_bytes(2, "big")
        request += bytes([len(data) if rng.random() < 0.8 else 255]) + data
        response = request[:5]
    elif kind < 0.82:
        fc = rng.choice((1, 3, 6, 16, 43, 90))
        request = modbus_read_request(fc % 0x80 if fc < 5 else 3, addr, 4)
        response = modbus_exception_response(fc, rng.choice((1, 2, 4, 11, 99)))
    elif kind < 0.87:
        request = bytes([43, 14, 1, 0])  # device identification: the stream path's job
        response = bytes([43, 14, 1, 1, 0, 0, 1, 0, 3]) + b"ACM"
    elif kind < 0.91:
        request = bytes([8, 0, 0, 0x12, 0x34])  # diagnostics
        response = request
    elif kind < 0.95:
        request = bytes([rng.choice((1, 3, 5, 15, 16))])  # too short: malformed
        response = bytes([3, 2, 0])
    else:
        request = bytes([23]) + bytes(9)
        response = bytes([23, 0])
    return request, (None if rng.random() < 0.08 else response)


def _stream_cuts(data: bytes, adu_ends: list[int], rng: random.Random) -> list[bytes]:
    """Segments of ``data``: mostly one ADU each, sometimes split or coalesced."""
    segments: list[bytes] = []
    start = 0
    for end in adu_ends:
        r = rng.random()
        if r < 0.08 and end - start > 2:  # an ADU split over two segments
            cut = rng.randrange(start + 1, end)
            segments += [data[start:cut], data[cut:end]]
        elif r < 0.14 and segments:  # two ADUs in one segment
            segments[-1] += data[start:end]
        else:
            segments.append(data[start:end])
        start = end
    return segments


def _session(rng: random.Random, sport: int, t: int) -> list[tuple[int, bytes]]:
    """One Modbus/TCP connection with irregularities: see the module docstring."""
    hmi, plc = "192.0.2.10", f"192.0.2.{20 + sport % 5}"
    frames: list[tuple[int, bytes]] = []
    cs, ss = rng.randrange(1 << 32), rng.randrange(1 << 32)
    if rng.random() < 0.8:
        frames += [
            (t, tcp_frame(hmi, plc, sport, 502, seq=cs, flags="S")),
            (t + 1000, tcp_frame(plc, hmi, 502, sport, seq=ss, ack=cs + 1, flags="SA")),
            (t + 2000, tcp_frame(hmi, plc, sport, 502, seq=cs + 1, ack=ss + 1, flags="A")),
        ]
        cs, ss = cs + 1, ss + 1
    tid = rng.randrange(65536)
    for _cycle in range(rng.randrange(1, 40)):
        pipelined = rng.randrange(1, 5) if rng.random() < 0.3 else 1
        if rng.random() < 0.03:
            pipelined = LANE_PENDING + 3  # more unanswered than a lane holds
        exchanges = []
        for _ in range(pipelined):
            if rng.random() > 0.1:
                tid = (tid + 1) & 0xFFFF
            unit = rng.choice((1, 1, 1, 255, 7))
            request, response = _pdu_pair(rng)
            exchanges.append((tid, unit, request, response))
        for sending_client in (True, False):
            stream, ends = b"", []
            for x_tid, unit, request, response in exchanges:
                pdu = request if sending_client else response
                if pdu is None:
                    continue
                stream += modbus_tcp_adu(x_tid, unit, pdu)
                ends.append(len(stream))
            if rng.random() < 0.03:  # garbage that does not frame
                stream += b"\xff\xfe\x00"
                ends.append(len(stream))
            segments = _stream_cuts(stream, ends, rng)
            out: list[tuple[int, bytes]] = []
            for seg in segments:
                t += rng.choice((50_000, 2_000_000, 2_000_000, 61 * SEC if rng.random() < 0.02
                                 else 3_000_000))
                if sending_client:
                    out.append((t, tcp_frame(hmi, plc, sport, 502, seq=cs, ack=ss, payload=seg)))
                    cs = (cs + len(seg)) & 0xFFFFFFFF
                else:
                    out.append((t, tcp_frame(plc, hmi, 502, sport, seq=ss, ack=cs, payload=seg)))
                    ss = (ss + len(seg)) & 0xFFFFFFFF
            r = rng.random()
            if r < 0.04 and len(out) > 1:  # out of order on the way to the tap
                out[0], out[1] = (out[1][0], out[0][1]), (out[0][0], out[1][1])
            elif r < 0.07 and out:  # a retransmission
                out.append((out[-1][0] + 200_000_000, out[-1][1]))
            elif r < 0.09 and len(out) > 1:  # a segment the tap never saw
                del out[0]
            frames += out
    return frames


def _random_capture(seed: int) -> list[tuple[int, bytes]]:
    rng = random.Random(seed)
    frames: list[tuple[int, bytes]] = []
    for k in range(rng.randrange(1, 5)):
        frames += _session(rng, 40000 + k, T0 + k * 777_000)
    frames.sort(key=lambda tf: tf[0])
    return frames


@pytest.mark.parametrize("seed", range(40))
def test_random_irregular_sessions_give_the_stream_paths_events(seed: int) -> None:
    frames = _random_capture(seed)
    fast, _ = _run(_batches(frames, random.Random(seed)), fast=True)
    slow, _ = _run(_batches(frames, random.Random(seed)), fast=False)
    _compare(fast, slow)


def test_random_sessions_do_go_through_the_kernel_and_back() -> None:
    """Guard against a vacuous comparison: the kernel makes a good share of the events of
    these deliberately irregular sessions, and flows are released and claimed again often."""
    kernel = total = claims = releases = 0
    for seed in range(40):
        events, selector = _run(_batches(_random_capture(seed), random.Random(seed)), fast=True)
        path = _path(selector)
        kernel += path.messages
        total += len(events)
        claims += path.claims
        releases += path.releases
    assert kernel > total / 5
    assert claims > 200
    assert releases == claims  # every claimed flow went back to its dissector at its end


# --------------------------------------------------------------------------- real captures


def _capture_batches(path: Path, frames_per_batch: int) -> Iterator[FrameBatch]:
    (item,), _errors = expand_inputs([str(path)])
    yield from read_input(item, batch_frames=frames_per_batch)


@pytest.mark.skipif(DATA is None, reason="needs ../shared/data")
@pytest.mark.parametrize("frames_per_batch", [7, 64, 65536])
def test_corpus_captures_give_the_stream_paths_events(frames_per_batch: int) -> None:
    assert DATA is not None
    lab = Path(__file__).resolve().parents[3] / "examples" / "lab-mixed" / "capture.pcap"
    kernel = total = 0
    for path in [DATA / rel for rel in MODBUS_CAPTURES] + [lab]:
        if not path.exists():
            continue
        fast, selector = _run(_capture_batches(path, frames_per_batch), fast=True)
        slow, _ = _run(_capture_batches(path, frames_per_batch), fast=False)
        _compare(fast, slow)
        kernel += _path(selector).messages if selector.batch_paths else 0
        total += len(fast)
    assert total > 20_000
    if frames_per_batch < 100:
        assert kernel > total / 2


def test_synthetic_plant_gives_the_stream_paths_events(tmp_path: Path) -> None:
    capture = tmp_path / "plant.pcap"
    synth.generate(capture, 40_000, seed=3)
    fast, selector = _run(_capture_batches(capture, 1000), fast=True)
    slow, _ = _run(_capture_batches(capture, 1000), fast=False)
    _compare(fast, slow)
    assert _path(selector).messages > 0.9 * len(fast)


# --------------------------------------------------------------------------- batches


def test_batches_write_the_documents_their_events_write() -> None:
    sink = Batches()
    selector = DissectorSelector([ModbusDissector], sink)
    frames = _random_capture(5) + _random_capture(6)
    frames.sort(key=lambda tf: tf[0])
    analyze_batches("test", _batches(frames, random.Random(1)), handler_factory=selector)
    assert sink.batches
    rows = 0
    for batch in sink.batches:
        assert isinstance(batch, ModbusBatch)
        docs = list(batch.ecs_docs())
        assert docs == [e.ecs() for e in batch.events()]
        assert len(docs) == len(batch)
        rows += len(batch)
    assert selector.events["modbus"] == rows + len(sink.events)


def test_a_subset_gives_the_same_events_as_those_rows_of_the_batch(tmp_path: Path) -> None:
    capture = tmp_path / "plant.pcap"
    synth.generate(capture, 20_000, seed=4)
    sink = Batches()
    selector = DissectorSelector([ModbusDissector], sink)
    analyze_batches("test", _capture_batches(capture, 1000), handler_factory=selector)
    pick = random.Random(3)
    checked = with_values = 0
    for batch in sink.batches:
        assert isinstance(batch, ModbusBatch)
        everything = list(batch.events())
        for rows in (batch.polling_summary(),
                     np.array(sorted(pick.sample(range(len(batch)), len(batch) // 3)),
                              dtype=np.int64)):
            part = batch.subset(rows)
            assert list(part.events()) == [everything[r] for r in rows.tolist()]
            assert list(part.ecs_docs()) == [everything[r].ecs() for r in rows.tolist()]
            assert part.values.shape[0] <= batch.values.shape[0]
            checked += len(part)
            with_values += int((part.columns["val_len"] > 0).sum())
    assert checked > 100
    assert with_values > 10


def test_a_fragmented_or_unclaimed_payload_is_refused_whole() -> None:
    """The path's contract: a refused payload makes the rest of its flow's run refused."""
    path = ModbusBatchPath(lambda batch: None)
    flow = FlowContext(1, 6, "192.0.2.10", 40000, "192.0.2.20", 502)
    handler = _Handler(ModbusDissector(flow), DissectorSelector([], lambda e: None), path)
    assert path.claim(3, handler)
    adus = [modbus_tcp_adu(k, 1, modbus_read_request(3, k, 2)) for k in range(3)]
    buf = np.frombuffer(b"".join(adus), dtype=np.uint8)
    run = PayloadRun(
        buf=buf,
        start=np.array([0, 12, 24], dtype=np.int64),
        length=np.array([12, 12, 12], dtype=np.int64),
        ts_ns=np.array([T0, T0 + 1, T0 + 2], dtype=np.int64),
        frame=np.array([1, 2, 3], dtype=np.int64),
        slot=np.array([3, 3, 3], dtype=np.int64),
        direction=np.zeros(3, dtype=np.int8),
        usable=np.array([True, False, True]),
    )
    assert path.run(run).tolist() == [True, False, False]
    path.release(3)
    assert list(handler.dissector.pending) == [(0, 1)]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="not claimed"):
        path.run(run)


@pytest.mark.skipif(NOJIT, reason="this is the run without JIT")
def test_kernel_stays_in_bounds_without_jit() -> None:
    """The kernel as plain Python raises IndexError where compiled code would read garbage."""
    rerun_without_jit(__file__, "(without_jit or corpus or synthetic)")
