"""OPC UA binary dissector: framing, secure channel fields, services, tshark oracle, fuzz."""

from __future__ import annotations

import contextlib
import random
import struct
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.opcua.dissector import OpcuaDissector
from otsight.protocols.opcua.events import (
    OpcuaHello,
    OpcuaMalformed,
    OpcuaMessage,
    OpcuaOpenSecureChannel,
)
from otsight.protocols.opcua.parser import frame_length, looks_like_opcua, parse_message
from otsight.protocols.registry import PORT_BONUS, THRESHOLD
from otsight.testing import tshark
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import dissect

DATA = shared_data()
needs_corpus = pytest.mark.skipif(
    DATA is None or not tshark.available(), reason="shared corpus or tshark not available"
)
FLOW = FlowContext(1, 6, "192.0.2.10", 40000, "192.0.2.20", 4840)
BASIC256 = b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"


def _s(b: bytes | None) -> bytes:
    return struct.pack("<i", -1) if b is None else struct.pack("<i", len(b)) + b


def chunk(kind: bytes, body: bytes, chunk_type: bytes = b"F") -> bytes:
    return kind + chunk_type + struct.pack("<I", 8 + len(body)) + body


def hello(url: bytes = b"opc.tcp://plc:4840") -> bytes:
    return chunk(b"HEL", struct.pack("<IIIII", 0, 65536, 65536, 0, 0) + _s(url))


def test_framing_and_hello() -> None:
    msg = hello()
    assert frame_length(msg) == len(msg)
    with pytest.raises(NeedMoreData):
        frame_length(msg[:5])
    with pytest.raises(Malformed):
        frame_length(b"GET / HTTP/1.1")
    m = parse_message(msg, None)
    assert (m.endpoint_url, m.receive_buffer_size) == ("opc.tcp://plc:4840", 65536)


def test_encrypted_channel_is_recorded_not_read() -> None:
    opn = chunk(
        b"OPN", struct.pack("<I", 0) + _s(BASIC256) + _s(b"\x30" * 900) + _s(b"t" * 20) + bytes(300)
    )
    msg = chunk(b"MSG", struct.pack("<II", 7, 3) + bytes(range(200)))
    d = OpcuaDissector(FLOW)
    events = list(d.on_data(0, hello() + opn, 0, 1)) + list(d.on_data(0, msg, 1, 2))
    assert isinstance(events[0], OpcuaHello)
    o = events[1]
    assert isinstance(o, OpcuaOpenSecureChannel)
    assert (o.security_policy, o.sender_certificate_length) == ("basic256sha256", 900)
    assert o.receiver_thumbprint_present
    assert o.encrypted
    m = events[2]
    assert isinstance(m, OpcuaMessage)
    assert (m.secure_channel_id, m.token_id, m.encrypted, m.service) == (7, 3, True, None)
    assert d.malformed == 0


def test_probe() -> None:
    assert looks_like_opcua(hello()) >= THRESHOLD
    assert looks_like_opcua(b"GET / HTTP/1.1\r\n\r\n") == 0
    rng = random.Random(5)
    for _ in range(5000):
        data = rng.randbytes(rng.choice([rng.randrange(1, 16), rng.randrange(16, 300)]))
        assert looks_like_opcua(data) + PORT_BONUS < THRESHOLD


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"MSG", b"CLO"]),
    st.binary(max_size=300),
    st.sampled_from([None, True, False]),
)
def test_fuzz_parser_raises_only_declared_errors(
    kind: bytes, body: bytes, policy_none: bool | None
) -> None:
    with contextlib.suppress(Malformed, NeedMoreData):
        parse_message(chunk(kind, body), policy_none)
    looks_like_opcua(body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200), max_size=6))
def test_fuzz_on_data_never_raises(parts: list[bytes]) -> None:
    d = OpcuaDissector(FLOW)
    for k, part in enumerate(parts):
        list(d.on_data(k % 2, chunk(b"MSG", part), k, k + 1))
        list(d.on_data(k % 2, part, k, k + 1))


@needs_corpus
def test_agrees_with_tshark_on_opc_ua_pcap() -> None:
    assert DATA is not None
    path = DATA / "pcaps/ntop_nDPI/pcap/opc-ua.pcap"
    fields = [
        "frame.number",
        "opcua.transport.type",
        "opcua.transport.scid",
        "opcua.servicenodeid.numeric",
    ]
    theirs: Counter[tuple[int, str, str, str]] = Counter()
    for row in tshark.fields(path, fields, "opcua"):
        theirs[(int(row[0]), row[1], row[2], row[3])] += 1
    ours: Counter[tuple[int, str, str, str]] = Counter()
    events = dissect(path, [OpcuaDissector])
    for e in events:
        if isinstance(e, OpcuaMessage):
            scid = "" if e.secure_channel_id is None else str(e.secure_channel_id)
            node = "" if e.service_node_id is None else str(e.service_node_id)
            ours[(e.frame, e.message_type, scid, node)] += 1
    matched = sum((ours & theirs).values())
    agreement = matched / max(sum(ours.values()), sum(theirs.values()))
    print(
        f"\nopc-ua.pcap: ours {sum(ours.values())} tshark {sum(theirs.values())} "
        f"agreement {agreement:.4f}",
        list((ours - theirs).elements())[:5],
        list((theirs - ours).elements())[:5],
    )
    assert agreement >= 0.99
    assert not [e for e in events if isinstance(e, OpcuaMalformed)]


@needs_corpus
def test_wireshark_freeze_capture_on_port_12001() -> None:
    """tshark decodes OPC UA on 4840 only; this capture runs on 12001 and once froze Wireshark."""
    assert DATA is not None
    events = dissect(
        DATA / "pcaps/ITI_ICS-Security-Tools/OPC/opc-ua-ap-method-wireshark-freeze.pcap",
        [OpcuaDissector],
    )
    actions = Counter(e.action for e in events)
    assert actions["CallRequest"] == 2
    assert actions["hello"] == 2
    assert actions["error"] == 2
