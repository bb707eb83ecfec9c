"""Arbitrary bytes: the parser raises only NeedMoreData/Malformed; dissectors never raise;
random payloads are not claimed on the family's standard ports."""

from __future__ import annotations

import contextlib
import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.plugins import FlowContext
from otsight.protocols.dns import (
    DnsDissector,
    DnsTcpDissector,
    LlmnrDissector,
    LlmnrTcpDissector,
    MdnsDissector,
    NbnsDissector,
)
from otsight.protocols.dns.parser import parse, plausibility
from otsight.protocols.registry import PORT_BONUS, THRESHOLD

UDP = [DnsDissector, MdnsDissector, LlmnrDissector, NbnsDissector]
TCP = [DnsTcpDissector, LlmnrTcpDissector]
HEADED = st.builds(
    lambda counts, body: struct.pack(">HH", 1, 0) + struct.pack(">HHHH", *counts) + body,
    st.tuples(*[st.integers(0, 3)] * 4),
    st.binary(max_size=200),
)
PAYLOADS = st.one_of(st.binary(max_size=300), HEADED)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_parser_raises_only_declared_errors(data: bytes) -> None:
    for nbns in (False, True):
        with contextlib.suppress(NeedMoreData, Malformed):
            parse(data, nbns=nbns, mdns=not nbns)
        assert 0.0 <= plausibility(data, nbns=nbns) <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), PAYLOADS), max_size=5))
def test_on_data_never_raises(chunks: list[tuple[int, bytes]]) -> None:
    dissectors = [cls(FlowContext(1, 17, "192.0.2.1", 4000, "192.0.2.2", 53)) for cls in UDP]
    dissectors += [cls(FlowContext(2, 6, "192.0.2.1", 4000, "192.0.2.2", 53)) for cls in TCP]
    for i, (direction, data) in enumerate(chunks):
        for d in dissectors:
            list(d.on_data(direction, data, i, i + 1))


def test_random_payloads_are_not_claimed() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        data = rng.randbytes(rng.choice([rng.randrange(1, 16), rng.randrange(16, 300)]))
        for cls in UDP + TCP:
            assert cls.probe(data, 0) + PORT_BONUS < THRESHOLD, (cls.__name__, data.hex())
