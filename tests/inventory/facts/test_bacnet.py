"""BACnet facts: device-object properties from read-property(-multiple) acks, I-Am vendors,
devices behind BACnet routers and forwarded messages, request categories."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from otsight.inventory.facts import facts_of
from otsight.protocols.bacnet.events import BacnetMessage
from protocols.bacnet.helpers import app, bvlc, closing, confirmed, ctx, oid, opening, text

from .helpers import CLIENT, SERVER, acts, events, facts, observed, udp

BROADCAST = "192.0.2.255"
PORT = 47808
DEVICE = 8
VENDOR_NAME, MODEL_NAME, FIRMWARE, OBJECT_NAME, VENDOR_ID, LOCATION = 121, 70, 44, 77, 120, 58


def ack_apdu(invoke_id: int, service: int, data: bytes) -> bytes:
    return bytes([0x30, invoke_id, service]) + data


def read_ack(invoke_id: int, prop: int, value: bytes, obj: bytes = oid(DEVICE, 2701)) -> bytes:
    data = ctx(0, obj) + ctx(1, bytes([prop])) + opening(3) + value + closing(3)
    return bvlc(b"\x01\x00" + ack_apdu(invoke_id, 12, data))


def i_am(vendor: int, function: int = 0x0B, prefix: bytes = b"") -> bytes:
    data = (
        app(12, oid(DEVICE, 2701)) + app(2, b"\x05\xc4") + app(9, b"\x03") + app(2, bytes([vendor]))
    )
    return bvlc(b"\x01\x00" + bytes([0x10, 0x00]) + data, function, prefix)


def test_device_object_properties_and_i_am(tmp_path: Path) -> None:
    rpm = (
        ctx(0, oid(DEVICE, 2701))
        + opening(1)
        + ctx(2, bytes([MODEL_NAME]))
        + opening(4)
        + text("Desigo PXC4.E16")
        + closing(4)
        + ctx(2, bytes([OBJECT_NAME]))
        + opening(4)
        + text("AHU1-CTRL")
        + closing(4)
        + closing(1)
    )
    frames = [
        udp(CLIENT, SERVER, PORT, PORT, confirmed(1, 12, ctx(0, oid(DEVICE, 2701)) + ctx(1, b"y"))),
        udp(SERVER, CLIENT, PORT, PORT, read_ack(1, VENDOR_NAME, text("Siemens"))),
        udp(SERVER, CLIENT, PORT, PORT, read_ack(2, FIRMWARE, text("V2.1.100"))),
        udp(SERVER, CLIENT, PORT, PORT, read_ack(3, VENDOR_ID, app(2, b"\x07"))),
        udp(SERVER, CLIENT, PORT, PORT, read_ack(4, LOCATION, text("Roof"))),  # no attribute
        # a string property of another object is not the device's identity
        udp(SERVER, CLIENT, PORT, PORT, read_ack(5, OBJECT_NAME, text("AI-1"), oid(0, 1))),
        # a non-string vendor-name is ignored rather than turned into text
        udp(SERVER, CLIENT, PORT, PORT, read_ack(6, VENDOR_NAME, app(2, b"\x01"))),
        udp(SERVER, CLIENT, PORT, PORT, bvlc(b"\x01\x00" + ack_apdu(7, 14, rpm))),
        udp(SERVER, BROADCAST, PORT, PORT, i_am(7)),
        udp(SERVER, BROADCAST, PORT, PORT, i_am(250)),  # vendor not in the table: nothing
    ]
    found = facts(tmp_path, frames)
    assert {(a, v, ip, r) for a, v, ip, _m, r in observed(found)} == {
        ("vendor", "Siemens", SERVER, 90),
        ("firmware", "V2.1.100", SERVER, 90),
        ("vendor", "Siemens Schweiz AG (Landis & Staefa)", SERVER, 85),
        ("model", "Desigo PXC4.E16", SERVER, 90),
        ("device_name", "AHU1-CTRL", SERVER, 90),
    }
    assert acts(found) == [("bacnet", "read", "read-property", CLIENT, SERVER)]


def test_routed_and_forwarded_devices(tmp_path: Path) -> None:
    # an ack that crossed a BACnet router (SNET 5, SADR 0x07): no IP of its own, no facts
    routed = bvlc(
        b"\x01\x08\x00\x05\x01\x07"
        + ack_apdu(
            1,
            12,
            ctx(0, oid(DEVICE, 9))
            + ctx(1, bytes([MODEL_NAME]))
            + opening(3)
            + text("Remote")
            + closing(3),
        )
    )
    origin = socket.inet_aton("192.0.2.77") + struct.pack("!H", PORT)
    frames = [
        udp(SERVER, CLIENT, PORT, PORT, routed),
        udp(SERVER, BROADCAST, PORT, PORT, i_am(7, function=0x04, prefix=origin)),
    ]
    found = events(tmp_path, frames)
    routed_ack = found[0]
    assert isinstance(routed_ack, BacnetMessage)
    assert (routed_ack.snet, routed_ack.value) == (5, "Remote")  # decoded, then left out
    assert {(a, ip) for a, _v, ip, _m, _r in observed(f for e in found for f in facts_of(e))} == {
        ("vendor", "192.0.2.77")
    }


def test_request_categories(tmp_path: Path) -> None:
    who_is = bvlc(b"\x01\x00" + bytes([0x10, 0x08]), 0x0B)
    write = ctx(0, oid(2, 1)) + ctx(1, b"\x55") + opening(3) + app(4, b"\x42\x48\x00\x00")
    write += closing(3)
    frames = [
        udp(CLIENT, BROADCAST, PORT, PORT, who_is),
        udp(SERVER, BROADCAST, PORT, PORT, i_am(7)),  # an announcement: no activity
        udp(CLIENT, SERVER, PORT, PORT, confirmed(2, 15, write)),
        udp(CLIENT, SERVER, PORT, PORT, confirmed(3, 20, ctx(0, b"\x01"))),
        udp(CLIENT, SERVER, PORT, PORT, confirmed(4, 17, ctx(1, b"\x01"))),
        udp(CLIENT, SERVER, PORT, PORT, confirmed(5, 5, ctx(0, b"\x01") + ctx(1, oid(0, 1)))),
        udp(CLIENT, SERVER, PORT, PORT, confirmed(6, 7, b"")),  # atomic-write-file
    ]
    assert [(c, op, sv) for _p, c, op, _cl, sv in acts(facts(tmp_path, frames))] == [
        ("discovery", "who-is", BROADCAST),
        ("write", "write-property", SERVER),
        ("control", "reinitialize-device", SERVER),
        ("control", "device-communication-control", SERVER),
        ("subscribe", "subscribe-cov", SERVER),
        ("program", "atomic-write-file", SERVER),
    ]
