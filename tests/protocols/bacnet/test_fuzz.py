"""Random and truncated input: parsers raise only the declared errors, the dissector never."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.bacnet.dissector import BacnetDissector
from otsight.protocols.bacnet.parser import (
    looks_like_bacnet,
    parse_apdu,
    parse_bvlc,
    parse_npdu,
    walk,
)

FLOW = FlowContext(1, 17, "192.0.2.1", 47808, "192.0.2.2", 47808)
MESSAGES = st.builds(
    lambda f, ctl, apdu: (
        bytes([0x81, f]) + (len(apdu) + 6).to_bytes(2, "big") + bytes([1, ctl]) + apdu
    ),
    st.sampled_from([0x0A, 0x0B, 0x09, 0x04]),
    st.sampled_from([0x00, 0x04, 0x20, 0x08, 0x80, 0x28]),
    st.binary(max_size=80),
)
PAYLOADS = st.one_of(st.binary(max_size=200), MESSAGES)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_parsers_raise_only_declared_errors(data: bytes) -> None:
    for fn in (parse_bvlc, parse_npdu, parse_apdu):
        with contextlib.suppress(NeedMoreData, Malformed):
            fn(data)
    walk(data)
    assert 0.0 <= looks_like_bacnet(data) <= 1.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), PAYLOADS), max_size=6))
def test_on_data_never_raises(chunks: list[tuple[int, bytes]]) -> None:
    d = BacnetDissector(FLOW)
    for i, (direction, data) in enumerate(chunks):
        list(d.on_data(direction, data, i, i + 1))
    list(d.on_end(99))
