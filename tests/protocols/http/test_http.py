"""HTTP/1.x dissector: heads, credentials, body framing, pipelining and pairing."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.protocols.http import HttpDissector
from otsight.protocols.http.events import (
    HttpCredential,
    HttpEvent,
    HttpMalformed,
    HttpRequest,
    HttpResponse,
)
from otsight.protocols.http.parser import head_length, looks_like_http, parse_head

FLOW = FlowContext(1, 6, "192.0.2.10", 50000, "192.0.2.20", 80)
AUTH = base64.b64encode(b"operator:s3cret-pw").decode()
REQ1 = (
    b"GET /index.html HTTP/1.1\r\nHost: plc.local\r\nUser-Agent: curl/8.0\r\n"
    b"Authorization: Basic " + AUTH.encode() + b"\r\n\r\n"
)
REQ2 = b"POST /api HTTP/1.1\r\nHost: plc.local\r\nContent-Length: 5\r\n\r\nhello"
REQ3 = b"HEAD /x HTTP/1.1\r\nHost: plc.local\r\n\r\n"
RESP1 = (
    b"HTTP/1.1 200 OK\r\nServer: GoAhead-Webs\r\nContent-Type: text/html\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
)
RESP2 = (
    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"plc\"\r\n"
    b"Content-Length: 4\r\n\r\nnope"
)
RESP3 = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"  # HEAD: no body follows


def run(chunks: Iterable[tuple[int, bytes]]) -> list[Event]:
    d = HttpDissector(FLOW)
    events: list[Event] = []
    for frame, (direction, data) in enumerate(chunks, start=1):
        events.extend(d.on_data(direction, data, frame * 1_000_000_000, frame))
    events.extend(d.on_end(0))
    return events


def test_probe() -> None:
    assert looks_like_http(REQ1) >= 0.9
    assert looks_like_http(RESP1) >= 0.9
    assert looks_like_http(b"GET /") == 0.5
    assert looks_like_http(b"\x00\x01GET / HTTP/1.1\r\n") == 0.0
    assert looks_like_http(b"SSH-2.0-OpenSSH\r\n") == 0.0
    assert looks_like_http(b"FOO / HTTP/1.1\r\n") == 0.0


def test_pipelined_requests_paired_in_order_with_bodies_skipped() -> None:
    events = run([(0, REQ1 + REQ2 + REQ3), (1, RESP1 + RESP2 + RESP3)])
    reqs = [e for e in events if isinstance(e, HttpRequest)]
    resps = [e for e in events if isinstance(e, HttpResponse)]
    assert [(r.method, r.uri) for r in reqs] == [("GET", "/index.html"), ("POST", "/api"),
                                                 ("HEAD", "/x")]
    assert reqs[0].host == "plc.local"
    assert reqs[0].user_agent == "curl/8.0"
    assert reqs[0].authorization_scheme == "Basic"
    assert [(r.status_code, r.request_method, r.request_uri) for r in resps] == [
        (200, "GET", "/index.html"), (401, "POST", "/api"), (200, "HEAD", "/x")]
    assert resps[0].server == "GoAhead-Webs"
    assert resps[0].chunked
    assert resps[0].content_type == "text/html"
    assert resps[1].www_authenticate == 'Basic realm="plc"'
    assert resps[1].content_length == 4
    assert all(r.matched for r in resps)
    assert not [e for e in events if isinstance(e, HttpMalformed)]


def test_basic_credential_exposes_user_only() -> None:
    events = run([(0, REQ1)])
    creds = [e for e in events if isinstance(e, HttpCredential)]
    assert len(creds) == 1
    assert creds[0].user_name == "operator"
    assert creds[0].password_present
    for e in events:
        assert "s3cret" not in repr(e)
        assert AUTH not in repr(e)
        assert "s3cret" not in str(e.ecs())


def test_byte_by_byte_feeding_gives_the_same_events() -> None:
    stream = [(0, REQ1 + REQ2 + REQ3), (1, RESP1 + RESP2 + RESP3)]
    whole = run(stream)
    split = run([(d, data[i : i + 1]) for d, data in stream for i in range(len(data))])
    assert [(type(e), e.fields()) for e in whole] == [(type(e), e.fields()) for e in split]


def test_interim_100_continue_does_not_consume_the_request() -> None:
    events = run([(0, REQ2), (1, b"HTTP/1.1 100 Continue\r\n\r\n" + RESP2)])
    resps = [e for e in events if isinstance(e, HttpResponse)]
    assert [(r.status_code, r.request_uri) for r in resps] == [(100, "/api"), (401, "/api")]


def test_response_without_length_runs_until_close_and_upgrade_stops_parsing() -> None:
    events = run([(0, REQ3.replace(b"HEAD", b"GET")),
                  (1, b"HTTP/1.0 200 OK\r\n\r\nHTTP/1.1 500 looks like a head but is body")])
    assert [e.status_code for e in events if isinstance(e, HttpResponse)] == [200]
    up = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"
    events = run([(0, REQ1), (1, up), (0, b"\x82\x00garbage")])
    assert [type(e).__name__ for e in events] == ["HttpRequest", "HttpCredential",
                                                   "HttpResponse"]


def test_unanswered_response_is_unmatched_and_garbage_is_malformed_once() -> None:
    events = run([(1, RESP2)])
    assert isinstance(events[0], HttpResponse)
    assert not events[0].matched
    events = run([(0, b"GET / HTTP/1.1\r\nbad header line\r\n\r\n"), (0, REQ1)])
    assert [type(e).__name__ for e in events] == ["HttpMalformed"]


def test_gap_inside_a_body_keeps_the_stream_in_step() -> None:
    d = HttpDissector(FLOW)
    body_req = b"POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
    list(d.on_data(0, body_req, 1, 1))
    d.on_gap(0, 80)
    events = list(d.on_data(0, b"y" * 10 + REQ3, 2, 2))
    assert [(type(e).__name__, getattr(e, "uri", None)) for e in events] == [
        ("HttpRequest", "/x")]
    d.on_gap(0, 5)  # a gap in a head: resynchronise on the next start line
    events = list(d.on_data(0, b"ost: a\r\n\r\n" + REQ3, 3, 3))
    assert [getattr(e, "uri", None) for e in events] == ["/x"]


def test_parse_head_errors() -> None:
    head = parse_head(b"GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n")
    assert head.headers["x-a"] == "1 folded"
    for bad in (b"GET / HTTP/1.1\r\n: x\r\n\r\n", b"hello\r\n\r\n"):
        with contextlib.suppress(Malformed):
            parse_head(bad)
            raise AssertionError(bad)
    with contextlib.suppress(NeedMoreData):
        head_length(b"GET / HTTP/1.1\r\n")
        raise AssertionError


SEED = REQ1 + REQ2 + REQ3


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_streams_only_yield_http_events(data: st.DataObject) -> None:
    raws = [bytearray(SEED), bytearray(RESP1 + RESP2 + RESP3)]
    for raw in raws:
        for _ in range(data.draw(st.integers(0, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    chunks = []
    for direction, raw in enumerate(raws):
        cut = data.draw(st.integers(0, len(raw)))
        chunks += [(direction, bytes(raw[:cut])), (direction, bytes(raw[cut:]))]
    assert all(isinstance(e, HttpEvent) for e in run(chunks))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 2000))
def test_fuzz_random_bytes_and_gaps(blob: bytes, gap: int) -> None:
    d = HttpDissector(FLOW)
    for direction in (0, 1):
        list(d.on_data(direction, blob, 1, 1))
        d.on_gap(direction, gap)
        list(d.on_data(direction, blob, 2, 2))
    HttpDissector.probe(blob, 0)
    with contextlib.suppress(Malformed, NeedMoreData):
        parse_head(blob)
    with contextlib.suppress(Malformed, NeedMoreData):
        head_length(blob)
