"""The DNS family's shortcuts give exactly what the plain code gives.

Names read before are looked up by their bytes (at the start of a name and at a pointer's
target), the endpoint fields are taken once per flow, and the event is built without
intermediate dicts. A wrong shortcut would change a name, where it ends, an error, or a field.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.dns import DnsDissector, DnsTcpDissector, NbnsDissector
from otsight.protocols.dns import parser as dns_parser
from otsight.protocols.dns.codes import class_name, opcode_name, rcode_name, type_name
from otsight.protocols.dns.events import DnsMalformed, DnsMessage
from otsight.protocols.dns.parser import MAX_NAME, MAX_POINTERS, read_name


def reference_read_name(data: bytes, offset: int) -> tuple[str, int]:
    """read_name as it reads a name label by label, with no names remembered."""
    labels: list[str] = []
    end = -1
    hops = 0
    total = 0
    pos = offset
    while True:
        if pos >= len(data):
            raise Malformed("name runs past the message")
        length = data[pos]
        if length == 0:
            pos += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 1 >= len(data):
                raise Malformed("truncated compression pointer")
            target = (length & 0x3F) << 8 | data[pos + 1]
            if end < 0:
                end = pos + 2
            hops += 1
            if hops > MAX_POINTERS or target >= len(data):
                raise Malformed("compression pointer loop or out of range")
            pos = target
            continue
        if kind:
            raise Malformed(f"unsupported label type 0x{kind:02x}")
        pos += 1
        if pos + length > len(data):
            raise Malformed("label runs past the message")
        labels.append(data[pos : pos + length].decode("utf-8", "replace"))
        total += length + 1
        if total > MAX_NAME:
            raise Malformed("name too long")
        pos += length
    return ".".join(labels), (end if end >= 0 else pos)


def outcome(
    read: Callable[[bytes, int], tuple[str, int]], data: bytes | bytearray, offset: int
) -> tuple[object, object]:
    """What reading a name gives: the name and its end, or the error and its reason."""
    try:
        return read(data, offset)  # type: ignore[arg-type]  # a bytearray too, on purpose
    except Malformed as exc:
        return ("Malformed", str(exc))


def label(text: bytes) -> bytes:
    return bytes([len(text)]) + text


PIECES = st.one_of(
    st.sampled_from([
        label(b"plc") + label(b"site") + b"\0",
        label(b"plc") + b"\0",
        b"\0",
        label(b"\xe2\x82") + label(b"\xac!") + b"\0",  # bad UTF-8 split across labels
        label(b"a" * 63) * 15 + b"\0",  # near MAX_NAME on its own
        label(b"z" * 63),
        label(b"www"),
        b"\x40\x01",  # an unsupported label type
    ]),
    st.tuples(st.integers(0xC0, 0xC1), st.integers(0, 255)).map(bytes),  # pointers
    st.binary(max_size=6),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=12))
def test_read_name_matches_label_by_label_reading(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    for offset in range(len(data) + 1):
        expected = outcome(reference_read_name, data, offset)
        assert outcome(read_name, data, offset) == expected  # maybe remembered now
        assert outcome(read_name, data, offset) == expected  # maybe read from memory
        assert outcome(read_name, bytearray(data), offset) == expected  # never remembered


def test_pointer_to_a_known_name() -> None:
    data = bytes(12) + label(b"plc") + label(b"plant") + b"\0" + label(b"www") + b"\xc0\x0c"
    assert read_name(data, 12) == ("plc.plant", 23)  # remembered
    assert read_name(data, 23) == ("www.plc.plant", 29)  # its labels, then the known rest
    assert read_name(data, 27) == ("plc.plant", 29)  # a pointer alone
    root = bytes(12) + b"\0" + label(b"www") + b"\xc0\x0c"
    assert read_name(root, 12) == ("", 13)
    assert read_name(root, 13) == ("www", 19)  # a pointer to the root adds no label


@pytest.mark.parametrize("extra", [[], [62], [63], [31, 32], [32, 32]])
def test_name_too_long_through_a_pointer_to_a_known_name(extra: list[int]) -> None:
    known = label(b"k" * 63) * 8 + b"\0"  # 8 * 64 = 512 bytes counted
    prefix = label(b"p" * 63) * 7 + b"".join(label(b"q" * n) for n in extra)
    data = bytes(12) + known + prefix + b"\xc0\x0c"
    read_name(data, 12)  # remember the target
    start = 12 + len(known)
    got = outcome(read_name, data, start)
    assert got == outcome(reference_read_name, data, start)
    counted = 512 + 7 * 64 + sum(n + 1 for n in extra)  # 960, 1023, 1024, 1025, 1026
    assert (got == ("Malformed", "name too long")) == (counted > MAX_NAME)


def test_known_names_stay_bounded() -> None:
    for i in range(dns_parser.MAX_KNOWN_NAMES + 10):
        data = label(b"host%d" % i) + b"\0"
        assert read_name(data, 0) == (f"host{i}", len(data))
        assert len(dns_parser._KNOWN_NAMES) <= dns_parser.MAX_KNOWN_NAMES


def header(tid: int, flags: int, qd: int = 0, an: int = 0) -> bytes:
    return struct.pack(">HHHHHH", tid, flags, qd, an, 0, 0)


QUESTION = label(b"plc1") + label(b"local") + b"\0" + struct.pack(">HH", 16, 1)
TXT = label(b"model=S7") + label(b"fw=2.9") + label(b"model=other")
RESPONSE = (
    header(7, 0x8580, qd=1, an=1)
    + QUESTION
    + b"\xc0\x0c"
    + struct.pack(">HHIH", 16, 1, 60, len(TXT))
    + TXT
)


def test_events_oriented_per_direction_with_every_field() -> None:
    d = DnsDissector(FlowContext(9, 17, "192.0.2.1", 40000, "192.0.2.53", 53))
    (query,) = d.on_data(0, header(7, 0x0100, qd=1) + QUESTION, 1_500_000_000, 3)
    (reply,) = d.on_data(1, RESPONSE, 2_000_000_000, 4)
    assert isinstance(query, DnsMessage)
    assert isinstance(reply, DnsMessage)
    assert (query.ts, query.frame, query.flow_id, query.transport) == (1.5, 3, 9, "udp")
    assert (query.src_ip, query.src_port, query.dst_ip, query.dst_port) == (
        "192.0.2.1", 40000, "192.0.2.53", 53,
    )
    assert (reply.src_ip, reply.src_port, reply.dst_ip, reply.dst_port) == (
        "192.0.2.53", 53, "192.0.2.1", 40000,
    )
    assert query.fields() == {
        "transaction_id": 7,
        "is_response": False,
        "opcode": 0,
        "opcode_name": "query",
        "rcode": 0,
        "rcode_name": "no-error",
        "flags": 0x0100,
        "authoritative": False,
        "truncated": False,
        "questions": ({"name": "plc1.local", "type": "TXT", "type_code": 16, "class": "IN"},),
        "answers": (),
        "authority": (),
        "additional": (),
        "txt": None,
        "error": None,
    }
    assert (reply.is_response, reply.authoritative, reply.truncated) == (True, True, False)
    assert reply.answers[0]["name"] == "plc1.local"
    assert reply.txt == {"model": "S7", "fw": "2.9"}


def test_malformed_event_oriented_per_direction() -> None:
    d = NbnsDissector(FlowContext(4, 17, "192.0.2.1", 137, "192.0.2.255", 137))
    (event,) = d.on_data(1, b"\x00\x01\x02", 5_000_000_000, 8)
    assert isinstance(event, DnsMalformed)
    assert (event.family, event.reason, event.length) == ("nbns", "DNS header is 12 bytes", 3)
    assert (event.src_ip, event.dst_ip, event.flow_id, event.ts, event.frame) == (
        "192.0.2.255", "192.0.2.1", 4, 5.0, 8,
    )
    assert d.malformed == 1


def test_tcp_messages_oriented_per_direction() -> None:
    d = DnsTcpDissector(FlowContext(5, 6, "192.0.2.1", 40000, "192.0.2.53", 53))
    (event,) = d.on_data(1, struct.pack(">H", len(RESPONSE)) + RESPONSE, 0, 1)
    assert (event.src_port, event.dst_port, event.transport) == (53, 40000, "tcp")


def test_code_names_fall_back_to_unknown() -> None:
    assert (type_name(1), type_name(33, nbns=True), type_name(4242)) == (
        "A", "NBSTAT", "unknown-4242",
    )
    assert (class_name(1), class_name(9)) == ("IN", "unknown-9")
    assert (opcode_name(5), opcode_name(5, nbns=True), opcode_name(11)) == (
        "update", "registration", "unknown-11",
    )
    assert (rcode_name(3), rcode_name(15)) == ("name-error", "unknown-15")


@pytest.mark.parametrize("section", [1, 2])  # authority, additional
def test_txt_pairs_from_records_outside_the_answers(section: int) -> None:
    counts = [0, 0, 0]
    counts[section] = 1
    data = (
        struct.pack(">HHHHHH", 1, 0x8400, 0, 0, *counts[1:])
        + label(b"plc") + b"\0"
        + struct.pack(">HHIH", 16, 1, 60, len(TXT))
        + TXT
    )
    (event,) = DnsDissector(FlowContext(1, 17, "192.0.2.1", 5353, "224.0.0.251", 5353)).on_data(
        0, data, 0, 1
    )
    assert isinstance(event, DnsMessage)
    assert event.answers == ()
    assert event.txt == {"model": "S7", "fw": "2.9"}


def parsed(parse: Callable[[bytes, bool, bool], dns_parser.Message], data: bytes) -> object:
    """Every field of the message ``parse`` gives, or the error and its reason."""
    try:
        msg = parse(data, False, False)
    except (Malformed, NeedMoreData) as exc:
        return (type(exc).__name__, str(exc))
    return (
        msg.transaction_id, msg.flags, msg.qdcount, msg.ancount, msg.nscount, msg.arcount,
        msg.questions, msg.answers, msg.authority, msg.additional, msg.error, msg.trailing,
    )


@settings(max_examples=300, deadline=None)
@given(tid=st.integers(0, 0xFFFF), cut=st.integers(12, len(RESPONSE)), flip=st.integers(0, 255))
def test_a_message_seen_before_under_another_id_parses_as_if_new(
    tid: int, cut: int, flip: int
) -> None:
    """The body memo: same bytes after the id give the same message, with this id."""
    body = bytearray(RESPONSE[2:cut])
    if len(body) > 10:
        body[10] ^= flip  # vary the question (or the header when short)
    first = bytes(RESPONSE[:2] + body)
    again = struct.pack(">H", tid) + bytes(body)
    expected = parsed(dns_parser._parse, again)
    assert parsed(dns_parser.parse, first) == parsed(dns_parser._parse, first)  # remembered
    assert parsed(dns_parser.parse, again) == expected


def test_remembered_messages_stay_bounded_and_long_ones_are_not_kept() -> None:
    for i in range(dns_parser.MAX_BODIES + 10):
        query = header(i, 0x0100, qd=1) + label(b"host%d" % i) + b"\0" + struct.pack(">HH", 1, 1)
        assert dns_parser.parse(query).questions[0]["name"] == f"host{i}"
        assert len(dns_parser._BODIES[(False, False)]) <= dns_parser.MAX_BODIES
    dns_parser._BODIES[(False, False)].clear()
    long_name = b"".join(label(b"x" * 60) for _ in range(9)) + b"\0"
    big = header(1, 0x0100, qd=1) + long_name + struct.pack(">HH", 1, 1)
    assert len(big) > dns_parser.MAX_BODY
    dns_parser.parse(big)
    assert not dns_parser._BODIES[(False, False)]
