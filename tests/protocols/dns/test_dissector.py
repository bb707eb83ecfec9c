"""DNS-family parser and dissectors on hand-made messages."""

from __future__ import annotations

import struct

import pytest

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.dns import (
    DnsDissector,
    DnsTcpDissector,
    LlmnrDissector,
    MdnsDissector,
    NbnsDissector,
)
from otsight.protocols.dns.events import DnsMalformed, DnsMessage, MdnsMessage, NbnsMessage
from otsight.protocols.dns.parser import netbios_name, parse, read_name
from otsight.protocols.registry import DissectorSelector

FAMILY = [DnsDissector, MdnsDissector, LlmnrDissector, NbnsDissector]


def name(text: str) -> bytes:
    out = b""
    for label in text.split(".") if text else []:
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def header(tid: int, flags: int, qd: int = 0, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack(">HHHHHH", tid, flags, qd, an, ns, ar)


def question(qname: str, qtype: int = 1, qclass: int = 1) -> bytes:
    return name(qname) + struct.pack(">HH", qtype, qclass)


def rr(rname: bytes, rtype: int, rdata: bytes, ttl: int = 120, rclass: int = 1) -> bytes:
    return rname + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def nb_encode(text: str, suffix: int) -> str:
    raw = text.upper().ljust(15).encode()[:15] + bytes([suffix])
    return "".join(chr(65 + (b >> 4)) + chr(65 + (b & 15)) for b in raw)


def flow(port: int, proto: int = 17) -> FlowContext:
    return FlowContext(1, proto, "192.0.2.1", 40000, "192.0.2.2", port)


def test_query_and_response_with_compression() -> None:
    query = header(0x1234, 0x0100, qd=1) + question("plc1.example.com")
    msg = parse(query)
    assert (msg.transaction_id, msg.is_response, msg.opcode) == (0x1234, False, 0)
    assert msg.questions[0]["name"] == "plc1.example.com"
    assert msg.questions[0]["type"] == "A"
    answer = (
        header(0x1234, 0x8180, qd=1, an=3)
        + question("plc1.example.com")
        + rr(b"\xc0\x0c", 5, b"\x03www\xc0\x11")  # CNAME www.example.com
        + rr(b"\xc0\x0c", 1, bytes([10, 0, 0, 5]))
        + rr(b"\xc0\x0c", 28, bytes(15) + b"\x01")
    )
    (event,) = DnsDissector(flow(53)).on_data(1, answer, 5_000_000_000, 7)
    assert isinstance(event, DnsMessage)
    assert event.is_response
    assert event.rcode_name == "no-error"
    assert [a["data"] for a in event.answers] == ["www.example.com", "10.0.0.5", "::1"]
    assert event.action == "query-response"
    assert event.frame == 7
    assert event.ts == 5.0


def test_pointer_loop_is_malformed_not_a_hang() -> None:
    data = header(1, 0, qd=1) + b"\xc0\x0c" + b"\0\1\0\1"
    with pytest.raises(Malformed):
        parse(data)
    with pytest.raises(Malformed):
        read_name(b"\x01a\xc0\x00", 0)  # a -> a -> a ... bounded
    (event,) = DnsDissector(flow(53)).on_data(0, data, 0, 1)
    assert isinstance(event, DnsMalformed)


def test_short_datagram() -> None:
    with pytest.raises(NeedMoreData):
        parse(b"\0\1\0")


def test_truncated_record_keeps_questions() -> None:
    data = header(9, 0x8000, qd=1, an=1) + question("a.b") + b"\xc0\x0c\x00\x01"
    msg = parse(data)
    assert msg.questions
    assert msg.error is not None


def test_mdns_unicast_bit_txt_srv_hinfo() -> None:
    txt = b"".join(bytes([len(s)]) + s for s in (b"model=S7-1500", b"fw=2.9", b"flag"))
    srv = struct.pack(">HHH", 0, 0, 102) + name("plc.local")
    data = (
        header(0, 0x8400, qd=1, an=3)
        + question("_s7._tcp.local", 12, 0x8001)
        + rr(name("plc._s7._tcp.local"), 16, txt, rclass=0x8001)
        + rr(name("plc._s7._tcp.local"), 33, srv)
        + rr(name("plc.local"), 13, b"\x03ARM\x05Linux")
    )
    (event,) = MdnsDissector(flow(5353)).on_data(0, data, 0, 1)
    assert isinstance(event, MdnsMessage)
    assert event.protocol == "mdns"
    assert event.questions[0]["unicast_response"] is True
    assert event.questions[0]["class"] == "IN"
    assert event.answers[0]["cache_flush"] is True
    assert event.txt == {"model": "S7-1500", "fw": "2.9", "flag": ""}
    assert event.answers[1]["target"] == "plc.local"
    assert event.answers[1]["port"] == 102
    assert (event.answers[2]["cpu"], event.answers[2]["os"]) == ("ARM", "Linux")
    assert event.ecs()["mdns"]["txt"]["model"] == "S7-1500"


def test_nbns_name_decoding() -> None:
    encoded = nb_encode("WORKGROUP", 0x1D)
    assert netbios_name(encoded) == "WORKGROUP<1d>"
    assert netbios_name(nb_encode("*", 0).replace(nb_encode("*", 0)[2:30], "AA" * 14)) == (
        "*" + "<00>" * 14 + "<00>"
    )
    data = header(0x8001, 0x0110, qd=1) + question(encoded, 32)
    (event,) = NbnsDissector(flow(137)).on_data(0, data, 0, 1)
    assert isinstance(event, NbnsMessage)
    assert event.questions[0]["name"] == "WORKGROUP<1d>"
    assert (event.questions[0]["netbios_name"], event.questions[0]["suffix"]) == (
        "WORKGROUP",
        0x1D,
    )
    reply = header(0x8001, 0x8500, an=1) + rr(
        name(nb_encode("PLC01", 0x20)), 32, b"\x00\x00" + bytes([10, 1, 2, 3])
    )
    (event,) = NbnsDissector(flow(137)).on_data(1, reply, 0, 2)
    assert isinstance(event, NbnsMessage)
    assert event.answers[0]["addresses"] == ["10.1.2.3"]


def test_tcp_framing_across_segments() -> None:
    msg = header(7, 0x0100, qd=1) + question("example.com")
    wire = struct.pack(">H", len(msg)) + msg
    d = DnsTcpDissector(flow(53, 6))
    assert list(d.on_data(0, wire[:5], 0, 1)) == []
    (event,) = d.on_data(0, wire[5:], 0, 2)
    assert isinstance(event, DnsMessage)
    assert event.transport == "tcp"
    assert len(list(d.on_data(0, wire + wire, 0, 3))) == 2
    assert DnsTcpDissector.probe(wire, 0) > 0.5


def test_selection_by_port_and_content() -> None:
    events: list[object] = []
    sel = DissectorSelector(FAMILY, events.append)
    query = header(1, 0x0100, qd=1) + question("host.local")

    def chosen(port: int, data: bytes) -> type:
        handler = sel(flow(port), 0, data)
        assert handler is not None
        return type(getattr(handler, "dissector"))  # noqa: B009 - not part of StreamHandler

    for port, expected in ((53, DnsDissector), (5353, MdnsDissector), (5355, LlmnrDissector)):
        assert chosen(port, query) is expected
    nb = header(1, 0x0110, qd=1) + question(nb_encode("HOST", 0), 32)
    assert chosen(137, nb) is NbnsDissector
    assert sel(flow(40001), 0, query) is not None  # DNS on an odd port, found by content
    assert sel(flow(53), 0, b"\x16\x03\x01" + bytes(60)) is None
