"""The HTTP dissector's shortcuts give exactly what the general state machine gives.

Three shortcuts are covered: body segments that only move the body count on (no copy, no
event fields), header blocks remembered by their bytes, and the blank-line search that stops
at the head. Each test feeds the same stream whole (the general path) and in pieces (the
shortcut) or compares with a line-by-line reading, so a wrong shortcut fails here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed
from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.protocols.http import HttpDissector
from otsight.protocols.http.dissector import BODY, CHUNK_DATA, CHUNK_SIZE, HEAD
from otsight.protocols.http.events import HttpDeviceInfo, HttpRequest, HttpResponse
from otsight.protocols.http.parser import head_length, header_fields, parse_head

FLOW = FlowContext(1, 6, "192.0.2.10", 50000, "192.0.2.20", 80)
BODY_1 = bytes(range(256)) * 20  # 5120 bytes, no line ends that could pass for a head
UPLOAD = b"POST /upload HTTP/1.1\r\nHost: plc\r\nContent-Length: 5120\r\n\r\n" + BODY_1
NEXT = b"GET /next HTTP/1.1\r\nHost: plc\r\n\r\n"
XML = (
    b'<?xml version="1.0"?><root><device><manufacturer>ACME &amp; Co</manufacturer>'
    b"<modelName>RTU-5</modelName><serialNumber>0042</serialNumber>"
    + b"<pad>" + b"x" * 3000 + b"</pad></device></root>"
)
XML_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(XML) + XML
)


def chunked(body: bytes, sizes: Iterable[int]) -> bytes:
    out, i = b"", 0
    for n in sizes:
        if i >= len(body):
            break
        part = body[i : i + n]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
        i += n
    return out + b"0\r\n\r\n"


def feed(pieces: Iterable[tuple[int, bytes]], d: HttpDissector | None = None) -> list[Event]:
    d = d or HttpDissector(FLOW)
    events: list[Event] = []
    for frame, (direction, data) in enumerate(pieces, start=1):
        events.extend(d.on_data(direction, data, 0, frame))
    return events


def cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def same(a: list[Event], b: list[Event]) -> bool:
    return [(type(e), e.fields()) for e in a] == [(type(e), e.fields()) for e in b]


def test_body_in_many_segments_then_pipelined_request() -> None:
    whole = feed([(0, UPLOAD + NEXT)])
    assert [getattr(e, "uri", None) for e in whole] == ["/upload", "/next"]
    d = HttpDissector(FLOW)
    head_end = len(UPLOAD) - len(BODY_1)
    pieces = [UPLOAD[:head_end], *cut(BODY_1, 1460), NEXT]
    events = []
    for data in pieces:
        events += list(d.on_data(0, data, 0, 1))
        if data is not pieces[0] and data is not NEXT:
            assert not d.buffers[0]  # body bytes counted, never buffered
    assert same(events, whole)
    assert d.mode[0] == HEAD


@pytest.mark.parametrize("size", [1, 7, 1460, 5120, 5121, 9000])
def test_body_cut_anywhere_keeps_the_next_head_in_step(size: int) -> None:
    stream = UPLOAD + NEXT + UPLOAD + NEXT
    assert same(feed([(0, p) for p in cut(stream, size)]), feed([(0, stream)]))


def test_segment_ending_exactly_at_the_body_end_returns_to_heads() -> None:
    d = HttpDissector(FLOW)
    head_end = len(UPLOAD) - len(BODY_1)
    assert [type(e) for e in d.on_data(0, UPLOAD[:head_end], 0, 1)] == [HttpRequest]
    assert (d.mode[0], d.remaining[0]) == (BODY, 5120)
    assert list(d.on_data(0, BODY_1[:5000], 0, 2)) == []
    assert (d.mode[0], d.remaining[0]) == (BODY, 120)
    assert list(d.on_data(0, b"", 0, 3)) == []  # nothing delivered: nothing changes
    assert (d.mode[0], d.remaining[0]) == (BODY, 120)
    assert list(d.on_data(0, BODY_1[5000:], 0, 4)) == []
    assert (d.mode[0], d.remaining[0]) == (HEAD, 0)
    assert [e.uri for e in d.on_data(0, NEXT, 0, 5) if isinstance(e, HttpRequest)] == ["/next"]


def test_chunked_body_in_pieces() -> None:
    head = b"POST /c HTTP/1.1\r\nHost: plc\r\nTransfer-Encoding: chunked\r\n\r\n"
    stream = head + chunked(BODY_1, [1000, 3000, 1120]) + NEXT
    d = HttpDissector(FLOW)
    events = list(d.on_data(0, head + b"3e8\r\n", 0, 1))
    assert (d.mode[0], d.remaining[0]) == (CHUNK_DATA, 1000)
    events += d.on_data(0, BODY_1[:600], 0, 2)
    assert (d.mode[0], d.remaining[0]) == (CHUNK_DATA, 400)
    events += d.on_data(0, BODY_1[600:1000], 0, 3)  # ends the chunk exactly
    assert (d.mode[0], d.remaining[0]) == (CHUNK_SIZE, 0)
    rest = stream[len(head) + 5 + 1000 :]
    events += feed([(0, p) for p in cut(rest, 700)], d)
    assert same(events, feed([(0, stream)]))
    for size in (1, 3, 999, 1000, 1001, 4096):
        assert same(feed([(0, p) for p in cut(stream, size)]), feed([(0, stream)]))


@pytest.mark.parametrize("size", [1, 100, 1460, len(XML)])
def test_xml_document_kept_when_its_body_arrives_in_pieces(size: int) -> None:
    request = b"GET /desc.xml HTTP/1.1\r\nHost: cam\r\n\r\n"
    head_end = len(XML_RESPONSE) - len(XML)
    pieces = [(0, request), (1, XML_RESPONSE[:head_end]), *[(1, p) for p in cut(XML, size)]]
    events = feed(pieces)
    (info,) = [e for e in events if isinstance(e, HttpDeviceInfo)]
    assert info.uri == "/desc.xml"
    assert info.elements == {
        "manufacturer": "ACME & Co",
        "modelname": "RTU-5",
        "serialnumber": "0042",
    }
    assert same(events, feed([(0, request), (1, XML_RESPONSE)]))


def test_chunked_xml_document_in_pieces() -> None:
    request = b"GET /desc.xml HTTP/1.1\r\nHost: cam\r\n\r\n"
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(XML, [1024, 1024, 4096])
    )
    whole = feed([(0, request), (1, response)])
    assert [type(e) for e in whole] == [HttpRequest, HttpResponse, HttpDeviceInfo]
    for size in (1, 50, 1024, 1460):
        assert same(feed([(0, request), *[(1, p) for p in cut(response, size)]]), whole)


def test_gap_after_counted_segments_keeps_the_stream_in_step() -> None:
    d = HttpDissector(FLOW)
    head_end = len(UPLOAD) - len(BODY_1)
    list(d.on_data(0, UPLOAD[:head_end], 0, 1))
    for piece in cut(BODY_1[:2920], 1460):
        assert list(d.on_data(0, piece, 0, 2)) == []
    d.on_gap(0, 2000)
    assert (d.mode[0], d.remaining[0]) == (BODY, 200)
    events = list(d.on_data(0, BODY_1[4920:] + NEXT, 0, 3))
    assert [e.uri for e in events if isinstance(e, HttpRequest)] == ["/next"]


STREAMS = st.lists(
    st.sampled_from([UPLOAD, NEXT, XML_RESPONSE, b"\r\n"]), min_size=1, max_size=5
).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(STREAMS, st.lists(st.integers(1, 6000), min_size=1, max_size=30))
def test_random_cuts_give_the_events_of_the_whole_stream(stream: bytes, sizes: list[int]) -> None:
    pieces: list[bytes] = []
    i = 0
    while i < len(stream):
        n = sizes[len(pieces) % len(sizes)]
        pieces.append(stream[i : i + n])
        i += n
    for direction in (0, 1):
        whole = feed([(direction, stream)])
        assert same(feed([(direction, p) for p in pieces]), whole)


def test_remembered_header_block_gives_a_head_of_its_own() -> None:
    raw = b"GET / HTTP/1.1\r\nHost: plc\r\nX-A: 1\r\n  folded\r\nHost: other\r\n\r\n"
    first = parse_head(raw)
    first.headers["host"] = "changed"
    second = parse_head(raw)  # the block is known now
    assert second.headers == {"host": "plc", "x-a": "1 folded"}
    assert list(second.headers) == ["host", "x-a"]
    assert second.headers is not first.headers
    response = parse_head(b"HTTP/1.1 200 OK" + raw[raw.index(b"\r\n") :])
    assert (response.is_request, response.status_code, response.headers) == (
        False, 200, second.headers,
    )


def test_a_bad_header_block_fails_every_time() -> None:
    raw = b"GET / HTTP/1.1\r\nbad header line\r\n\r\n"
    for _ in range(2):
        with pytest.raises(Malformed, match="bad header field"):
            parse_head(raw)
    too_many = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(201)) + b"\r\n"
    for _ in range(2):
        with pytest.raises(Malformed, match="too many header fields"):
            parse_head(too_many)
    with pytest.raises(Malformed, match="not an HTTP start line"):
        parse_head(b"GET / HTTP/1.1x\r\nHost: plc\r\n\r\n")  # a known block after a bad line


def test_header_fields_reads_lines_as_parse_head_does() -> None:
    block = b"Host: a \r\nhost: b\r\nX-Y:\t\x0b v \x0c\r\n\r\nLate: 1\r\n"
    assert header_fields(block) == {"host": "a", "x-y": "v", "late": "1"}


def test_head_length_finds_the_first_blank_line() -> None:
    assert head_length(b"GET / HTTP/1.1\r\n\r\nbody\n\nmore") == 18
    assert head_length(b"GET / HTTP/1.1\n\nbody\r\n\r\n") == 16
    assert head_length(b"GET / HTTP/1.1\r\nA: b\n\n\r\n\r\n") == 22  # bare LFs first
    assert head_length(b"GET / HTTP/1.1\r\n\n\r\n") == 17  # "\n\n" straddling the CRLFs


def test_framing_headers_read_once_still_frame_the_body() -> None:
    empty = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    zero = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    events = feed([(0, NEXT * 3), (1, zero + empty + zero)])
    responses = [e for e in events if isinstance(e, HttpResponse)]
    assert [(r.status_code, r.content_length, r.chunked) for r in responses] == [
        (200, 0, False), (204, 0, False), (200, 0, False),
    ]
    post = b"POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    requests = [e for e in feed([(0, post + NEXT)]) if isinstance(e, HttpRequest)]
    assert [(r.uri, r.content_length) for r in requests] == [("/a", 0), ("/next", None)]
