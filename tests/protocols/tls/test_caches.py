"""The TLS dissector's caches and in-place framing give exactly what a fresh parse gives.

Hellos are remembered by shape (tls.shapes), certificates by their DER bytes, and records
are framed straight from the segment: each test here fails if one of them answers for bytes
it was not made from, or keeps growing.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed
from otsight.core.events import Event
from otsight.protocols.tls import TlsDissector, dissector, parser
from otsight.protocols.tls.events import (
    TlsAlert,
    TlsCertificate,
    TlsClientHello,
    TlsHandshake,
    TlsServerHello,
)
from otsight.protocols.tls.parser import (
    HELLO_RETRY_RANDOM,
    client_hello,
    parse_client_hello,
    parse_server_hello,
    server_hello,
)
from otsight.protocols.tls.shapes import ShapeCache
from otsight.protocols.tls.x509 import parse_certificate

from .helpers import (
    certificate,
    certificate_message,
    ext,
    handshake,
    record,
    run,
    u16s,
    vec,
)
from .helpers import client_hello as client_hello_message
from .helpers import server_hello as server_hello_message


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with empty caches (they are per process)."""
    monkeypatch.setattr(parser, "_CLIENT_HELLOS", ShapeCache())
    monkeypatch.setattr(parser, "_SERVER_HELLOS", ShapeCache())
    monkeypatch.setattr(dissector, "_CERTIFICATES", {})


def hello_body(
    random: bytes = b"r" * 32,
    session_id: bytes = b"s" * 32,
    sni: bytes = b"plc.example",
    shares: tuple[tuple[int, bytes], ...] = ((29, b"k" * 32),),
    ticket: bytes = b"t" * 48,
) -> bytes:
    """A ClientHello body with every span that may vary between connections."""
    exts = ext(0, vec(b"\0" + vec(sni, 2), 2))
    exts += ext(10, vec(u16s((0x11EC, 29, 23)), 2))
    exts += ext(35, ticket)
    exts += ext(43, vec(u16s((0x0304, 0x0303)), 1))
    exts += ext(51, vec(b"".join(struct.pack("!H", g) + vec(k, 2) for g, k in shares), 2))
    body = struct.pack("!H", 0x0303) + random + vec(session_id, 1)
    return body + vec(u16s((0x1301, 0xC02F)), 2) + vec(b"\0", 1) + vec(exts, 2)


def parsed(parse: Any, body: bytes) -> object:
    """The parse of ``body`` as plain values, or the reason it is malformed."""
    try:
        return tuple(parse(body))
    except Malformed as exc:
        return ("malformed", str(exc))


def test_a_hello_differing_only_in_random_parts_reuses_the_parse() -> None:
    first = client_hello(hello_body())
    other = hello_body(random=b"R" * 32, session_id=b"S" * 32, shares=((29, b"K" * 32),),
                       ticket=b"T" * 48)
    assert client_hello(other) is first  # the same parse, handed out again
    assert len(parser._CLIENT_HELLOS) == 1


def test_a_hello_differing_in_a_parsed_byte_gets_its_own_parse() -> None:
    assert client_hello(hello_body()).server_name == "plc.example"
    # Same length, one byte apart in the server name: must not match the first shape.
    assert client_hello(hello_body(sni=b"plc.exampla")).server_name == "plc.exampla"
    # Same length, another key_share group: read again for each hello.
    again = client_hello(hello_body(shares=((23, b"k" * 32),)))
    assert again.key_share_groups == (23,)
    assert again.server_name == "plc.example"


def test_a_matching_hello_with_a_broken_key_share_is_still_malformed() -> None:
    body = hello_body()
    client_hello(body)
    key_at = body.index(b"k" * 32)
    broken = body[: key_at - 2] + b"\x00\x40" + body[key_at:]  # key length past the end
    with pytest.raises(Malformed):
        parse_client_hello(broken)
    with pytest.raises(Malformed):
        client_hello(broken)


def test_server_hello_shape_keeps_the_retry_flag_per_hello() -> None:
    body = server_hello_message()[4:]
    assert not server_hello(body).hello_retry
    retry = body[:2] + HELLO_RETRY_RANDOM + body[34:]
    assert server_hello(retry).hello_retry
    assert server_hello(retry) == parse_server_hello(retry)
    assert len(parser._SERVER_HELLOS) == 1


HELLOS = [
    hello_body(),
    hello_body(session_id=b"", shares=((29, b"k" * 32), (0x11EC, b"m" * 40))),
    client_hello_message()[4:],
]


def _mutated(data: st.DataObject, raw: bytearray) -> bytes:
    """``raw`` with up to four bytes changed, maybe cut short."""
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    return bytes(raw)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_cached_hellos_equal_fresh_parses(data: st.DataObject) -> None:
    """Hellos like remembered ones (random, key or any byte changed, cut, extended) parse
    through the cache exactly as a full parse does, malformed ones included."""
    for _ in range(data.draw(st.integers(1, 5))):
        body = _mutated(data, bytearray(data.draw(st.sampled_from(HELLOS))))
        want = parsed(parse_client_hello, body)
        assert parsed(client_hello, body) == want
        assert parsed(client_hello, body) == want  # the second time from the cache


SERVER_HELLOS = [
    server_hello_message()[4:],
    server_hello_message(cipher=0xC02F, group=None, tls13=False)[4:],
]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_cached_server_hellos_equal_fresh_parses(data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 5))):
        raw = bytearray(data.draw(st.sampled_from(SERVER_HELLOS)))
        if data.draw(st.booleans()):
            raw[2:34] = HELLO_RETRY_RANDOM
        body = _mutated(data, raw)
        want = parsed(parse_server_hello, body)
        assert parsed(server_hello, body) == want
        assert parsed(server_hello, body) == want


def test_shape_cache_is_bounded() -> None:
    cache: ShapeCache[int] = ShapeCache(lengths=3, per_length=2)
    for n in range(10):
        cache.add(bytes([n]) * 40, [], n)  # one length, ten shapes
    assert len(cache) == 2
    assert cache.find(bytes([9]) * 40) is not None
    assert cache.find(bytes([0]) * 40) is None  # the oldest went
    for length in range(50, 60):
        cache.add(b"x" * length, [], length)
    assert len(cache.by_length) <= 3


def test_shape_cache_compares_all_but_the_variable_spans() -> None:
    cache: ShapeCache[str] = ShapeCache()
    body = bytes(range(100))
    cache.add(body, [(10, 40), (60, 62)], "v")  # the second span is short: compared
    same = body[:10] + b"\xff" * 30 + body[40:]
    assert cache.find(same) is not None
    assert cache.find(body[:60] + b"\xff" + body[61:]) is None
    assert cache.find(body[:5] + b"\xff" + body[6:]) is None
    assert cache.find(body + b"!") is None


def flow(sni: str, *certs: bytes) -> list[tuple[int, bytes]]:
    flight = server_hello_message(cipher=0xC02F, group=None, tls13=False)
    flight += certificate_message(*certs) + handshake(14, b"")
    return [
        (0, record(22, client_hello_message(sni=sni, versions=()))),
        (1, record(22, flight)),
    ]


def certificate_fields(events: list[Event]) -> list[dict[str, Any]]:
    return [e.fields() for e in events if isinstance(e, TlsCertificate)]


def test_flows_sharing_a_chain_each_get_their_own_right_events() -> None:
    leaf = certificate(("hmi.plant", "ACME"), ("ACME CA", "ACME"))
    root = certificate(("ACME CA", "ACME"), ("ACME CA", "ACME"), rsa_bits=4096)
    # Same length as ``leaf``, other names: a cache that answered by length or by the
    # issuer would hand the leaf's facts to it.
    other = certificate(("scada.pla", "ACME"), ("ACME CA", "ACME"))
    assert len(other) == len(leaf)
    first = certificate_fields(run(TlsDissector, flow("a.plant", leaf, root)))
    second = certificate_fields(run(TlsDissector, flow("b.plant", leaf, root)))
    third = certificate_fields(run(TlsDissector, flow("c.plant", other, root)))
    assert first == second
    for fields, der in zip(first + third, [leaf, root, other, root], strict=True):
        cert = parse_certificate(der)
        assert fields["subject_cn"] == cert.subject_cn
        assert fields["key_bits"] == cert.key_bits
        assert fields["sha256"] == hashlib.sha256(der).hexdigest()
    assert third[0]["subject_cn"] == "scada.pla"
    assert len(dissector._CERTIFICATES) == 3


def test_certificate_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dissector, "_CERTIFICATES_MAX", 4)
    for n in range(10):
        dissector.certificate(certificate((f"host{n}", "o"), ("ca", "o")))
        assert len(dissector._CERTIFICATES) <= 4


def test_malformed_certificates_are_not_remembered() -> None:
    bad = certificate(("a", "b"), ("c", "d"))[:40]
    for _ in range(2):
        with contextlib.suppress(Malformed):
            dissector.certificate(bad)
    assert not dissector._CERTIFICATES


def comparable(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(type(e).__name__, e.fields()) for e in events]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_records_framed_in_place_or_buffered_alike(size: int) -> None:
    """A flight fed whole is framed in place (but for the message split across records);
    fed in small pieces it goes through the buffers: the events are the same."""
    leaf = certificate(("hmi.plant", "ACME"), ("ACME CA", "ACME"))
    client = record(22, client_hello_message()) + record(21, b"\x01\x00")
    flight = server_hello_message(tls13=False) + certificate_message(leaf)
    server = record(22, flight[:50]) + record(22, flight[50:])  # a message across records
    server += record(22, handshake(14, b"")) + record(20, b"\x01") + record(22, b"f" * 40)
    whole = run(TlsDissector, [(0, client), (1, server)])
    pieces = [(0, client[i : i + size]) for i in range(0, len(client), size)]
    pieces += [(1, server[i : i + size]) for i in range(0, len(server), size)]
    assert comparable(run(TlsDissector, pieces)) == comparable(whole)
    kinds = [type(e) for e in whole]
    assert kinds == [TlsClientHello, TlsAlert, TlsServerHello, TlsCertificate, TlsHandshake]
