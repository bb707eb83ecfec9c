"""Arbitrary bytes: parsers raise only NeedMoreData/Malformed; the dissectors never raise."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.enip import EnipDissector, EnipUdpDissector
from otsight.protocols.enip.parser import (
    encap_length,
    looks_like_enip,
    parse_cip,
    parse_cpf,
    parse_header,
    parse_identity,
    parse_path,
)

FLOW = FlowContext(1, 6, "192.0.2.1", 50000, "192.0.2.2", 44818)
UDP_FLOW = FlowContext(2, 17, "192.0.2.1", 50000, "192.0.2.2", 44818)
HEADERS = st.builds(
    lambda cmd, body: struct.pack("<HHII8sI", cmd, len(body), 1, 0, b"\0" * 8, 0) + body,
    st.sampled_from([0x63, 0x65, 0x6F, 0x70, 0x04, 0x01]),
    st.binary(max_size=120),
)
PAYLOADS = st.one_of(st.binary(max_size=300), HEADERS)


@settings(max_examples=200, deadline=None)
@given(PAYLOADS)
def test_parsers_raise_only_declared_errors(data: bytes) -> None:
    for fn in (encap_length, parse_header, parse_cpf, parse_identity, parse_path, parse_cip):
        with contextlib.suppress(NeedMoreData, Malformed):
            fn(data)
    assert 0.0 <= looks_like_enip(data) <= 1.0
    assert 0.0 <= looks_like_enip(data, datagram=True) <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), PAYLOADS), max_size=6))
def test_on_data_never_raises(chunks: list[tuple[int, bytes]]) -> None:
    tcp = EnipDissector(FLOW)
    udp = EnipUdpDissector(UDP_FLOW)
    for i, (direction, data) in enumerate(chunks):
        list(tcp.on_data(direction, data, i, i + 1))
        list(udp.on_data(direction, data, i, i + 1))
    list(tcp.on_end(99))
