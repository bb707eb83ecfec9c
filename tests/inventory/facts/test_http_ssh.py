"""HTTP and SSH facts: Server, User-Agent and Host headers, SSH banners; browsing and logins."""

from __future__ import annotations

import base64
from pathlib import Path

from otsight.inventory.facts import facts_of
from otsight.protocols.http.events import HttpDeviceInfo, HttpResponse

from .helpers import CLIENT, SERVER, Tcp, acts, events, facts, observed

PUBLIC = "93.184.216.34"  # a public address (documentation ranges count as site-local)


def test_http_headers_and_activities(tmp_path: Path) -> None:
    auth = base64.b64encode(b"admin:secret").decode()
    request = (
        "GET /status HTTP/1.1\r\nHost: plc-7.plant.local:8080\r\n"
        "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\n"
        f"Authorization: Basic {auth}\r\n\r\n"
    ).encode()
    response = b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.41 (Ubuntu)\r\nContent-Length: 0\r\n\r\n"
    conn = Tcp(sport=80)
    outside = Tcp(server=PUBLIC, cport=49200, sport=80)
    frames = conn.exchange((True, request), (False, response))
    frames += outside.exchange((True, b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"))
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("application", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", CLIENT, None, 40),
        ("os", "Windows", CLIENT, None, 40),
        ("hostname", "plc-7.plant.local", SERVER, None, 40),  # port stripped
        ("application", "Apache/2.4.41 (Ubuntu)", SERVER, None, 60),
        ("os", "Ubuntu", SERVER, None, 40),
    }  # the public server's Host name is not inventory
    assert sorted(acts(found)) == sorted(
        [
            ("http", "browse", "request", CLIENT, SERVER),
            ("http", "login", "cleartext-credential", CLIENT, SERVER),
            ("http", "browse", "request", CLIENT, PUBLIC),
        ]
    )


def test_ssh_banners(tmp_path: Path) -> None:
    conn = Tcp(sport=22)
    frames = conn.exchange(
        (False, b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n"),
        (True, b"SSH-2.0-PuTTY_Release_0.76\r\n"),
    )
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("application", "OpenSSH_8.9p1", SERVER, None, 60),
        ("os", "Ubuntu", SERVER, None, 50),
        ("application", "PuTTY_Release_0.76", CLIENT, None, 60),
    }
    assert acts(found) == [("ssh", "login", "banner", CLIENT, SERVER)]


UPNP = b"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
<friendlyName>Hall &amp; Lobby</friendlyName><manufacturer>Acme</manufacturer>
<modelName>AR-200</modelName><modelNumber>200</modelNumber><serialNumber>SN123</serialNumber>
</device></root>"""
ISAPI = b"""<DeviceInfo xmlns="http://www.hikvision.com/ver20/XMLSchema">
<deviceName>cam-line1</deviceName><model>DS-2CD2143G2-I</model>
<firmwareVersion>V5.7.3 build 220112</firmwareVersion><manufacturer>Hikvision</manufacturer>
</DeviceInfo>"""


def xml_response(body: bytes, chunked: bool = False) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
    if not chunked:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    half = len(body) // 2
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        half,
        body[:half],
        len(body) - half,
        body[half:],
    )
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks


def test_device_description_documents(tmp_path: Path) -> None:
    conn = Tcp(sport=80)
    get = b"GET /desc.xml HTTP/1.1\r\nHost: 192.0.2.10\r\n\r\n"
    big = xml_response(b"<model>X</model><manufacturer>Y</manufacturer>" + b" " * 20_000)
    single = xml_response(b"<model>Lonely</model>")
    html = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 26\r\n\r\n"
    html += b"<model>A</model><x>y</x>  "
    isapi = xml_response(ISAPI, chunked=True)
    frames = conn.exchange(
        (True, get),
        (False, xml_response(UPNP)[:150]),  # the document arrives in two segments
        (False, xml_response(UPNP)[150:]),
        (True, get),
        (False, isapi),
        (True, get),
        (False, big),  # too large for a device description: not read
        (True, get),
        (False, single),  # one element: not a description
        (True, get),
        (False, html),  # not XML
    )
    evs = events(tmp_path, frames)
    assert sum(isinstance(e, HttpResponse) for e in evs) == 5  # framing kept throughout
    documents = [e for e in evs if isinstance(e, HttpDeviceInfo)]
    assert [(d.frame, d.uri) for d in documents] == [(6, "/desc.xml"), (8, "/desc.xml")]
    found = [f for e in evs for f in facts_of(e)]
    info = {(a, v, r) for a, v, ip, _m, r in observed(found) if ip == SERVER and r >= 75}
    assert info == {
        ("device_type", "MediaRenderer", 80),
        ("device_name", "Hall & Lobby", 80),
        ("vendor", "Acme", 80),
        ("model", "AR-200", 80),
        ("product_code", "200", 80),
        ("serial", "SN123", 80),
        ("device_name", "cam-line1", 80),
        ("model", "DS-2CD2143G2-I", 80),
        ("firmware", "V5.7.3 build 220112", 80),
        ("vendor", "Hikvision", 80),
    }
    assert [op for _p, _c, op, _cl, _sv in acts(found)] == ["request"] * 5
