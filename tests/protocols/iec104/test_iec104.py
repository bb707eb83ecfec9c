"""IEC 60870-5-104 dissector: framing, APCI formats, ASDU fields, commands, probing."""

from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import TypeVar

import pytest

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.events import Event
from otsight.protocols.iec104.codes import TYPES, cause_name, type_name
from otsight.protocols.iec104.dissector import Iec104Dissector
from otsight.protocols.iec104.events import Iec104Apci, Iec104Asdu, Iec104Malformed
from otsight.protocols.iec104.parser import apdu_length, cp56time, parse_asdu
from otsight.protocols.registry import PORT_BONUS, THRESHOLD
from otsight.testing.corpus import shared_data

from .helpers import asdu, i_frame, run, s_frame, tcp_capture, u_frame

T = TypeVar("T", bound=Event)
STARTDT_ACT, STARTDT_CON = u_frame(0x07), u_frame(0x0B)
CP56 = bytes([0x10, 0x27, 30, 12, 15, 6, 24])  # 2024-06-15 12:30:10.000


def of(events: list[Event], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def test_u_and_s_formats(tmp_path: Path) -> None:
    path = tcp_capture(
        tmp_path / "u.pcap",
        [
            (0, STARTDT_ACT),
            (1, STARTDT_CON),
            (0, u_frame(0x43)),
            (1, u_frame(0x83)),
            (0, u_frame(0x13)),
            (1, u_frame(0x23)),
            (0, s_frame(12345)),
        ],
    )
    apci = of(run(path), Iec104Apci)
    assert [a.action for a in apci] == [
        "startdt-act",
        "startdt-con",
        "testfr-act",
        "testfr-con",
        "stopdt-act",
        "stopdt-con",
        "s-frame",
    ]
    assert apci[-1].recv_seq == 12345
    assert apci[-1].format == "S"
    assert (apci[1].src_ip, apci[1].src_port) == ("192.0.2.20", 2404)


def test_interrogation_and_monitor_asdus(tmp_path: Path) -> None:
    gi = asdu(100, 6, 0x1234, [(0, b"\x14")], originator=3)
    measured = asdu(13, 20, 0x1234, [(700, struct.pack("<fB", 1.5, 0)) for _ in range(3)], sq=True)
    spont = asdu(1, 3, 7, [(10, b"\x01"), (20, b"\x00"), (30, b"\x01")])
    path = tcp_capture(
        tmp_path / "gi.pcap",
        [
            (0, STARTDT_ACT),
            (1, STARTDT_CON),
            (0, i_frame(0, 0, gi)),
            (1, i_frame(0, 1, asdu(100, 7, 0x1234, [(0, b"\x14")]))),
            (1, i_frame(1, 1, measured)),
            (1, i_frame(2, 1, spont)),
            (1, i_frame(3, 1, asdu(100, 10, 0x1234, [(0, b"\x14")]))),
        ],
    )
    a = of(run(path), Iec104Asdu)
    assert [(x.type_name, x.cause_name) for x in a] == [
        ("C_IC_NA_1", "act"),
        ("C_IC_NA_1", "actcon"),
        ("M_ME_NC_1", "inrogen"),
        ("M_SP_NA_1", "spont"),
        ("C_IC_NA_1", "actterm"),
    ]
    assert a[0].is_command
    assert not a[1].is_command
    assert not a[2].is_command
    assert a[0].command_value == "station"
    assert a[0].originator == 3
    assert a[0].common_address == 0x1234
    assert a[0].category == "system"
    assert a[2].sq
    assert a[2].ioas == (700, 701, 702)
    assert a[2].num_objects == 3
    assert a[3].ioas == (10, 20, 30)
    assert a[3].ioa == 10
    assert a[3].objects_complete
    assert (a[4].send_seq, a[4].recv_seq) == (3, 1)


@pytest.mark.parametrize(
    ("type_id", "element", "select", "value"),
    [
        (45, b"\x81", True, "on"),
        (45, b"\x00", False, "off"),
        (46, b"\x02", False, "on"),
        (46, b"\x81", True, "off"),
        (47, b"\x02", False, "higher"),
        (48, struct.pack("<hB", -16384, 0x80), True, -0.5),
        (49, struct.pack("<hB", 1234, 0), False, 1234),
        (50, struct.pack("<fB", 2.5, 0), False, 2.5),
        (51, struct.pack("<I", 0xDEADBEEF), None, 0xDEADBEEF),
        (58, b"\x01" + CP56, False, "on"),
        (63, struct.pack("<fB", -1.0, 0x80) + CP56, True, -1.0),
        (103, CP56, None, "2024-06-15T12:30:10.000"),
        (105, b"\x01", None, "general-reset"),
        (101, b"\x05", None, 5),
    ],
)
def test_commands(type_id: int, element: bytes, select: bool | None, value: object) -> None:
    parsed = parse_asdu(asdu(type_id, 6, 1, [(4500, element)]))
    assert parsed.select is select
    assert parsed.command_value == value
    assert parsed.objects_complete
    assert parsed.ioas == (4500,)


def test_test_and_negative_bits_and_names() -> None:
    p = parse_asdu(asdu(46, 7, 1, [(1, b"\x01")], test=True, negative=True, originator=9))
    assert p.test
    assert p.negative
    assert p.cause == 7
    assert p.originator == 9
    assert type_name(200) == "unknown-200"
    assert cause_name(63) == "unknown-63"
    assert cause_name(21) == "inro1"
    assert cause_name(41) == "reqco4"
    assert type_name(122) == "F_SC_NA_1"
    assert TYPES[125][1] is None
    assert cp56time(bytes([0xE8, 0x03, 0, 0, 1, 1, 0])) == "2000-01-01T00:00:01.000"


def test_truncated_and_unknown_objects() -> None:
    cut = asdu(1, 3, 7, [(10, b"\x01"), (20, b"\x00")])[:-2]
    p = parse_asdu(cut)
    assert p.ioas == (10,)
    assert not p.objects_complete
    unknown = parse_asdu(bytes([99, 1, 3, 0, 1, 0]) + b"\x05\x00\x00\xff")
    assert unknown.ioas == (5,)
    assert not unknown.objects_complete
    with pytest.raises(Malformed):
        parse_asdu(b"\x01\x01\x03")


def test_framing_errors() -> None:
    with pytest.raises(Malformed):
        apdu_length(b"\x00\x04")
    with pytest.raises(Malformed):
        apdu_length(b"\x68\x02")
    with pytest.raises(NeedMoreData):
        apdu_length(b"\x68")
    assert apdu_length(b"\x68\x0e") == 16


def test_segmented_coalesced_and_garbage(tmp_path: Path) -> None:
    one = i_frame(5, 6, asdu(45, 6, 1, [(4500, b"\x81")]))
    two = i_frame(6, 6, asdu(45, 6, 1, [(4500, b"\x01")]))
    stream = b"\x01\x02\x03" + one + two
    path = tcp_capture(
        tmp_path / "seg.pcap",
        [(0, STARTDT_ACT), (0, stream[:5]), (0, stream[5:20]), (0, stream[20:])],
    )
    events = run(path)
    cmds = of(events, Iec104Asdu)
    assert [(c.select, c.command_value, c.frame) for c in cmds] == [
        (True, "on", 6),
        (False, "on", 7),
    ]
    assert sum(m.length for m in of(events, Iec104Malformed)) == 3


def test_i_frame_with_broken_asdu_keeps_sequence_numbers(tmp_path: Path) -> None:
    path = tcp_capture(tmp_path / "b.pcap", [(0, STARTDT_ACT), (0, i_frame(7, 8, b"\x18\x18"))])
    bad = of(run(path), Iec104Apci)[-1]
    assert (bad.format, bad.send_seq, bad.recv_seq) == ("I", 7, 8)
    assert bad.asdu_error
    assert bad.action == "i-frame-malformed"


def test_non_standard_port_found_by_content(tmp_path: Path) -> None:
    gi = i_frame(0, 0, asdu(100, 6, 1, [(0, b"\x14")]))
    path = tcp_capture(
        tmp_path / "p.pcap", [(0, STARTDT_ACT), (1, STARTDT_CON), (0, gi)], dport=12404
    )
    events = run(path)
    assert [e.action for e in events] == ["startdt-act", "startdt-con", "C_IC_NA_1"]
    assert Iec104Dissector.probe(STARTDT_ACT, 0) >= THRESHOLD
    assert Iec104Dissector.probe(gi, 0) >= THRESHOLD


def test_random_payloads_not_claimed() -> None:
    rng = random.Random(2404)
    for _ in range(3000):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        assert Iec104Dissector.probe(data, 0) + PORT_BONUS < THRESHOLD
    assert Iec104Dissector.probe(b"GET / HTTP/1.1\r\n\r\n", 0) == 0
    assert Iec104Dissector.probe(b"\x68\x04\x07\x00\x00\x00", 0) >= THRESHOLD


DATA = shared_data()


@pytest.mark.skipif(DATA is None, reason="shared corpus not available")
@pytest.mark.parametrize(
    "name",
    [
        "pcaps/ntop_nDPI/pcap/modbus.pcap",
        "pcaps/ntop_nDPI/pcap/bacnet.pcap",
        "pcaps/ntop_nDPI/pcap/s7comm.pcap",
        "pcaps/ntop_nDPI/pcap/dnp3.pcap",
        "pcaps/ntop_nDPI/pcap/mqtt.pcap",
    ],
)
def test_other_captures_give_no_iec104(name: str) -> None:
    assert DATA is not None
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{name} not in this corpus")
    assert run(path) == []
