"""DNP3 dissector: CRCs, link/transport/application decoding, pairing, UDP, probing, fuzz."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.pipeline.runner import analyze
from otsight.protocols.dnp3.codes import function_name, iin_flags, object_name
from otsight.protocols.dnp3.dissector import Dnp3Dissector, Dnp3UdpDissector
from otsight.protocols.dnp3.events import (
    Dnp3LinkFrame,
    Dnp3Malformed,
    Dnp3Request,
    Dnp3Response,
)
from otsight.protocols.dnp3.parser import (
    crc16,
    frame_length,
    looks_like_dnp3,
    parse_fragment,
    parse_link_frame,
    parse_transport,
)
from otsight.protocols.registry import PORT_BONUS, THRESHOLD, DissectorSelector
from otsight.testing import tshark

from .builders import (
    MASTER,
    OUTSTATION,
    frames_for,
    link_frame,
    request,
    response,
    tcp_session,
    udp_session,
)

READ_CLASS_123 = b"\x3c\x02\x06\x3c\x03\x06\x3c\x04\x06"
CROB = b"\x0c\x01\x28\x01\x00" + b"\x05\x00" + b"\x03\x01" + b"\xe8\x03\x00\x00\xe8\x03\x00\x00\x00"
TIME = b"\x32\x01\x07\x01" + (1_767_225_600_000).to_bytes(6, "little")
# A response: binary inputs 0..7 packed (1 octet), then two 16-bit analog inputs with flags.
STATIC = b"\x01\x01\x00\x00\x07\xa5" + b"\x1e\x02\x00\x00\x01" + b"\x01\x10\x00" + b"\x01\x20\x00"


def _run(path: Path, udp: bool = False) -> list[Event]:
    events: list[Event] = []
    sel = DissectorSelector([Dnp3Dissector, Dnp3UdpDissector], events.append)
    analyze([str(path)], handler_factory=sel)
    return events


# ---------------------------------------------------------------- parser
def test_crc_matches_the_standard_example() -> None:
    # IEEE 1815 example header: 05 64 05 C0 01 00 00 04 -> CRC E9 21
    assert crc16(bytes.fromhex("056405c001000004")) == 0x21E9


def test_link_frame_fields_and_bad_crc_blocks_counted() -> None:
    frame = link_frame(0xC4, OUTSTATION, MASTER, bytes(range(20)))
    assert frame_length(frame) == len(frame) == 10 + 20 + 4
    link = parse_link_frame(frame)
    assert (link.destination, link.source, link.function) == (OUTSTATION, MASTER, 4)
    assert link.direction
    assert link.primary
    assert not link.fcb
    assert link.user_data == bytes(range(20))
    assert link.bad_crc_blocks == 0
    broken = bytearray(frame)
    broken[12] ^= 0xFF  # inside the first data block
    broken[-3] ^= 0x01  # inside the second
    assert parse_link_frame(bytes(broken)).bad_crc_blocks == 2
    bad_header = bytearray(frame)
    bad_header[8] ^= 0xFF
    with pytest.raises(Malformed):
        frame_length(bad_header)
    with pytest.raises(NeedMoreData):
        frame_length(frame[:6])


def test_transport_and_application_fields() -> None:
    seg = parse_transport(bytes([0xC5]) + request(3, 1, READ_CLASS_123))
    assert seg.fir
    assert seg.fin
    assert seg.sequence == 5
    frag = parse_fragment(seg.payload)
    assert (frag.function_code, frag.sequence, frag.fir, frag.fin) == (1, 3, True, True)
    assert frag.objects == [(60, 2, 6, 0), (60, 3, 6, 0), (60, 4, 6, 0)]
    assert frag.objects_complete

    op = parse_fragment(request(4, 5, CROB))
    assert op.objects == [(12, 1, 0x28, 1)]
    assert op.objects_complete
    write = parse_fragment(request(5, 2, TIME + b"\x50\x01\x00\x07\x07\x00"))
    assert write.objects == [(50, 1, 7, 1), (80, 1, 0, 1)]
    assert write.objects_complete

    resp = parse_fragment(response(3, 0x9000, STATIC))
    assert resp.iin == 0x9000
    assert resp.objects == [(1, 1, 0, 8), (30, 2, 0, 2)]
    assert resp.objects_complete
    assert iin_flags(0x9002) == ("need-time", "device-restart", "object-unknown")

    cut = parse_fragment(response(3, 0, STATIC[:-2]))  # object data cut short
    assert not cut.objects_complete
    assert cut.objects[-1] == (30, 2, 0, 2)
    with pytest.raises(Malformed):
        parse_fragment(b"\xc0")
    with pytest.raises(Malformed):
        parse_fragment(b"\xc0\x81\x00")  # response without IIN


def test_names() -> None:
    assert function_name(5) == "direct-operate"
    assert function_name(131) == "authenticate-resp"
    assert function_name(99) == "unknown-99"
    assert object_name(12, 1) == "control-relay-output-block"
    assert object_name(41, 2) == "analog-output-block"
    assert object_name(60, 2) == "class-1-data"
    assert object_name(50, 1) == "time-and-date"
    assert object_name(70, 3) == "file-command"
    assert object_name(120, 1) == "auth-challenge"
    assert object_name(0, 254) == "device-attributes"
    assert object_name(80, 1)
    assert object_name(200, 1) == "g200v1"


# ---------------------------------------------------------------- dissector
def _exchange() -> list[tuple[bool, bytes]]:
    big = response(1, 0, STATIC * 40)  # 680+ octets: three transport segments
    return [
        (True, link_frame(0xC0, OUTSTATION, MASTER)),  # reset link states
        (False, link_frame(0x00, MASTER, OUTSTATION)),  # ack
        (True, b"".join(frames_for(request(1, 1, READ_CLASS_123), from_master=True))),
        # the response's three segments arrive in two TCP segments, split mid-frame
        (False, b"".join(frames_for(big, from_master=False, first_seq=7))[:300]),
        (False, b"".join(frames_for(big, from_master=False, first_seq=7))[300:]),
        (True, b"".join(frames_for(request(2, 5, CROB), from_master=True, first_seq=2))),
        (False, b"".join(frames_for(response(2, 0, CROB), from_master=False, first_seq=10))),
        (False, b"".join(frames_for(response(0, 0x9000, function=130), from_master=False))),
        (True, b"".join(frames_for(bytes([0xD0, 0x00]), from_master=True, first_seq=3))),
    ]


def test_tcp_exchange_link_transport_application(tmp_path: Path) -> None:
    path = tmp_path / "dnp3.pcap"
    tcp_session(path, _exchange())
    events = _run(path)
    links = [e for e in events if isinstance(e, Dnp3LinkFrame)]
    assert [(e.link_function, e.from_master, e.primary) for e in links] == [
        ("reset-link-states", True, True),
        ("ack", False, False),
    ]
    msgs = [e for e in events if isinstance(e, Dnp3Request | Dnp3Response)]
    assert [(type(e).__name__, e.function, e.sequence) for e in msgs] == [
        ("Dnp3Request", "read", 1),
        ("Dnp3Response", "response", 1),
        ("Dnp3Request", "direct-operate", 2),
        ("Dnp3Response", "response", 2),
        ("Dnp3Response", "unsolicited-response", 0),
        ("Dnp3Request", "confirm", 0),
    ]
    read, big, op, op_resp, unsol, confirm = msgs
    assert read.source_address == MASTER
    assert read.destination_address == OUTSTATION
    assert read.object_names == ("class-1-data", "class-2-data", "class-3-data")
    assert isinstance(big, Dnp3Response)
    assert big.segments == 3
    assert big.matched
    assert big.request_frame == read.frame
    assert big.latency is not None
    assert big.latency > 0
    assert len(big.objects) == 64  # 80 headers, capped at MAX_OBJECT_HEADERS
    assert big.frame == 8  # the TCP segment that completed the fragment
    assert op.objects == ((12, 1, 0x28, 1),)
    assert op.object_names == ("control-relay-output-block",)
    assert isinstance(op_resp, Dnp3Response)
    assert op_resp.request_function == "direct-operate"
    assert isinstance(unsol, Dnp3Response)
    assert unsol.unsolicited
    assert not unsol.matched
    assert unsol.iin_flags == ("need-time", "device-restart")
    assert confirm.uns
    assert confirm.function_code == 0
    assert not [e for e in events if isinstance(e, Dnp3Malformed)]
    assert read.ecs()["event"]["action"] == "read"


@pytest.mark.skipif(not tshark.available(), reason="tshark not installed")
def test_hand_made_capture_agrees_with_tshark(tmp_path: Path) -> None:
    path = tmp_path / "dnp3.pcap"
    tcp_session(path, _exchange())
    rows = tshark.fields(path, ["frame.number", "dnp3.al.func", "dnp3.al.seq"], "dnp3.al.func")
    theirs = sorted((int(r[0]), int(r[1]), int(r[2])) for r in rows)
    ours = sorted(
        (e.frame, e.function_code, e.sequence)
        for e in _run(path)
        if isinstance(e, Dnp3Request | Dnp3Response)
    )
    assert ours == theirs


def test_bad_crc_and_garbage_are_counted_and_the_stream_resynchronises(tmp_path: Path) -> None:
    good = frames_for(request(1, 1, READ_CLASS_123), from_master=True)[0]
    bad = bytearray(frames_for(request(2, 1, READ_CLASS_123), from_master=True)[0])
    bad[-4] ^= 0xFF
    path = tmp_path / "crc.pcap"
    tcp_session(path, [(True, good), (True, bytes(bad)), (True, b"\x00garbage" + good)])
    events = _run(path)
    reqs = [e for e in events if isinstance(e, Dnp3Request)]
    bad_events = [e for e in events if isinstance(e, Dnp3Malformed)]
    assert [r.sequence for r in reqs] == [1, 1]
    assert [e.reason for e in bad_events] == [
        "1 link data block(s) with a CRC error",
        "bytes that do not frame as DNP3 link frames skipped",
    ]
    assert bad_events[1].length == 8


def test_transport_sequence_gap_drops_the_fragment() -> None:
    frames = frames_for(response(1, 0, STATIC * 40), from_master=False)
    d = Dnp3Dissector(FlowContext(1, 6, "192.0.2.10", 40000, "192.0.2.20", 20000))
    out = list(d.on_data(1, frames[0] + frames[2], 0, 1))  # the middle segment is lost
    assert out == []
    assert d.transport_drops == 1


def test_udp_datagrams(tmp_path: Path) -> None:
    path = tmp_path / "udp.pcap"
    req = frames_for(request(6, 24), from_master=True)[0]
    resp = frames_for(response(6, 0x0000), from_master=False)[0]
    udp_session(path, [(True, req), (False, resp + b"\x05\x64\x10")])
    events = _run(path, udp=True)
    msgs = [e for e in events if isinstance(e, Dnp3Request | Dnp3Response)]
    assert [(e.transport, e.function) for e in msgs] == [
        ("udp", "record-current-time"),
        ("udp", "response"),
    ]
    assert isinstance(msgs[1], Dnp3Response)
    assert msgs[1].matched
    assert any(isinstance(e, Dnp3Malformed) for e in events)  # the cut frame at the end


def test_found_on_a_non_standard_port(tmp_path: Path) -> None:
    path = tmp_path / "odd.pcap"
    tcp_session(path, _exchange(), port=20001)
    events = _run(path)
    assert sum(isinstance(e, Dnp3Request) for e in events) == 3


def test_random_bytes_on_port_20000_are_not_claimed() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        assert looks_like_dnp3(data) + PORT_BONUS < THRESHOLD
    # even with the start octets, a bad header CRC is only claimed on the standard port
    assert looks_like_dnp3(b"\x05\x64\x05\xc0" + bytes(6)) + PORT_BONUS >= THRESHOLD
    assert looks_like_dnp3(b"\x05\x64\x05\xc0" + bytes(6)) < THRESHOLD
    assert looks_like_dnp3(link_frame(0xC0, 1, 2)) >= THRESHOLD


# ---------------------------------------------------------------- fuzz
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_parsers_raise_only_declared_errors(data: bytes) -> None:
    for fn in (frame_length, parse_link_frame, parse_transport, parse_fragment):
        with contextlib.suppress(Malformed, NeedMoreData):
            fn(data)
    looks_like_dnp3(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200), max_size=6), st.booleans(), st.integers(0, 0x3F))
def test_fuzz_on_data_never_raises(chunks: list[bytes], udp: bool, seq: int) -> None:
    flow = FlowContext(1, 17 if udp else 6, "192.0.2.10", 40000, "192.0.2.20", 20000)
    d = Dnp3UdpDissector(flow) if udp else Dnp3Dissector(flow)
    # valid frames wrapping fuzzed application data, then raw fuzz
    for k, chunk in enumerate(chunks):
        wrapped = link_frame(0xC4, OUTSTATION, MASTER, bytes([0xC0 | seq]) + chunk[:249])
        list(d.on_data(k % 2, wrapped, k, k + 1))
        list(d.on_data(k % 2, chunk, k, k + 1))
    list(d.on_end(10))
