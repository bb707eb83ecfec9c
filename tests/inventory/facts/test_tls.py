"""TLS facts: JA4 and SNI of a ClientHello, names in the server's certificate."""

from __future__ import annotations

import struct
from pathlib import Path

from otsight.inventory.facts import facts_of
from otsight.inventory.model import Fact
from otsight.protocols.tls.events import TlsClientHello

from .helpers import CLIENT, SERVER, Tcp, acts, events, observed


def vec(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def ext(ext_type: int, data: bytes) -> bytes:
    return struct.pack("!H", ext_type) + vec(data, 2)


def handshake(hs_type: int, body: bytes) -> bytes:
    return bytes([hs_type]) + vec(body, 3)


def record(body: bytes) -> bytes:
    return struct.pack("!BHH", 22, 0x0303, len(body)) + body


def client_hello(sni: str) -> bytes:
    exts = ext(0, vec(b"\0" + vec(sni.encode(), 2), 2)) + ext(10, vec(b"\x00\x1d\x00\x17", 2))
    exts += ext(13, vec(b"\x04\x03\x08\x04", 2))
    body = struct.pack("!H", 0x0303) + b"r" * 32 + vec(b"", 1) + vec(b"\xc0\x2f\x00\x9c", 2)
    return handshake(1, body + vec(b"\0", 1) + vec(exts, 2))


def server_hello() -> bytes:
    body = struct.pack("!H", 0x0303) + b"s" * 32 + vec(b"", 1) + struct.pack("!HB", 0xC02F, 0)
    return handshake(2, body + vec(b"", 2))


def der(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + value


def oid(*parts: int) -> bytes:
    out = bytes([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        rest = part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return der(0x06, out)


def name(cn: str, org: str) -> bytes:
    return der(
        0x30,
        der(0x31, der(0x30, oid(2, 5, 4, 3) + der(0x0C, cn.encode())))
        + der(0x31, der(0x30, oid(2, 5, 4, 10) + der(0x13, org.encode()))),
    )


def certificate(subject: tuple[str, str], issuer: tuple[str, str]) -> bytes:
    rsa_key = der(0x30, der(0x02, b"\0\xc1" + b"\x01" * 127) + der(0x02, b"\x01\x00\x01"))
    rsa = der(0x30, oid(1, 2, 840, 113549, 1, 1, 1) + b"\x05\x00")
    spki = der(0x30, rsa + der(0x03, b"\0" + rsa_key))
    validity = der(0x30, der(0x17, b"240101000000Z") + der(0x18, b"20340101000000Z"))
    sig_alg = der(0x30, oid(1, 2, 840, 113549, 1, 1, 11) + b"\x05\x00")
    tbs = der(
        0x30,
        der(0xA0, der(0x02, b"\x02"))
        + der(0x02, b"\x10\x01")
        + sig_alg
        + name(*issuer)
        + validity
        + name(*subject)
        + spki,
    )
    return der(0x30, tbs + sig_alg + der(0x03, b"\0" + b"s" * 64))


def certificates(*certs: bytes) -> bytes:
    return handshake(11, vec(b"".join(vec(c, 3) for c in certs), 3))


def session(tmp_path: Path, sni: str, chain: bytes, server: str = SERVER) -> tuple[list[Fact], str]:
    conn = Tcp(server=server, sport=443)
    frames = conn.exchange(
        (True, record(client_hello(sni))), (False, record(server_hello() + chain))
    )
    found = events(tmp_path, frames)
    hello = next(e for e in found if isinstance(e, TlsClientHello))
    return [f for e in found for f in facts_of(e)], hello.ja4


def test_self_signed_device_certificate(tmp_path: Path) -> None:
    device = certificate(("SIMATIC S7-1500", "Siemens"), ("SIMATIC S7-1500", "Siemens"))
    found, ja4 = session(tmp_path, "plc-7.plant.local", certificates(device))
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
    found, _ja4 = session(tmp_path, "historian.plant.example", certificates(leaf, ca))
    names = {(a, v) for a, v, ip, _m, _r in observed(found) if ip == SERVER}
    # the leaf's CN is a host name; its O is the owner (CA-issued), and the CA's names are not
    # the server's
    assert names == {
        ("hostname", "historian.plant.example"),
    }


def test_internet_server_names_are_not_inventory(tmp_path: Path) -> None:
    public = "93.184.216.34"
    leaf = certificate(("www.example.com", "Example Inc"), ("Some CA", "Some CA Org"))
    found, ja4 = session(tmp_path, "www.example.com", certificates(leaf), server=public)
    assert observed(found) == {("ja4", ja4, CLIENT, None, 60)}  # the client's fingerprint only
    assert acts(found) == [("tls", "session", "client-hello", CLIENT, public)]
