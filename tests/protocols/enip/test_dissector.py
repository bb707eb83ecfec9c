"""EtherNet/IP + CIP on hand-made traffic: encapsulation, identity, CIP paths, pairing."""

from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import TypeVar

import pytest

from otsight.core.events import Event
from otsight.protocols.enip import EnipDissector, EnipUdpDissector
from otsight.protocols.enip.codes import service_name, vendor_name
from otsight.protocols.enip.events import (
    CipRequest,
    CipResponse,
    EnipListIdentity,
    EnipMalformed,
    EnipMessage,
)
from otsight.protocols.enip.parser import parse_path
from otsight.protocols.registry import PORT_BONUS, THRESHOLD
from otsight.testing.corpus import shared_data

from .helpers import (
    cpf,
    encap,
    identity_item,
    logical,
    request,
    response,
    rr_data,
    run,
    symbol,
    tcp_capture,
    udp_capture,
    unit_data,
)

REGISTER = encap(0x0065, struct.pack("<HH", 1, 0))


T = TypeVar("T", bound=Event)


def of(events: list[Event], kind: type[T]) -> list[T]:
    return [e for e in events if type(e) is kind]


def test_register_session_and_get_attribute_single(tmp_path: Path) -> None:
    get = request(0x0E, logical(0xF5, 1, 5))
    path = tcp_capture(
        tmp_path / "a.pcap",
        [
            (0, REGISTER),
            (1, encap(0x0065, struct.pack("<HH", 1, 0), session=0x1234)),
            (0, rr_data(get, context=b"AAAAAAAA")),
            (1, rr_data(response(0x0E, 0, b"\xc0\xa8\x01\x01"), context=b"AAAAAAAA")),
        ],
    )
    events = run(path)
    msgs = of(events, EnipMessage)
    assert [m.command_name for m in msgs] == ["register-session"] * 2 + ["send-rr-data"] * 2
    assert msgs[1].session_handle == 0x1234
    assert msgs[2].items == (0x0000, 0x00B2)
    (req,) = of(events, CipRequest)
    assert (req.service, req.class_id, req.class_name, req.instance, req.attribute) == (
        "get-attribute-single",
        0xF5,
        "tcp-ip-interface",
        1,
        5,
    )
    assert req.sender_context == b"AAAAAAAA".hex()
    assert req.frame == 6
    (resp,) = of(events, CipResponse)
    assert resp.matched
    assert resp.request_frame == 6
    assert resp.frame == 7
    assert resp.latency == pytest.approx(0.001)
    assert (resp.general_status, resp.status, resp.class_id, resp.attribute) == (
        0,
        "success",
        0xF5,
        5,
    )
    assert resp.ecs()["event"]["action"] == "get-attribute-single"


def test_error_status_and_unmatched_context(tmp_path: Path) -> None:
    path = tcp_capture(
        tmp_path / "a.pcap",
        [
            (0, rr_data(request(0x10, logical(0x01, 1, 7), b"x"), context=b"11111111")),
            (1, rr_data(response(0x10, 0x0E, ext=(0x0102,)), context=b"22222222")),
        ],
    )
    (resp,) = of(run(path), CipResponse)
    assert not resp.matched
    assert resp.class_id is None
    assert (resp.general_status, resp.status, resp.extended_status) == (
        0x0E,
        "attribute-not-settable",
        (0x0102,),
    )
    assert resp.service == "set-attribute-single"


def test_list_identity_over_udp(tmp_path: Path) -> None:
    reply = encap(0x0063, cpf((0x000C, identity_item())), context=b"\x01" * 8)
    path = udp_capture(tmp_path / "u.pcap", [(0, encap(0x0063)), (1, reply)])
    events = run(path)
    assert [m.command_name for m in of(events, EnipMessage)] == ["list-identity"] * 2
    (ident,) = of(events, EnipListIdentity)
    assert ident.transport == "udp"
    assert ident.src_ip == "192.0.2.20"
    assert (ident.vendor_id, ident.vendor) == (1, "Rockwell Automation/Allen-Bradley")
    assert (ident.device_type, ident.device_type_name) == (0x0E, "programmable-logic-controller")
    assert (ident.product_code, ident.revision, ident.serial_number) == (55, "20.11", "00c0ffee")
    assert ident.product_name == "1756-L61/B LOGIX5561"
    assert (ident.socket_address, ident.socket_port, ident.state) == ("192.0.2.20", 44818, 3)


def test_vendor_table_fallback() -> None:
    assert vendor_name(1) == "Rockwell Automation/Allen-Bradley"
    assert vendor_name(47) == "Omron"
    assert vendor_name(243) == "Schneider Automation"
    assert vendor_name(60000) == "unknown-60000"


def test_paths_16_32_bit_and_symbols() -> None:
    p = parse_path(logical(0x1234, 0x56789, 0x300))
    assert (p.class_id, p.instance, p.attribute) == (0x1234, 0x56789, 0x300)
    p = parse_path(symbol("Program:Main") + symbol("Motor_Speed") + bytes([0x28, 3]))
    assert p.symbol == "Program:Main.Motor_Speed"
    assert p.member == 3
    p = parse_path(bytes([0x01, 0x00]) + logical(0x02, 1))  # port 1, slot 0
    assert p.ports == [(1, b"\x00")]
    assert p.class_id == 2


def test_logix_read_write_tag_services(tmp_path: Path) -> None:
    read = request(0x4C, symbol("Tank_Level"), struct.pack("<H", 1))
    write = request(0x4D, symbol("Valve"), struct.pack("<HHH", 0xC1, 1, 1))
    path = tcp_capture(
        tmp_path / "t.pcap",
        [
            (0, rr_data(read, context=b"r0000001")),
            (1, rr_data(response(0x4C, 0, b"\xc4\x00\x2a\x00\x00\x00"), context=b"r0000001")),
            (0, rr_data(write, context=b"w0000001")),
            (1, rr_data(response(0x4D), context=b"w0000001")),
        ],
    )
    events = run(path)
    reqs = of(events, CipRequest)
    assert [(r.service, r.symbol) for r in reqs] == [
        ("read-tag", "Tank_Level"),
        ("write-tag", "Valve"),
    ]
    resps = of(events, CipResponse)
    assert [(r.service, r.symbol, r.matched) for r in resps] == [
        ("read-tag", "Tank_Level", True),
        ("write-tag", "Valve", True),
    ]
    assert service_name(0x4E, 0x06) == "forward-close"
    assert service_name(0x52, 0x06) == "unconnected-send"
    assert service_name(0x52, None, symbolic=True) == "read-tag-fragmented"


def test_unconnected_send_unwraps_embedded_request(tmp_path: Path) -> None:
    inner = request(0x01, logical(0x01, 1))
    us = request(
        0x52,
        logical(0x06, 1),
        bytes([0x07, 0xE9]) + struct.pack("<H", len(inner)) + inner + bytes([1, 0, 1, 0]),
    )
    path = tcp_capture(
        tmp_path / "u.pcap",
        [
            (0, rr_data(us, context=b"us000001")),
            (1, rr_data(response(0x01, 0, b"\x01\x00"), context=b"us000001")),
        ],
    )
    events = run(path)
    outer, embedded = of(events, CipRequest)
    assert (outer.service, outer.class_name, outer.route) == (
        "unconnected-send",
        "connection-manager",
        "port 1/0",
    )
    assert (embedded.service, embedded.class_name, embedded.parent_service) == (
        "get-attribute-all",
        "identity",
        "unconnected-send",
    )
    (resp,) = of(events, CipResponse)
    assert (resp.service, resp.class_name, resp.matched, resp.parent_service) == (
        "get-attribute-all",
        "identity",
        True,
        "unconnected-send",
    )


def test_multiple_service_packet(tmp_path: Path) -> None:
    subs = [
        request(0x0E, logical(0x01, 1, 7)),
        request(0x03, logical(0xF6, 1), b"\x02\x00\x01\x00\x02\x00"),
    ]
    offsets, off = [], 2 + 2 * len(subs)
    for s in subs:
        offsets.append(off)
        off += len(s)
    msp = request(
        0x0A, logical(0x02, 1), struct.pack(f"<H{len(subs)}H", len(subs), *offsets) + b"".join(subs)
    )
    rsubs = [response(0x0E, 0, b"\x04\x00AB"), response(0x03, 0x05)]
    roffs, off = [], 2 + 2 * len(rsubs)
    for s in rsubs:
        roffs.append(off)
        off += len(s)
    mresp = response(0x0A, 0x1E, struct.pack("<HHH", 2, *roffs) + b"".join(rsubs))
    path = tcp_capture(
        tmp_path / "m.pcap",
        [(0, rr_data(msp, context=b"m0000001")), (1, rr_data(mresp, context=b"m0000001"))],
    )
    events = run(path)
    reqs = of(events, CipRequest)
    assert [r.service for r in reqs] == [
        "multiple-service-packet",
        "get-attribute-single",
        "get-attribute-list",
    ]
    assert reqs[2].attributes == (1, 2)
    assert reqs[2].class_name == "ethernet-link"
    resps = of(events, CipResponse)
    assert [(r.service, r.general_status, r.class_id) for r in resps] == [
        ("multiple-service-packet", 0x1E, 0x02),
        ("get-attribute-single", 0, 0x01),
        ("get-attribute-list", 5, 0xF6),
    ]
    assert resps[1].attribute == 7
    assert resps[2].parent_service == "multiple-service-packet"


def _forward_open(ot: int, to: int) -> bytes:
    body = struct.pack(
        "<BBIIHHIB3xIHIHB",
        0x0A,
        0x0E,
        ot,
        to,
        0x4242,
        1,
        0xDEADBEEF,
        1,
        2_000_000,
        0x43F4,
        2_000_000,
        0x43F4,
        0xA3,
    )
    conn_path = bytes([0x01, 0x00]) + logical(0x02, 1)
    return request(0x54, logical(0x06, 1), body + bytes([len(conn_path) // 2]) + conn_path)


def test_forward_open_then_connected_messaging(tmp_path: Path) -> None:
    fo_reply = response(
        0x54,
        0,
        struct.pack(
            "<IIHHIIIBB", 0x1111, 0x2222, 0x4242, 1, 0xDEADBEEF, 2_000_000, 2_000_000, 0, 0
        ),
    )
    get = request(0x0E, logical(0x01, 1, 1))
    path = tcp_capture(
        tmp_path / "fo.pcap",
        [
            (0, rr_data(_forward_open(0, 0x2222), context=b"fo000001")),
            (1, rr_data(fo_reply, context=b"fo000001")),
            (0, unit_data(get, 0x1111, 7)),
            (1, unit_data(response(0x0E, 0, b"\x01\x00"), 0x2222, 7)),
            (0, unit_data(get, 0x1111, 8)),
        ],
    )
    events = run(path)
    fo_req = of(events, CipRequest)[0]
    assert fo_req.service == "forward-open"
    assert (fo_req.to_connection_id, fo_req.connection_serial, fo_req.originator_vendor_id) == (
        0x2222,
        0x4242,
        1,
    )
    assert (fo_req.originator_serial, fo_req.ot_rpi, fo_req.to_rpi) == (
        0xDEADBEEF,
        2_000_000,
        2_000_000,
    )
    fo_resp, get_resp = of(events, CipResponse)
    assert fo_resp.matched
    assert (fo_resp.ot_connection_id, fo_resp.to_connection_id) == (
        0x1111,
        0x2222,
    )
    assert fo_resp.ot_api == 2_000_000
    assert get_resp.matched
    assert get_resp.request_frame == 6
    assert get_resp.sequence == 7
    assert (get_resp.class_name, get_resp.attribute, get_resp.connection_id) == (
        "identity",
        1,
        0x2222,
    )
    assert get_resp.connection_path == "port 1/0, class 0x2, instance 1"
    assert of(events, CipRequest)[-1].sequence == 8


def test_segmented_and_coalesced_tcp(tmp_path: Path) -> None:
    msgs = [rr_data(request(0x0E, logical(0x01, 1, a)), context=b"s%07d" % a) for a in (1, 2, 3)]
    stream = msgs[1] + msgs[2]
    path = tcp_capture(
        tmp_path / "s.pcap",
        [(0, msgs[0]), (0, stream[:10]), (0, stream[10:30]), (0, stream[30:])],
    )
    reqs = of(run(path), CipRequest)
    # a message is reported at the frame that completes it; two complete in the last frame
    assert [(r.attribute, r.frame) for r in reqs] == [(1, 4), (2, 7), (3, 7)]


def test_garbage_is_skipped_and_counted(tmp_path: Path) -> None:
    good = rr_data(request(0x0E, logical(0x01, 1, 1)))
    path = tcp_capture(tmp_path / "g.pcap", [(0, REGISTER), (0, b"\xff" * 7 + good)])
    events = run(path)
    assert len(of(events, EnipMalformed)) == 1
    assert len(of(events, CipRequest)) == 1


def test_non_standard_port_found_by_content(tmp_path: Path) -> None:
    path = tcp_capture(
        tmp_path / "p.pcap",
        [(0, REGISTER), (0, rr_data(request(0x01, logical(0x01, 1))))],
        dport=2000,
    )
    events = run(path)
    assert [e.command_name for e in of(events, EnipMessage)] == ["register-session", "send-rr-data"]
    assert EnipDissector.probe(REGISTER, 0) >= THRESHOLD
    udp = udp_capture(tmp_path / "q.pcap", [(0, encap(0x0063))], dport=3000)
    assert [e.command_name for e in of(run(udp), EnipMessage)] == ["list-identity"]


def test_random_payloads_not_claimed() -> None:
    rng = random.Random(44818)
    for _ in range(2000):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        for cls in (EnipDissector, EnipUdpDissector):
            assert cls.probe(data, 0) + PORT_BONUS < THRESHOLD
    assert EnipDissector.probe(b"\0" * 24, 0) + PORT_BONUS < THRESHOLD  # a nop of zeros
    assert EnipDissector.probe(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0) == 0


IT_CAPTURES = [
    "pcaps/OISF_suricata-verify/sip-method/sip.pcap",
    "pcaps/ntop_nDPI/pcap/alexa-app.pcapng",
    "pcaps/the-tcpdump-group_tcpdump/dhcp-rfc4388.pcap",
]


@pytest.mark.parametrize("name", IT_CAPTURES)
def test_it_captures_give_no_enip(name: str) -> None:
    root = shared_data()
    if root is None or not (root / name).exists():
        pytest.skip("shared corpus not present")
    assert run(root / name) == []
