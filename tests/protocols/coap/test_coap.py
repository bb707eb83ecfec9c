"""CoAP dissector: parser, pairing, probing, malformed input, fuzz, and tshark on the corpus."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Hashable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed
from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.protocols.coap.codes import code_name
from otsight.protocols.coap.dissector import (
    CoapDissector,
    CoapMalformed,
    CoapRequest,
    CoapResponse,
)
from otsight.protocols.coap.parser import looks_like_coap, parse_coap
from otsight.testing import tshark
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import dissect

DATA = shared_data()
FLOW = FlowContext(1, 17, "192.0.2.10", 40000, "192.0.2.20", 5683)


def opt(delta: int, value: bytes) -> bytes:
    """One option (delta and length < 13 use the short form; 13..268 the one-byte form)."""
    d, ext = (delta, b"") if delta < 13 else (13, bytes([delta - 13]))
    n, lext = (len(value), b"") if len(value) < 13 else (13, bytes([len(value) - 13]))
    return bytes([d << 4 | n]) + ext + lext + value


def msg(mtype: int, code: int, mid: int, token: bytes = b"", opts: bytes = b"",
        payload: bytes = b"") -> bytes:
    head = bytes([0x40 | mtype << 4 | len(token), code]) + struct.pack("!H", mid) + token
    return head + opts + (b"\xff" + payload if payload else b"")


GET = msg(0, 1, 0x1234, b"\xab\xcd",
          opt(3, b"gw.local") + opt(3, b"") + opt(5, b"sensors") + opt(0, b"temp")
          + opt(1, b"\x32") + opt(11, b"\x16"))


def test_parse_options() -> None:
    pdu = parse_coap(GET)
    assert [n for n, _ in pdu.options] == [3, 6, 11, 11, 12, 23]
    d = CoapDissector(FLOW)
    (e,) = list(d.on_data(0, GET, 1_000_000_000, 1))
    assert isinstance(e, CoapRequest)
    assert (e.type_name, e.code_name) == ("confirmable", "GET")
    assert (e.message_id, e.token) == (0x1234, "abcd")
    assert (e.uri_host, e.uri_path, e.observe) == ("gw.local", "/sensors/temp", 0)
    assert e.content_format == "application/json"
    assert e.block2 == (1, False, 1024)


def test_piggybacked_and_separate_responses_pair() -> None:
    d = CoapDissector(FLOW)
    list(d.on_data(0, GET, 1_000_000_000, 1))
    (ack,) = list(d.on_data(1, msg(2, 0, 0x1234), 1_100_000_000, 2))
    (sep,) = list(d.on_data(1, msg(0, 69, 0x9999, b"\xab\xcd", payload=b"21.5"), 2_000_000_000, 3))
    (other,) = list(d.on_data(1, msg(2, 69, 0x4444, b"\x01"), 2_100_000_000, 4))
    assert isinstance(ack, CoapResponse)
    assert ack.matched
    assert ack.request_frame == 1
    assert ack.code_name == "empty"
    assert ack.request_method == "GET"
    assert isinstance(sep, CoapResponse)
    assert sep.matched
    assert sep.payload_length == 4
    assert sep.request_uri_path == "/sensors/temp"
    assert sep.latency == pytest.approx(1.0)
    assert isinstance(other, CoapResponse)
    assert not other.matched


def test_codes() -> None:
    assert code_name(0) == "empty"
    assert code_name(3) == "PUT"
    assert code_name(132) == "4.04 Not Found"
    assert code_name(0xE3) == "unknown-7.03"


@pytest.mark.parametrize(
    "raw",
    [b"\x40\x01", b"\x80\x01\x00\x01", b"\x49\x01\x00\x01", b"\x42\x01\x00\x01\xab",
     b"\x40\x01\x00\x01\xff", b"\x40\x01\x00\x01\xf0", b"\x40\x01\x00\x01\x35ab",
     b"\x40\x00\x00\x01\x11"],
)
def test_malformed_is_counted(raw: bytes) -> None:
    with pytest.raises(Malformed):
        parse_coap(raw)
    d = CoapDissector(FLOW)
    (e,) = list(d.on_data(0, raw, 0, 1))
    assert isinstance(e, CoapMalformed)
    assert d.malformed == 1


def test_probe() -> None:
    assert looks_like_coap(GET) >= 0.6
    assert looks_like_coap(b'{"host_int": 1, "version": [2, 0]}') == 0.0
    assert looks_like_coap(b"GET / HTTP/1.1\r\n") == 0.0


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_never_raises(raw: bytes) -> None:
    d = CoapDissector(FLOW)
    events = list(d.on_data(0, raw, 0, 1))
    assert len(events) == 1
    assert d.malformed == sum(isinstance(e, CoapMalformed) for e in events)
    looks_like_coap(raw)


def _ekey(e: Event) -> Hashable | None:
    if isinstance(e, CoapRequest | CoapResponse):
        return (e.frame, e.type, e.code, e.message_id)
    return None


@pytest.mark.oracle
@pytest.mark.skipif(DATA is None or not tshark.available(), reason="needs shared data, tshark")
def test_agrees_with_tshark_on_the_corpus() -> None:
    """tshark decodes CoAP on 5683 only; the capture also holds CoAP to a server on UDP 17500
    (found by content here, Dropbox by port in nDPI's table), so tshark is told with decode-as."""
    assert DATA is not None
    path = DATA / "pcaps/ntop_nDPI/pcap/coap_mqtt.pcap"
    rows = tshark.fields(path, ["frame.number", "coap.type", "coap.code", "coap.mid"], "coap",
                         extra=["-d", "udp.port==17500,coap"])
    theirs: Counter[Hashable] = Counter(
        (int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows if r[1]
    )
    events = dissect(path, [CoapDissector])
    ours: Counter[Hashable] = Counter(k for k in map(_ekey, events) if k is not None)
    matched = sum((ours & theirs).values())
    total = max(sum(ours.values()), sum(theirs.values()))
    print(f"coap_mqtt.pcap: ours {sum(ours.values())} tshark {sum(theirs.values())} "
          f"matched {matched}, agreement {matched / total:.5f}")
    assert total >= 800
    assert matched / total >= 0.99
