"""S7comm / COTP / S7comm-plus on hand-made messages: parsing, pairing, reassembly, probing."""

from __future__ import annotations

import contextlib
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.capture.writer import PcapWriter
from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.events import Event
from otsight.core.plugins import FlowContext
from otsight.pipeline.runner import analyze
from otsight.protocols.registry import PORT_BONUS, THRESHOLD, DissectorSelector
from otsight.protocols.s7comm import parser
from otsight.protocols.s7comm.dissector import S7Dissector
from otsight.protocols.s7comm.events import (
    S7Connection,
    S7Malformed,
    S7PlusMessage,
    S7Request,
    S7Response,
    S7UserData,
)
from otsight.testing.corpus import shared_data
from otsight.testing.packets import tcp_frame

PLC, PG = "192.0.2.10", "192.0.2.20"


# --------------------------------------------------------------------------- builders
def tpkt(payload: bytes) -> bytes:
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def dt(s7: bytes, eot: bool = True, nr: int = 0) -> bytes:
    return tpkt(bytes([2, 0xF0, (0x80 if eot else 0) | nr]) + s7)


def cr(src_tsap: bytes, dst_tsap: bytes, confirm: bool = False) -> bytes:
    params = b"\xc0\x01\x0a" + b"\xc1" + bytes([len(src_tsap)]) + src_tsap
    params += b"\xc2" + bytes([len(dst_tsap)]) + dst_tsap
    body = bytes([0xD0 if confirm else 0xE0]) + b"\x00\x00\x00\x01\x00" + params
    return tpkt(bytes([len(body)]) + body)


def s7(
    rosctr: int, ref: int, param: bytes, data: bytes = b"", err: tuple[int, int] = (0, 0)
) -> bytes:
    head = struct.pack("!BBHHHH", 0x32, rosctr, 0, ref, len(param), len(data))
    if rosctr in (2, 3):
        head += bytes(err)
    return head + param + data


def setup_comm(pdu_len: int = 480) -> bytes:
    return b"\xf0\x00" + struct.pack("!HHH", 1, 1, pdu_len)


def read_var_item(area: int, db: int, byte: int, count: int, tsize: int = 2) -> bytes:
    addr = (byte << 3).to_bytes(3, "big")
    return b"\x12\x0a\x10" + struct.pack("!BHHB", tsize, count, db, area) + addr


def userdata(
    ref: int,
    utype: int,
    group: int,
    sub: int,
    payload: bytes,
    seq: int = 0,
    dur: int = 0,
    last: bool = True,
    rc: int = 0xFF,
) -> bytes:
    if utype == 4:
        param = bytes([0, 1, 0x12, 4, 0x11, (utype << 4) | group, sub, seq])
    else:
        param = bytes(
            [0, 1, 0x12, 8, 0x12, (utype << 4) | group, sub, seq, dur, 0 if last else 1, 0, 0]
        )
    data = bytes([rc, 0x09]) + struct.pack("!H", len(payload)) + payload
    return s7(7, ref, param, data)


def szl_0011_response() -> bytes:
    def rec(index: int, mlfb: str, ausbg: int, ausbe: int) -> bytes:
        return (
            struct.pack("!H", index)
            + mlfb.ljust(20).encode()
            + struct.pack("!HHH", 0, ausbg, ausbe)
        )

    records = rec(1, "6ES7 315-2EH14-0AB0", 0, 1) + rec(6, "6ES7 315-2EH14-0AB0", 0, 1)
    records += rec(7, "", 0x5603, 0x0204)
    return struct.pack("!HHHH", 0x0011, 0, 28, 3) + records


def szl_001c_response() -> bytes:
    def rec(index: int, text: str) -> bytes:
        return struct.pack("!H", index) + text.encode().ljust(32, b"\x00")

    records = rec(1, "PLC-A") + rec(5, "S C-X4U421302009") + rec(7, "CPU 315-2 PN/DP")
    return struct.pack("!HHHH", 0x001C, 0, 34, 3) + records


def feed(d: S7Dissector, direction: int, data: bytes, frame: int = 1) -> list[Event]:
    return list(d.on_data(direction, data, frame * 1_000_000, frame))


def dissector() -> S7Dissector:
    return S7Dissector(FlowContext(1, 6, PG, 50000, PLC, 102))


# --------------------------------------------------------------------------- parser
def test_tpkt_framing() -> None:
    msg = dt(s7(1, 1, setup_comm()))
    assert parser.tpkt_length(msg) == len(msg)
    with pytest.raises(NeedMoreData):
        parser.tpkt_length(msg[:2])
    with pytest.raises(Malformed):
        parser.tpkt_length(b"\x04\x00\x00\x10")
    with pytest.raises(Malformed):
        parser.tpkt_length(b"\x03\x00\x00\x03")


def test_cotp_connection_request_tsaps() -> None:
    c = parser.parse_cotp(cr(b"\x01\x00", b"\x01\x02"))
    assert c.pdu_type == parser.COTP_CR
    assert (c.src_tsap, c.dst_tsap, c.tpdu_size) == (b"\x01\x00", b"\x01\x02", 1024)
    assert parser.tsap_rack_slot(c.dst_tsap) == (0, 2)
    assert parser.tsap_text(b"SIMATIC-ROOT-ES") == "SIMATIC-ROOT-ES"


def test_setup_communication_and_read_var_items() -> None:
    p = parser.parse_s7(s7(1, 7, setup_comm(960)))
    assert (p.rosctr, p.pdu_ref, p.function_code, p.pdu_length, p.max_amq_calling) == (
        1,
        7,
        0xF0,
        960,
        1,
    )
    items = read_var_item(0x84, 5, 12, 4) + read_var_item(0x83, 0, 100, 2, 4)
    p = parser.parse_s7(s7(1, 8, b"\x04\x02" + items))
    assert p.item_count == 2
    assert p.items[0] == {
        "syntax": "s7any",
        "area": "data-block",
        "area_code": 0x84,
        "db_number": 5,
        "address": 12,
        "bit": 0,
        "length": 4,
        "transport_size": "byte",
    }
    assert p.items[1]["area"] == "flags"
    assert p.items[1]["transport_size"] == "word"


def test_ack_data_error_and_return_codes() -> None:
    data = b"\xff\x04\x00\x20" + b"\x01\x02\x03\x04" + b"\x0a\x00\x00\x00"
    p = parser.parse_s7(s7(3, 8, b"\x04\x02", data))
    assert p.return_codes == [0xFF, 0x0A]
    p = parser.parse_s7(s7(3, 9, b"", err=(0x81, 0x04)))
    assert (p.error_class, p.error_code, p.function_code) == (0x81, 0x04, None)


def test_block_transfer_and_pi_services() -> None:
    param = b"\x1a\x00\x01\x00\x00\x00\x00\x00\x09_0A00001P\x0d1000128000094"
    p = parser.parse_s7(s7(1, 3, param))
    assert (p.filename, p.block_type, p.block_number, p.file_system) == (
        "_0A00001P",
        "DB",
        1,
        "passive",
    )
    block = b"\x00\x010800001P"
    param = (
        b"\x28\x00\x00\x00\x00\x00\x00\xfd" + struct.pack("!H", len(block)) + block + b"\x05_INSE"
    )
    p = parser.parse_s7(s7(1, 4, param))
    assert (p.pi_service, p.block_type, p.block_number) == ("_INSE", "OB", 1)
    p = parser.parse_s7(s7(1, 5, b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM"))
    assert (p.function_code, p.pi_service) == (0x29, "P_PROGRAM")


def test_szl_module_identification() -> None:
    s = parser.parse_szl_response(szl_0011_response())
    assert (s.szl_id, s.szl_index, s.record_count) == (0x11, 0, 3)
    assert s.identification == {"order_number": "6ES7 315-2EH14-0AB0", "firmware_version": "V3.2.4"}
    s = parser.parse_szl_response(szl_001c_response())
    assert s.identification == {
        "plc_name": "PLC-A",
        "serial_number": "S C-X4U421302009",
        "module_type": "CPU 315-2 PN/DP",
    }


def test_s7plus_header() -> None:
    req = bytes.fromhex("720100183100000542000000070000012034") + bytes(6) + b"\x72\x01\x00\x00"
    p = parser.parse_s7plus(req)
    assert (p.version, p.opcode, p.function_code, p.sequence_number, p.session_id) == (
        1,
        0x31,
        0x542,
        7,
        0x120,
    )
    resp = bytes.fromhex("7202001232000004ca00000001361102874087070000") + b"\x72\x02\x00\x00"
    p = parser.parse_s7plus(resp)
    assert (p.opcode, p.function_code, p.object_ids) == (0x32, 0x4CA, [0x3C0, 0x387])
    v3 = bytes.fromhex("7203002e20") + bytes(32) + bytes.fromhex("31000004bb00000009000003c0")
    p = parser.parse_s7plus(v3)
    assert p.integrity
    assert (p.opcode, p.function_code, p.session_id) == (0x31, 0x4BB, 0x3C0)


# --------------------------------------------------------------------------- dissector
def test_pairing_by_pdu_reference_and_cotp_reassembly() -> None:
    d = dissector()
    [conn] = feed(d, 0, cr(b"\x01\x00", b"\x01\x02"), 1)
    assert isinstance(conn, S7Connection)
    assert (conn.rack, conn.slot, conn.dst_tsap) == (
        0,
        2,
        "0102",
    )
    job = s7(1, 0x1234, b"\x04\x01" + read_var_item(0x84, 1, 0, 2))
    # the job split over two COTP DTs: nothing until EOT
    assert feed(d, 0, dt(job[:9], eot=False, nr=0), 2) == []
    [req] = feed(d, 0, dt(job[9:], eot=True, nr=1), 3)
    assert isinstance(req, S7Request)
    assert req.frame == 3
    assert req.function == "read-var"
    # the ack-data arrives in two TCP segments
    ack = dt(s7(3, 0x1234, b"\x04\x01", b"\xff\x04\x00\x10\x00\x2a"))
    assert feed(d, 1, ack[:5], 4) == []
    [resp] = feed(d, 1, ack[5:], 5)
    assert isinstance(resp, S7Response)
    assert resp.matched
    assert resp.request_frame == 3
    assert resp.return_codes == ("success",)
    assert resp.items is not None
    assert resp.items[0]["db_number"] == 1
    assert resp.dst_ip == PG
    assert resp.action == "read-var"
    [err] = feed(d, 1, dt(s7(3, 0x9999, b"\x29", err=(0x85, 0x00))), 6)
    assert isinstance(err, S7Response)
    assert not err.matched
    assert err.error == "error-on-supplies"


def test_userdata_szl_and_fragment_reassembly() -> None:
    d = dissector()
    [r] = feed(d, 0, dt(userdata(0x300, 4, 4, 1, struct.pack("!HH", 0x0011, 0))), 1)
    assert isinstance(r, S7UserData)
    assert (r.szl_id, r.szl_index, r.action) == (0x11, 0, "read-szl")
    whole = szl_0011_response()
    [a] = feed(d, 1, dt(userdata(0x300, 8, 4, 1, whole[:40], dur=5, last=False)), 2)
    assert isinstance(a, S7UserData)
    assert a.fragment
    assert a.szl_id is None
    assert not a.matched
    [_b] = feed(d, 0, dt(userdata(0x301, 4, 4, 1, b"", dur=5, rc=0x0A)), 3)
    [c] = feed(d, 1, dt(userdata(0x301, 8, 4, 1, whole[40:], dur=5, last=True)), 4)
    assert isinstance(c, S7UserData)
    assert c.szl_id == 0x11
    assert c.szl_list == "module-identification"
    assert c.module_identification == {
        "order_number": "6ES7 315-2EH14-0AB0",
        "firmware_version": "V3.2.4",
    }
    assert c.matched
    assert c.request_frame == 3


def test_userdata_clock_and_block_info() -> None:
    d = dissector()
    clock = bytes.fromhex("00201906151230450003")
    [e] = feed(d, 1, dt(userdata(0x10, 8, 7, 1, clock)), 1)
    assert isinstance(e, S7UserData)
    assert e.clock == "2019-06-15T12:30:45.000"
    assert e.function_group_name == "time-functions"
    assert e.action == "read-clock"
    [b] = feed(d, 0, dt(userdata(0x11, 4, 3, 3, b"0A00007A")), 2)
    assert isinstance(b, S7UserData)
    assert (b.block_type, b.block_number, b.action) == (
        "DB",
        7,
        "get-block-info",
    )
    [u] = feed(d, 0, dt(userdata(0x12, 4, 9, 0x55, b"")), 3)
    assert isinstance(u, S7UserData)
    assert (u.function_group_name, u.subfunction_name) == (
        "unknown-9",
        "unknown-85",
    )


def test_s7plus_events_and_malformed() -> None:
    d = dissector()
    req = bytes.fromhex("720100183100000542000000070000012034") + bytes(6) + b"\x72\x01\x00\x00"
    [e] = feed(d, 0, dt(req), 1)
    assert isinstance(e, S7PlusMessage)
    assert e.function == "set-multi-variables"
    assert e.session_id == 0x120
    resp = bytes.fromhex("7201000b320000054200000007340000") + b"\x72\x01\x00\x00"
    [r] = feed(d, 1, dt(resp), 2)
    assert isinstance(r, S7PlusMessage)
    assert r.matched
    assert r.session_id == 0x120
    assert r.protocol == "s7comm_plus"
    d = dissector()
    [m] = feed(d, 0, dt(b"\x32\x01\x00"), 1)
    assert isinstance(m, S7Malformed)
    out = feed(d, 0, b"\x99\x98" + dt(s7(1, 1, setup_comm())), 2)
    assert [type(x) for x in out] == [S7Request, S7Malformed]


# --------------------------------------------------------------------------- probing
def test_probe_tells_s7_from_s7plus_and_mms() -> None:
    assert parser.looks_like_s7(dt(s7(1, 1, setup_comm()))) >= 0.9
    assert parser.looks_like_s7(dt(bytes.fromhex("72010010310000"))) >= 0.9
    assert parser.looks_like_s7(cr(b"\x01\x00", b"\x01\x02")) >= 0.7
    assert parser.looks_like_s7(cr(b"\x06\x00", b"SIMATIC-ROOT-ES")) >= 0.8
    # MMS (IEC 61850) uses TPKT/COTP on port 102 too: its TSAPs start with 0x00
    assert parser.looks_like_s7(cr(b"\x00\x02", b"\x00\x01")) + PORT_BONUS < THRESHOLD
    assert parser.looks_like_s7(cr(b"\x00\x02", b"\x02\x00")) + PORT_BONUS < THRESHOLD
    assert parser.looks_like_s7(dt(b"\x02\xf0\x80\x0d\x01\x00")) == 0.0  # COTP DT + MMS session


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_payloads_not_claimed(data: bytes) -> None:
    assert S7Dissector.probe(data, 0) + PORT_BONUS < THRESHOLD or (
        data[:2] == b"\x03\x00" and data[5:6] in (b"\xf0", b"\xe0", b"\xd0")
    )


def test_random_port_102_payloads_not_claimed() -> None:
    import random

    rng = random.Random(7)
    for _ in range(2000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
        assert S7Dissector.probe(data, 0) + PORT_BONUS < THRESHOLD


def _capture(path: Path, port: int) -> None:
    frames = [
        tcp_frame(PG, PLC, 40000, port, seq=1, ack=1, payload=cr(b"\x01\x00", b"\x01\x02")),
        tcp_frame(PLC, PG, port, 40000, seq=1, ack=23, payload=cr(b"\x01\x00", b"\x01\x02", True)),
        tcp_frame(PG, PLC, 40000, port, seq=23, ack=23, payload=dt(s7(1, 5, setup_comm()))),
        tcp_frame(PLC, PG, port, 40000, seq=23, ack=48, payload=dt(s7(3, 5, setup_comm(240)))),
    ]
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, f in enumerate(frames):
            w.write(f, 1_700_000_000_000_000_000 + i * 1_000_000)


@pytest.mark.parametrize("port", [102, 10102])
def test_found_by_content_on_any_port(port: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s7.pcap"
        _capture(path, port)
        events: list[Event] = []
        analyze([str(path)], handler_factory=DissectorSelector([S7Dissector], events.append))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["S7Connection", "S7Connection", "S7Request", "S7Response"], kinds
    resp = events[3]
    assert isinstance(resp, S7Response)
    assert resp.frame == 4
    assert resp.pdu_length == 240
    assert resp.matched
    assert resp.ecs()["event"]["action"] == "setup-communication"


def test_it_only_corpus_captures_produce_no_s7_events() -> None:
    root = shared_data()
    if root is None:
        pytest.skip("needs ../shared/data")
    catalog = (root / "CATALOG.md").read_text(encoding="utf-8")
    picked = []
    for line in catalog.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1].endswith(".pcap") and (root / cells[1]).is_file():
            protos = set(cells[4].split(", "))
            it = {"HTTP", "DNS", "TLS", "ARP", "SMB", "NBNS", "DHCP", "SSDP"}
            if protos <= it and protos & {"HTTP", "TLS", "SMB"}:
                picked.append(root / cells[1])  # TCP traffic that is not S7
            elif protos == {"MMS"}:
                picked.append(root / cells[1])  # TPKT/COTP on port 102, but not S7
    if not picked:
        pytest.skip("no IT-only captures in the catalogue")
    assert any("MMS" in str(p) or "mms" in str(p) for p in picked)
    for path in picked[:40]:
        events: list[Event] = []
        analyze([str(path)], handler_factory=DissectorSelector([S7Dissector], events.append))
        assert events == [], path


# --------------------------------------------------------------------------- fuzz
_PARSERS = [
    parser.tpkt_length,
    parser.parse_cotp,
    parser.parse_s7,
    parser.parse_s7plus,
    parser.parse_szl_response,
    parser.parse_szl_request,
    parser.parse_block_request,
    parser.parse_clock,
    parser.looks_like_s7,
]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(range(len(_PARSERS))))
def test_parsers_raise_only_declared_errors(data: bytes, which: int) -> None:
    with contextlib.suppress(NeedMoreData, Malformed):
        _PARSERS[which](data)


_S7_PREFIX = st.sampled_from([b"", b"\x03\x00", dt(b"")[:7], dt(b"\x32")[:8], dt(b"\x72")[:8]])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), _S7_PREFIX, st.binary(max_size=80)), max_size=8))
def test_on_data_never_raises(chunks: list[tuple[int, bytes, bytes]]) -> None:
    d = dissector()
    for i, (direction, prefix, body) in enumerate(chunks):
        data = prefix + body
        if prefix[:2] == b"\x03\x00" and len(data) >= 4:  # make the TPKT length right often
            data = data[:2] + struct.pack("!H", len(data)) + data[4:]
        list(d.on_data(direction, data, i, i + 1))
    list(d.on_end(0))
    d.on_gap(0, 10)
