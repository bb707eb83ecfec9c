"""Truncated and random input: the parsers raise only the declared errors, the dissector never."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.iec104.dissector import Iec104Dissector
from otsight.protocols.iec104.parser import apdu_length, looks_like_iec104, parse_apci, parse_asdu

FLOW = FlowContext(1, 6, "192.0.2.1", 50000, "192.0.2.2", 2404)
APDUS = st.builds(
    lambda ctl, body: bytes([0x68, (4 + len(body)) & 0xFF]) + ctl + body,
    st.binary(min_size=4, max_size=4),
    st.binary(max_size=60),
)
PAYLOADS = st.one_of(st.binary(max_size=300), APDUS)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_parsers_raise_only_declared_errors(data: bytes) -> None:
    for fn in (apdu_length, parse_apci, parse_asdu):
        with contextlib.suppress(NeedMoreData, Malformed):
            fn(data)
    with contextlib.suppress(NeedMoreData, Malformed):
        parse_asdu(data[6:])
    assert 0.0 <= looks_like_iec104(data) <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), PAYLOADS), max_size=8))
def test_on_data_never_raises(chunks: list[tuple[int, bytes]]) -> None:
    d = Iec104Dissector(FLOW)
    for i, (direction, data) in enumerate(chunks):
        list(d.on_data(direction, data, i, i + 1))
    d.on_gap(0, 10)
    list(d.on_end(99))
