"""BACnet/IP dissector: BVLC, NPDU, APDU types, services, pairing, probing."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from otsight.core.events import Event
from otsight.protocols.bacnet.codes import object_type_name, property_name, vendor_name
from otsight.protocols.bacnet.dissector import BacnetDissector
from otsight.protocols.bacnet.events import BacnetIAm, BacnetMalformed, BacnetMessage
from otsight.protocols.registry import PORT_BONUS, THRESHOLD

from .helpers import (
    app,
    bvlc,
    closing,
    complex_ack,
    confirmed,
    ctx,
    oid,
    opening,
    run,
    text,
    udp_capture,
    unconfirmed,
)


def msgs(events: list[Event]) -> list[BacnetMessage]:
    return [e for e in events if isinstance(e, BacnetMessage)]


def test_read_property_pairs_and_exposes_identity_strings(tmp_path: Path) -> None:
    req = confirmed(7, 12, ctx(0, oid(8, 1234)) + ctx(1, bytes([70])))
    ack = complex_ack(
        7, 12, ctx(0, oid(8, 1234)) + ctx(1, bytes([70])) + opening(3) + text("NAE-55") + closing(3)
    )
    m = msgs(run(udp_capture(tmp_path / "rp.pcap", [(0, req), (1, ack)])))
    assert [x.apdu_type_name for x in m] == ["confirmed-request", "complex-ack"]
    assert m[0].object_type_name == "device"
    assert m[0].object_instance == 1234
    assert m[0].property_name == "model-name"
    assert m[1].value == "NAE-55"
    assert m[1].matched
    assert m[1].request_frame == 1
    assert m[1].latency == pytest.approx(0.001)


def test_i_am_and_who_is(tmp_path: Path) -> None:
    iam = unconfirmed(
        0,
        app(12, oid(8, 4001)) + app(2, struct.pack(">H", 1476)) + app(9, b"\x03") + app(2, b"\x05"),
    )
    who = unconfirmed(8, ctx(0, b"\x0a") + ctx(1, b"\x01\x00"))
    events = run(udp_capture(tmp_path / "i.pcap", [(0, who), (1, iam)]))
    assert events[0].action == "who-is"
    assert isinstance(events[0], BacnetMessage)
    assert (events[0].low_limit, events[0].high_limit) == (10, 256)
    i = events[1]
    assert isinstance(i, BacnetIAm)
    assert (i.device_instance, i.max_apdu, i.segmentation) == (4001, 1476, "none")
    assert (i.vendor_id, i.vendor_name) == (5, "Johnson Controls")


def test_write_property_and_multiple(tmp_path: Path) -> None:
    wp = confirmed(
        1,
        15,
        ctx(0, oid(1, 3))
        + ctx(1, bytes([85]))
        + opening(3)
        + app(4, struct.pack(">f", 21.5))
        + closing(3)
        + ctx(4, b"\x08"),
    )
    rpm = confirmed(
        2,
        14,
        ctx(0, oid(8, 9))
        + opening(1)
        + ctx(0, bytes([77]))
        + ctx(0, bytes([121]))
        + closing(1)
        + ctx(0, oid(0, 1))
        + opening(1)
        + ctx(0, bytes([85]))
        + closing(1),
    )
    ack = complex_ack(
        2,
        14,
        ctx(0, oid(8, 9))
        + opening(1)
        + ctx(2, bytes([77]))
        + opening(4)
        + text("dev")
        + closing(4)
        + ctx(2, bytes([121]))
        + opening(4)
        + text("ACME")
        + closing(4)
        + closing(1),
    )
    m = msgs(run(udp_capture(tmp_path / "w.pcap", [(0, wp), (0, rpm), (1, ack)])))
    assert (m[0].service, m[0].object_type_name, m[0].property_name) == (
        "write-property",
        "analog-output",
        "present-value",
    )
    assert m[0].value == 21.5
    assert m[0].priority_level == 8
    assert m[1].objects == ("device,9", "analog-input,1")
    assert m[1].properties == ("object-name", "vendor-name", "present-value")
    assert m[2].values == (("device,9", "object-name", "dev"), ("device,9", "vendor-name", "ACME"))
    assert m[2].matched


def test_reinitialize_and_dcc_never_keep_the_password(tmp_path: Path) -> None:
    secret = b"\x00hunter2"
    reinit = confirmed(3, 20, ctx(0, b"\x01") + bytes([0x1D, len(secret)]) + secret)
    dcc = confirmed(4, 17, ctx(0, b"\x3c") + ctx(1, b"\x01"))
    simple = bvlc(b"\x01\x00" + bytes([0x20, 3, 20]))
    m = msgs(run(udp_capture(tmp_path / "r.pcap", [(0, reinit), (1, simple), (0, dcc)])))
    assert (m[0].reinitialize_state, m[0].password_present) == ("warmstart", True)
    assert "hunter2" not in repr(m[0].ecs())
    assert m[1].apdu_type_name == "simple-ack"
    assert m[1].matched
    assert m[1].request_service == "reinitialize-device"
    assert (m[2].communication_state, m[2].duration_minutes, m[2].password_present) == (
        "disable",
        60,
        False,
    )


def test_file_time_sync_cov_error_reject_abort(tmp_path: Path) -> None:
    read_file = confirmed(
        5, 6, app(12, oid(10, 1)) + opening(0) + app(3, b"\x00") + app(2, b"\x40") + closing(0)
    )
    write_file = confirmed(
        6, 7, app(12, oid(10, 1)) + opening(0) + app(3, b"\x10") + app(6, b"abcdef") + closing(0)
    )
    tsync = unconfirmed(6, app(10, bytes([124, 6, 15, 6])) + app(11, bytes([12, 30, 0, 0])))
    cov = confirmed(8, 5, ctx(0, b"\x11") + ctx(1, oid(0, 2)) + ctx(3, b"\x78"))
    err = bvlc(b"\x01\x00" + bytes([0x50, 8, 5]) + app(9, b"\x02") + app(9, b"\x20"))
    rej = bvlc(b"\x01\x00" + bytes([0x60, 9, 9]))
    abort = bvlc(b"\x01\x00" + bytes([0x71, 10, 4]))
    m = msgs(
        run(
            udp_capture(
                tmp_path / "f.pcap",
                [
                    (0, read_file),
                    (0, write_file),
                    (0, tsync),
                    (0, cov),
                    (1, err),
                    (1, rej),
                    (1, abort),
                ],
            )
        )
    )
    assert (m[0].file_access, m[0].file_start, m[0].file_count) == ("stream", 0, 64)
    assert (m[1].file_start, m[1].file_count, m[1].object_type_name) == (16, 6, "file")
    assert m[2].time == "2024-06-15T12:30:00.00"
    assert (m[3].subscriber_process_id, m[3].lifetime, m[3].object_instance) == (17, 120, 2)
    assert (m[4].error_class, m[4].error_code, m[4].matched) == ("property", 32, True)
    assert (m[5].reason, m[6].reason) == ("unrecognized-service", "segmentation-not-supported")


def test_bvlc_functions_and_routing(tmp_path: Path) -> None:
    fwd = bytes([0x81, 0x04, 0, 0]) + bytes([10, 0, 0, 5, 0xBA, 0xC0]) + b"\x01\x00\x10\x08"
    fwd = fwd[:2] + len(fwd).to_bytes(2, "big") + fwd[4:]
    routed = bvlc(
        b"\x01\x28" + b"\x00\x05\x01\x07" + b"\x00\x02\x01\x09" + b"\xfe" + bytes([0x10, 0x08]),
        0x09,
    )
    reg = bytes([0x81, 0x05, 0, 6, 0, 60])
    net = bvlc(b"\x01\x80\x00\x00\x07", 0x0B)
    m = msgs(run(udp_capture(tmp_path / "b.pcap", [(0, fwd), (0, routed), (0, reg), (0, net)])))
    assert (m[0].bvlc_name, m[0].forwarded_from, m[0].service) == (
        "forwarded-npdu",
        "10.0.0.5:47808",
        "who-is",
    )
    assert (m[1].bvlc_name, m[1].dnet, m[1].dadr, m[1].snet, m[1].sadr, m[1].hop_count) == (
        "distribute-broadcast-to-network",
        5,
        "07",
        2,
        "09",
        254,
    )
    assert (m[2].bvlc_name, m[2].foreign_device_ttl) == ("register-foreign-device", 60)
    assert m[3].network_message == "who-is-router-to-network"


def test_malformed_and_names(tmp_path: Path) -> None:
    bad = bytes([0x81, 0x0A, 0, 6, 0x02, 0x00])  # NPDU version 2
    events = run(udp_capture(tmp_path / "m.pcap", [(0, confirmed(1, 12, b"")), (0, bad)]))
    assert isinstance(events[1], BacnetMalformed)
    assert object_type_name(300) == "proprietary-300"
    assert property_name(600) == "proprietary-600"
    assert property_name(499) == "unknown-499"
    assert vendor_name(99999) is None


def test_non_standard_port_found_by_content(tmp_path: Path) -> None:
    who = unconfirmed(8, b"")
    events = run(udp_capture(tmp_path / "p.pcap", [(0, who)], sport=40000, dport=47809))
    assert [e.action for e in events] == ["who-is"]
    assert BacnetDissector.probe(who, 0) >= THRESHOLD


def test_random_payloads_not_claimed() -> None:
    rng = random.Random(47808)
    for _ in range(3000):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        assert BacnetDissector.probe(data, 0) + PORT_BONUS < THRESHOLD
    assert BacnetDissector.probe(b"\x81\x0a\x00\x05\x01", 0) + PORT_BONUS < THRESHOLD
