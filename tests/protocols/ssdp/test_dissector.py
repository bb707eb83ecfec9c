"""SSDP dissector on hand-made datagrams."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.core.plugins import FlowContext
from otsight.protocols.registry import PORT_BONUS, THRESHOLD
from otsight.protocols.ssdp import SsdpDissector
from otsight.protocols.ssdp.events import SsdpMalformed, SsdpMessage
from otsight.protocols.ssdp.parser import looks_like_ssdp

FLOW = FlowContext(1, 17, "192.0.2.5", 51000, "239.255.255.250", 1900)
NOTIFY = (
    b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
    b"CACHE-CONTROL: max-age=1800\r\nLOCATION: http://192.0.2.9:80/desc.xml\r\n"
    b"NT: urn:schemas-upnp-org:device:Basic:1\r\nNTS: ssdp:alive\r\n"
    b"SERVER: Linux/3.10 UPnP/1.0 Siemens-SCALANCE/4.1\r\n"
    b"USN: uuid:2f402f80-da50-11e1-9b23-001b1b343411::urn:schemas-upnp-org:device:Basic:1\r\n\r\n"
)
SEARCH = (
    b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
    b"MX: 1\r\nST: ssdp:all\r\nUSER-AGENT: Chromium/99 Windows\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age = 120\r\nST: upnp:rootdevice\r\n"
    b"USN: uuid:abc::upnp:rootdevice\r\nEXT:\r\nSERVER: WAGO/1.0 UPnP/1.0\r\n"
    b"Location: http://192.0.2.10:49152/rootDesc.xml\r\n\r\n"
)


def one(data: bytes) -> SsdpMessage:
    (event,) = SsdpDissector(FLOW).on_data(0, data, 2_000_000_000, 4)
    assert isinstance(event, SsdpMessage)
    return event


def test_notify() -> None:
    e = one(NOTIFY)
    assert e.kind == "notify"
    assert e.action == "notify-alive"
    assert e.max_age == 1800
    assert e.location == "http://192.0.2.9:80/desc.xml"
    assert e.server == "Linux/3.10 UPnP/1.0 Siemens-SCALANCE/4.1"
    assert e.uuid == "2f402f80-da50-11e1-9b23-001b1b343411"
    assert e.nt == "urn:schemas-upnp-org:device:Basic:1"


def test_search_and_response() -> None:
    e = one(SEARCH)
    assert (e.method, e.st, e.man, e.mx) == ("M-SEARCH", "ssdp:all", '"ssdp:discover"', "1")
    assert e.user_agent == "Chromium/99 Windows"
    r = one(RESPONSE)
    assert (r.kind, r.status_code, r.max_age, r.uuid) == ("response", 200, 120, "abc")
    assert r.location == "http://192.0.2.10:49152/rootDesc.xml"  # header names ignore case
    assert r.headers is not None
    assert r.headers["ext"] == ""


def test_garbage_on_a_claimed_flow_is_malformed() -> None:
    d = SsdpDissector(FLOW)
    (event,) = d.on_data(0, b"\x00\x01binary", 0, 1)
    assert isinstance(event, SsdpMalformed)
    assert d.malformed == 1


def test_probe() -> None:
    assert looks_like_ssdp(NOTIFY) + PORT_BONUS >= THRESHOLD
    assert looks_like_ssdp(SEARCH) >= THRESHOLD  # found on any port (Plex GDM uses 32412)
    assert looks_like_ssdp(RESPONSE) + PORT_BONUS >= THRESHOLD
    plain_http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    assert looks_like_ssdp(plain_http) + PORT_BONUS < THRESHOLD
    rng = random.Random(11)
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(1, 300))
        assert SsdpDissector.probe(data, 0) + PORT_BONUS < THRESHOLD


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.sampled_from([NOTIFY, SEARCH, RESPONSE]).flatmap(
    lambda m: st.integers(0, len(m)).map(lambda n: m[:n]))))  # fmt: skip
def test_never_raises(data: bytes) -> None:
    list(SsdpDissector(FLOW).on_data(0, data, 0, 1))
