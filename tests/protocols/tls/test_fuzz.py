"""Fuzz: any bytes, in any chunking, yield only TLS events (never an exception)."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed
from otsight.protocols.tls import TlsDissector
from otsight.protocols.tls.events import TlsEvent
from otsight.protocols.tls.x509 import parse_certificate

from .helpers import certificate, certificate_message, client_hello, record, run, server_hello

CERT = certificate(("a", "b"), ("c", "d"))
SEED = (
    record(22, client_hello())
    + record(22, server_hello(tls13=False) + certificate_message(CERT))
    + record(21, b"\x02\x28")
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_streams_only_yield_tls_events(data: st.DataObject) -> None:
    raw = bytearray(SEED)
    for _ in range(data.draw(st.integers(0, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    events = run(TlsDissector, [(0, bytes(raw[:cut])), (1, bytes(raw[cut:]))])
    assert all(isinstance(e, TlsEvent) for e in events)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(blob: bytes) -> None:
    events = run(TlsDissector, [(0, blob), (1, blob)])
    assert all(isinstance(e, TlsEvent) for e in events)
    TlsDissector.probe(blob, 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_x509_raises_only_malformed(blob: bytes) -> None:
    with contextlib.suppress(Malformed):
        parse_certificate(blob)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_x509_mutated_raises_only_malformed(data: st.DataObject) -> None:
    raw = bytearray(CERT)
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(Malformed):
        parse_certificate(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
