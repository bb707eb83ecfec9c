"""SNMP dissector: v1/v2c/v3 messages, community categories, system strings, pairing, fuzz."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed
from otsight.core.plugins import FlowContext
from otsight.protocols.snmp import SnmpDissector
from otsight.protocols.snmp.events import SnmpEvent, SnmpMalformed, SnmpMessage
from otsight.protocols.snmp.parser import parse_message

FLOW = FlowContext(1, 17, "192.0.2.10", 40000, "192.0.2.20", 161)


def tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + length + value


def integer(v: int) -> bytes:
    return tlv(0x02, v.to_bytes(4, "big", signed=True))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([arcs[0] * 40 + arcs[1]])
    for arc in arcs[2:]:
        a = arc
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def pdu(tag: int, request_id: int, varbinds: list[tuple[str, bytes]], error: int = 0) -> bytes:
    vbs = b"".join(tlv(0x30, oid(o) + v) for o, v in varbinds)
    return tlv(tag, integer(request_id) + integer(error) + integer(0) + tlv(0x30, vbs))


def v2c(community: bytes, body: bytes, version: int = 1) -> bytes:
    return tlv(0x30, integer(version) + tlv(0x04, community) + body)


NULL = b"\x05\x00"
GET = v2c(b"public", pdu(0xA0, 7, [("1.3.6.1.2.1.1.1.0", NULL), ("1.3.6.1.2.1.1.5.0", NULL)]))
RESP = v2c(
    b"public",
    pdu(
        0xA2,
        7,
        [
            ("1.3.6.1.2.1.1.1.0", tlv(0x04, b"SIMATIC S7-1200")),
            ("1.3.6.1.2.1.1.5.0", tlv(0x04, b"plc-7")),
            ("1.3.6.1.2.1.1.2.0", oid("1.3.6.1.4.1.4329.6")),
        ],
    ),
)


def v3(flags: int, user: bytes, data: bytes) -> bytes:
    header = tlv(0x30, integer(99) + integer(65507) + tlv(0x04, bytes([flags])) + integer(3))
    usm = tlv(
        0x30,
        tlv(0x04, b"\x80\x00\x1f\x88\x01")
        + integer(1)
        + integer(2)
        + tlv(0x04, user)
        + tlv(0x04, b"")
        + tlv(0x04, b""),
    )
    return tlv(0x30, integer(3) + header + tlv(0x04, usm) + data)


def run(*datagrams: tuple[int, bytes]) -> list[SnmpEvent]:
    d = SnmpDissector(FLOW)
    out: list[SnmpEvent] = []
    for frame, (direction, data) in enumerate(datagrams, start=1):
        out.extend(e for e in d.on_data(direction, data, frame, frame) if isinstance(e, SnmpEvent))
        assert len(out) == frame  # one event per datagram, always an SnmpEvent
    return out


def test_v2c_get_and_response_with_system_strings() -> None:
    req, resp = run((0, GET), (1, RESP))
    assert isinstance(req, SnmpMessage)
    assert isinstance(resp, SnmpMessage)
    assert (req.version, req.pdu_type, req.request_id) == ("v2c", "get-request", 7)
    assert req.community_present
    assert req.community_category == "default-read"
    assert req.sys_descr is None  # requests carry no values
    assert resp.matched
    assert resp.request_pdu_type == "get-request"
    assert resp.sys_descr == "SIMATIC S7-1200"
    assert resp.sys_name == "plc-7"
    assert resp.sys_object_id == "1.3.6.1.4.1.4329.6"
    assert resp.error_status == "no-error"
    for e in (req, resp):
        assert "public" not in repr(e)
        assert "public" not in str(e.ecs())


def test_community_categories() -> None:
    for community, category in (
        (b"private", "default-write"),
        (b"cisco", "well-known"),
        (b"x9!Secret", "custom"),
    ):
        (e,) = run((0, v2c(community, pdu(0xA3, 1, [("1.3.6.1.2.1.1.5.0", NULL)]))))
        assert isinstance(e, SnmpMessage)
        assert e.community_category == category
        assert e.pdu_type == "set-request"


def test_v3_plain_and_encrypted() -> None:
    scoped = tlv(
        0x30, tlv(0x04, b"") + tlv(0x04, b"") + pdu(0xA0, 5, [("1.3.6.1.2.1.1.5.0", NULL)])
    )
    plain, enc = run(
        (0, v3(0x04, b"admin", scoped)), (0, v3(0x07, b"admin", tlv(0x04, b"\x99" * 16)))
    )
    assert isinstance(plain, SnmpMessage)
    assert isinstance(enc, SnmpMessage)
    assert (plain.version, plain.pdu_type, plain.user_name) == ("v3", "get-request", "admin")
    assert plain.security_level == "noAuthNoPriv"
    assert plain.engine_id == "80001f8801"
    assert not plain.community_present
    assert (enc.pdu_type, enc.security_level, enc.encrypted) == ("encrypted", "authPriv", True)


def test_malformed_datagram_gives_one_event() -> None:
    (e,) = run((0, GET[:-3]))
    assert isinstance(e, SnmpMalformed)
    assert SnmpDissector.probe(GET, 0) >= 0.9
    assert SnmpDissector.probe(b"\x30\x03\x02\x01\x09", 0) == 0.0


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_messages(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from([GET, RESP, v3(0x07, b"u", tlv(0x04, b"x"))])))
    for _ in range(data.draw(st.integers(0, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    blob = bytes(raw[: data.draw(st.integers(0, len(raw)))])
    with contextlib.suppress(Malformed):
        parse_message(blob)
    assert all(isinstance(e, SnmpEvent) for e in run((0, blob), (1, blob)))
    SnmpDissector.probe(blob, 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(blob: bytes) -> None:
    with contextlib.suppress(Malformed):
        parse_message(blob)
    assert all(isinstance(e, SnmpEvent) for e in run((0, blob)))
