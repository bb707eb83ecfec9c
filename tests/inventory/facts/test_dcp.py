"""Profinet DCP facts: a station's identify response and hello describe it; identify, get and
set requests are discovery, diagnostic and configure/control activities."""

from __future__ import annotations

import struct
from pathlib import Path

from otsight.testing.packets import ethernet
from protocols.dcp.helpers import block, dcp, ip4

from .helpers import acts, facts, observed

ENG, PLC = "00:0c:29:ba:09:ea", "08:00:06:93:cf:32"
MCAST = "01:0e:cf:00:00:00"
HELLO_MCAST = "01:0e:cf:00:00:01"
PN = 0x8892


def identity_blocks(name: bytes, address: str) -> bytes:
    return (
        block(2, 1, b"\0\0S7-1500")
        + block(2, 2, b"\0\0" + name)
        + block(2, 3, b"\0\0" + struct.pack("!HH", 0x2A, 0x0A01))
        + block(2, 4, b"\0\0\x01\x00")
        + block(1, 2, b"\x00\x01" + ip4(address) + ip4("255.255.255.0") + ip4("192.0.2.1"))
    )


def test_identify_response_and_hello_describe_the_sender(tmp_path: Path) -> None:
    frames = [
        ethernet(MCAST, ENG, PN, dcp(0xFEFE, 5, 0, 7, block(2, 2, b"plc-1"), delay=1)),
        ethernet(ENG, PLC, PN, dcp(0xFEFF, 5, 1, 7, identity_blocks(b"plc-1", "192.0.2.10"))),
        # a hello (a request the station sends about itself), IP not set yet
        ethernet(HELLO_MCAST, PLC, PN, dcp(0xFEFC, 6, 0, 8, identity_blocks(b"plc-1", "0.0.0.0"))),
    ]
    found = facts(tmp_path, frames)
    expected = {
        ("device_name", "plc-1", None, PLC, 80),
        ("model", "S7-1500", None, PLC, 80),
        ("product_code", "0x002a:0x0a01", None, PLC, 80),
        ("device_type", "io-device", None, PLC, 80),
        ("ip", "192.0.2.10", "192.0.2.10", PLC, 80),
    }
    assert observed(found) == expected
    # the identify request's name filter is not the requester's name
    assert not any(o[3] == ENG for o in observed(found))
    assert acts(found) == [("pn_dcp", "discovery", "identify-request", ENG, MCAST)]


def test_set_requests(tmp_path: Path) -> None:
    set_name = dcp(0xFEFD, 4, 0, 8, block(2, 2, b"\0\x01evil-plc") + block(5, 2, b"\0\0"))
    set_ip = dcp(0xFEFD, 4, 0, 9, block(1, 2, b"\0\0" + ip4("10.6.6.6") + ip4("255.0.0.0")
                                          + ip4("10.0.0.1")))  # fmt: skip
    reset = dcp(0xFEFD, 4, 0, 10, block(5, 6, struct.pack("!H", 4 << 1)))
    signal = dcp(0xFEFD, 4, 0, 11, block(5, 3, b"\0\0\x01\x00"))
    set_resp = dcp(0xFEFD, 4, 1, 8, block(5, 4, b"\x02\x02\x00"))
    get = dcp(0xFEFD, 3, 0, 12, b"\x02\x02\x01\x02")
    frames = [
        ethernet(PLC, ENG, PN, set_name),
        ethernet(ENG, PLC, PN, set_resp),
        ethernet(PLC, ENG, PN, set_ip),
        ethernet(PLC, ENG, PN, reset),
        ethernet(PLC, ENG, PN, signal),
        ethernet(PLC, ENG, PN, get),
    ]
    found = facts(tmp_path, frames)
    assert acts(found) == [
        ("pn_dcp", "configure", "set-request", ENG, PLC),
        ("pn_dcp", "configure", "set-request", ENG, PLC),
        ("pn_dcp", "control", "set-request", ENG, PLC),
        ("pn_dcp", "diagnostic", "set-request", ENG, PLC),
        ("pn_dcp", "diagnostic", "get-request", ENG, PLC),
    ]
    assert not observed(found)  # what a Set asks for is not what the device is
