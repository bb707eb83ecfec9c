"""TLS facts: JA4 and SNI of a ClientHello, names in the server's certificate."""

from __future__ import annotations

from pathlib import Path

from otsight.inventory.facts import facts_of
from otsight.inventory.model import Fact
from otsight.protocols.tls.events import TlsClientHello
from protocols.tls.helpers import (
    certificate,
    certificate_message,
    client_hello,
    record,
    server_hello,
)

from .helpers import CLIENT, SERVER, Tcp, acts, events, observed


def session(tmp_path: Path, sni: str, chain: bytes, server: str = SERVER) -> tuple[list[Fact], str]:
    conn = Tcp(server=server, sport=443)
    # TLS 1.2: the certificates travel in clear (1.3 encrypts them).
    frames = conn.exchange(
        (True, record(22, client_hello(sni))),
        (False, record(22, server_hello(cipher=0xC02F, group=None, tls13=False) + chain)),
    )
    found = events(tmp_path, frames)
    hello = next(e for e in found if isinstance(e, TlsClientHello))
    return [f for e in found for f in facts_of(e)], hello.ja4


def test_self_signed_device_certificate(tmp_path: Path) -> None:
    device = certificate(("SIMATIC S7-1500", "Siemens"), ("SIMATIC S7-1500", "Siemens"))
    found, ja4 = session(tmp_path, "plc-7.plant.local", certificate_message(device))
    assert observed(found) == {
        ("ja4", ja4, CLIENT, None, 60),
        ("hostname", "plc-7.plant.local", SERVER, None, 40),
        ("device_name", "SIMATIC S7-1500", SERVER, None, 60),
        ("vendor", "Siemens", SERVER, None, 50),
    }
    assert acts(found) == [("tls", "session", "client-hello", CLIENT, SERVER)]


def test_ca_issued_chain(tmp_path: Path) -> None:
    leaf = certificate(("historian.plant.example", "Plant Ops"), ("Plant CA", "Plant Ops"))
    ca = certificate(("Plant CA", "Plant Ops"), ("Plant CA", "Plant Ops"))
    found, _ja4 = session(tmp_path, "historian.plant.example", certificate_message(leaf, ca))
    names = {(a, v) for a, v, ip, _m, _r in observed(found) if ip == SERVER}
    # the leaf's CN is a host name; its O is the owner (CA-issued), and the CA's names are not
    # the server's
    assert names == {
        ("hostname", "historian.plant.example"),
    }


def test_internet_server_names_are_not_inventory(tmp_path: Path) -> None:
    public = "93.184.216.34"
    leaf = certificate(("www.example.com", "Example Inc"), ("Some CA", "Some CA Org"))
    found, ja4 = session(tmp_path, "www.example.com", certificate_message(leaf), server=public)
    assert observed(found) == {("ja4", ja4, CLIENT, None, 60)}  # the client's fingerprint only
    assert acts(found) == [("tls", "session", "client-hello", CLIENT, public)]
