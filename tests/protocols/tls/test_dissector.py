"""TLS dissector unit tests: framing, reassembly, hellos, JA4, certificates, alerts."""

from __future__ import annotations

import hashlib

import pytest

from otsight.protocols.tls import TlsDissector
from otsight.protocols.tls.events import (
    TlsAlert,
    TlsCertificate,
    TlsClientHello,
    TlsHandshake,
    TlsMalformed,
    TlsServerHello,
)
from otsight.protocols.tls.parser import ClientHello, ja4, record_length
from otsight.protocols.tls.x509 import parse_certificate

from .helpers import (
    certificate,
    certificate_message,
    client_hello,
    handshake,
    record,
    run,
    server_hello,
)


def test_ja4_matches_the_published_chrome_example() -> None:
    def h(s: str) -> tuple[int, ...]:
        return tuple(int(x, 16) for x in s.split(","))

    ch = ClientHello(
        0x0303,
        (0x3A3A, *h("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035")),
        (
            0x1A1A,
            *h("002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b"),
        ),
        supported_versions=(0x2A2A, 0x0304, 0x0303),
        alpn_raw=(b"h2", b"http/1.1"),
        signature_algorithms=h("0403,0804,0401,0503,0805,0501,0806,0601"),
    )
    assert ja4(ch).fingerprint == "t13d1516h2_8daaf6152771_d8a2da3f94cd"


def test_ja4_without_sni_alpn_or_extensions() -> None:
    ch = ClientHello(0x0301, (0x002F,), ())
    cipher_hash = hashlib.sha256(b"002f").hexdigest()[:12]
    assert ja4(ch).fingerprint == f"t10i010000_{cipher_hash}_000000000000"
    ch = ClientHello(0x0303, (), (0x0010,), alpn_raw=(b"\xab\xcd",))
    assert ja4(ch).fingerprint.startswith("t12i0001ad_000000000000_")


def test_client_and_server_hello_tls13_post_quantum() -> None:
    events = run(
        TlsDissector,
        [
            (0, record(22, client_hello(), version=0x0301)),
            (1, record(22, server_hello()) + record(20, b"\x01") + record(23, b"x" * 40)),
            (0, record(20, b"\x01") + record(23, b"y" * 40)),
        ],
    )
    ch, sh = events
    assert isinstance(ch, TlsClientHello)
    assert ch.server_name == "plc.example"
    assert ch.version == 0x0304
    assert ch.version_name == "TLSv1.3"
    assert ch.alpn == ("h2", "http/1.1")
    assert ch.supported_groups == (0x11EC, 29, 23)
    assert ch.ec_point_formats == (0,)
    assert ch.signature_algorithms == (0x0403, 0x0804)
    assert ch.extensions == (0, 10, 11, 13, 16, 43, 51)
    assert ch.post_quantum_offered
    assert ch.ja4.startswith("t13d0207h2_")
    assert isinstance(sh, TlsServerHello)
    assert sh.version == 0x0304
    assert sh.cipher_name == "TLS_AES_128_GCM_SHA256"
    assert sh.group_name == "X25519MLKEM768"
    assert sh.post_quantum
    assert sh.server_name == "plc.example"
    assert sh.frame == 2


def test_handshake_reassembled_across_records_and_segments() -> None:
    msg = client_hello()
    data = record(22, msg[:20]) + record(22, msg[20:])
    events = run(TlsDissector, [(0, data[i : i + 7]) for i in range(0, len(data), 7)])
    assert [type(e) for e in events] == [TlsClientHello]
    assert events[0].frame == (len(data) + 6) // 7


def test_tls12_certificate_chain_and_encrypted_finished() -> None:
    leaf = certificate(("hmi.plant", "ACME"), ("ACME CA", "ACME"))
    root = certificate(("ACME CA", "ACME"), ("ACME CA", "ACME"), rsa_bits=4096)
    flight = server_hello(cipher=0xC02F, group=None, tls13=False) + certificate_message(leaf, root)
    flight += handshake(14, b"")
    events = run(
        TlsDissector,
        [
            (0, record(22, client_hello(sni=None, versions=()))),
            (1, record(22, flight)),
            (
                0,
                record(22, handshake(16, b"\x00" * 33))
                + record(20, b"\x01")
                + record(22, b"f" * 40),
            ),
            (1, record(20, b"\x01") + record(22, b"f" * 40) + record(21, b"a" * 26)),
        ],
    )
    kinds = [e.action for e in events]
    assert kinds == [
        "client-hello",
        "server-hello",
        "certificate",
        "certificate",
        "server-hello-done",
        "client-key-exchange",
        "alert",
    ]
    first, second = (e for e in events if isinstance(e, TlsCertificate))
    assert (first.subject_cn, first.subject_o, first.issuer_cn) == ("hmi.plant", "ACME", "ACME CA")
    assert (first.key_type, first.key_bits, first.self_signed) == ("rsa", 2048, False)
    assert first.not_before == "2024-01-01T00:00:00Z"
    assert first.not_after == "2034-01-01T00:00:00Z"
    assert first.sender == "server"
    assert (second.position, second.chain_length, second.key_bits) == (1, 2, 4096)
    assert second.self_signed
    alert = events[-1]
    assert isinstance(alert, TlsAlert)
    assert alert.encrypted
    ch = events[0]
    assert isinstance(ch, TlsClientHello)
    assert ch.ja4.startswith("t12i")


def test_cleartext_alert() -> None:
    events = run(TlsDissector, [(1, record(21, b"\x02\x28"))])
    assert isinstance(events[0], TlsAlert)
    assert (events[0].level_name, events[0].description_name) == ("fatal", "handshake-failure")


def test_garbage_is_skipped_and_counted() -> None:
    events = run(TlsDissector, [(0, b"GET / HTTP/1.1\r\n" + record(22, client_hello()))])
    assert isinstance(events[0], TlsClientHello)
    assert isinstance(events[1], TlsMalformed)


def test_truncated_hello_is_malformed_not_a_crash() -> None:
    events = run(TlsDissector, [(0, record(22, handshake(1, b"\x03\x03" + b"r" * 10)))])
    assert [type(e) for e in events] == [TlsMalformed]


def test_other_handshake_messages() -> None:
    events = run(TlsDissector, [(1, record(22, handshake(4, b"t" * 10)))])
    assert isinstance(events[0], TlsHandshake)
    assert events[0].handshake == "new-session-ticket"


def test_probe() -> None:
    assert TlsDissector.probe(record(22, client_hello()), 0) >= 0.9
    assert TlsDissector.probe(record(22, server_hello()), 1) >= 0.9
    assert TlsDissector.probe(b"GET / HTTP/1.1\r\n", 0) == 0.0
    assert TlsDissector.probe(record(23, b"x" * 40), 0) == 0.0


def test_record_length() -> None:
    assert record_length(record(23, b"abc")) == 8
    with pytest.raises(Exception, match="not a TLS"):
        record_length(b"\x99\x03\x03\x00\x01")


def test_x509_parse() -> None:
    cert = parse_certificate(certificate(("a", "b"), ("a", "b"), rsa_bits=1024))
    got = (cert.subject_cn, cert.issuer_o, cert.key_bits, cert.self_signed)
    assert got == ("a", "b", 1024, True)
