"""Arbitrary bytes: DHCP parsers raise only declared errors; dissectors never raise; random
payloads are not claimed on ports 67/68/546/547."""

from __future__ import annotations

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.dhcp import DhcpDissector, Dhcpv6Dissector
from otsight.protocols.dhcp.parser import MAGIC, parse, parse_v6
from otsight.protocols.registry import PORT_BONUS, THRESHOLD

BOOTP = st.builds(
    lambda head, opts: head.ljust(236, b"\0")[:236] + MAGIC + opts,
    st.binary(max_size=236),
    st.binary(max_size=200),
)
PAYLOADS = st.one_of(st.binary(max_size=400), BOOTP)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_parsers_raise_only_declared_errors(data: bytes) -> None:
    for fn in (parse, parse_v6):
        with contextlib.suppress(NeedMoreData, Malformed):
            fn(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), PAYLOADS), max_size=5))
def test_on_data_never_raises(chunks: list[tuple[int, bytes]]) -> None:
    v4 = DhcpDissector(FlowContext(1, 17, "0.0.0.0", 68, "255.255.255.255", 67))
    v6 = Dhcpv6Dissector(FlowContext(2, 17, "fe80::1", 546, "ff02::1:2", 547))
    for i, (direction, data) in enumerate(chunks):
        list(v4.on_data(direction, data, i, i + 1))
        list(v6.on_data(direction, data, i, i + 1))


def test_random_payloads_are_not_claimed() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        data = rng.randbytes(rng.choice([rng.randrange(1, 16), rng.randrange(16, 400)]))
        for cls in (DhcpDissector, Dhcpv6Dissector):
            assert cls.probe(data, 0) + PORT_BONUS < THRESHOLD, (cls.__name__, data.hex())
