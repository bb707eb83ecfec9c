"""Profinet DCP dissector: Set flagging, identify, pairing, malformed input, fuzz, tshark."""

from __future__ import annotations

import struct
from collections.abc import Hashable, Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.capture.writer import PcapWriter
from otsight.core.events import Event
from otsight.core.plugins import FrameContext
from otsight.protocols.dcp.codes import option_name, role_names
from otsight.protocols.dcp.dissector import DcpDissector, DcpMalformed, DcpMessage, DcpSet
from otsight.testing import tshark
from otsight.testing.corpus import catalog_captures, shared_data
from otsight.testing.packets import ethernet
from otsight.testing.protocol_oracle import Agreement, compare, dissect_frames

from .helpers import block, dcp, ip4

DATA = shared_data()
T0 = 1_767_225_600_000_000_000
ENG, PLC = "00:0c:29:ba:09:ea", "08:00:06:93:cf:32"
MCAST = "01:0e:cf:00:00:00"


def _write(path: Path, frames: list[bytes]) -> None:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, f in enumerate(frames):
            w.write(f, T0 + k * 1_000_000)


def test_identify_set_and_responses(tmp_path: Path) -> None:
    ident = dcp(0xFEFE, 5, 0, 7, block(255, 255, b""), delay=1)
    resp = dcp(
        0xFEFF, 5, 1, 7,
        block(2, 1, b"\0\0S7-1500")
        + block(2, 2, b"\0\0plc-1")
        + block(2, 3, b"\0\0" + struct.pack("!HH", 0x2A, 0x0A01))
        + block(2, 4, b"\0\0\x01\x00")
        + block(2, 5, b"\0\0\x01\x02\x02\x02")
        + block(2, 6, b"\0\0port-001.plc-1")
        + block(2, 7, b"\0\0\x00\x01")
        + block(2, 8, b"\0\0" + struct.pack("!HH", 0x11, 0x22))
        + block(1, 1, b"\0\0" + bytes.fromhex("08000693cf32"))
        + block(1, 2, b"\x00\x81" + ip4("192.0.2.10") + ip4("255.255.255.0") + ip4("192.0.2.1")),
    )
    set_name = dcp(0xFEFD, 4, 0, 8, block(2, 2, b"\0\x01evil-plc") + block(5, 2, b"\0\0"))
    set_ip = dcp(0xFEFD, 4, 0, 9, block(1, 2, b"\0\0" + ip4("10.6.6.6") + ip4("255.0.0.0")
                                          + ip4("10.0.0.1")))
    reset = dcp(0xFEFD, 4, 0, 10, block(5, 6, struct.pack("!H", 4 << 1)))
    signal = dcp(0xFEFD, 4, 0, 11, block(5, 3, b"\0\0\x01\x00"))
    set_resp = dcp(0xFEFD, 4, 1, 8, block(5, 4, b"\x02\x02\x00") + block(5, 4, b"\x05\x02\x06"))
    get = dcp(0xFEFD, 3, 0, 12, b"\x02\x02\x01\x02")
    path = tmp_path / "dcp.pcap"
    _write(path, [
        ethernet(MCAST, ENG, 0x8892, ident),
        ethernet(ENG, PLC, 0x8892, resp),
        ethernet(PLC, ENG, 0x8892, set_name),
        ethernet(ENG, PLC, 0x8892, set_resp),
        ethernet(PLC, ENG, 0x8892, set_ip, vlan=0),
        ethernet(PLC, ENG, 0x8892, reset),
        ethernet(PLC, ENG, 0x8892, signal),
        ethernet(PLC, ENG, 0x8892, get),
        ethernet(PLC, ENG, 0x8892, b"\x80\x00" + b"\0" * 40),  # cyclic RT: not DCP
    ])
    ev = dissect_frames(path, [DcpDissector])
    assert len(ev) == 8
    i, r, sn, sr, si, rs, sg, g = ev
    assert isinstance(i, DcpMessage)
    assert not isinstance(i, DcpSet)
    assert (i.service, i.service_type_name, i.response_delay, i.blocks) == (
        "identify", "request", 1, ("all-selector/all",))
    assert isinstance(r, DcpMessage)
    assert r.matched
    assert r.request_frame == 1
    assert (r.type_of_station, r.name_of_station, r.vendor_id, r.device_id) == (
        "S7-1500", "plc-1", 0x2A, 0x0A01)
    assert r.device_roles == ("io-device",)
    assert r.device_options == ("ip/ip-parameter", "device-properties/name-of-station")
    assert (r.alias_name, r.device_instance, r.oem_vendor_id, r.oem_device_id) == (
        "port-001.plc-1", 1, 0x11, 0x22)
    assert (r.mac_address, r.ip_address, r.netmask, r.gateway) == (
        PLC, "192.0.2.10", "255.255.255.0", "192.0.2.1")
    assert (r.ip_block_info, r.ip_conflict) == ("ip-set", True)
    assert isinstance(sn, DcpSet)
    assert sn.action == "set-request"
    assert sn.changes == ("name-of-station=evil-plc", "end-transaction")
    assert sn.permanent
    assert isinstance(sr, DcpMessage)
    assert sr.matched
    assert sr.request_frame == 3
    assert sr.block_errors == ("device-properties/name-of-station:ok",
                               "control/end-transaction:set-not-possible-in-operation")
    assert isinstance(si, DcpSet)
    assert si.changes == ("ip=10.6.6.6/255.0.0.0 gw=10.0.0.1",)
    assert si.permanent is False
    assert si.ip_address == "10.6.6.6"
    assert isinstance(rs, DcpSet)
    assert rs.changes == ("reset-to-factory:reset-all-data",)
    assert isinstance(sg, DcpSet)
    assert sg.control == ("signal",)
    assert isinstance(g, DcpMessage)
    assert g.service == "get"
    assert g.blocks == ("device-properties/name-of-station", "ip/ip-parameter")
    assert list(sn.ecs()["pn_dcp"]["changes"]) == ["name-of-station=evil-plc", "end-transaction"]


def test_codes_have_fallbacks() -> None:
    assert option_name(9, 1) == "unknown-9/unknown-1"
    assert option_name(0x80, 3) == "manufacturer-128/3"
    assert role_names(0x0A) == ("io-controller", "pn-supervisor")


def _ctx() -> FrameContext:
    return FrameContext(T0, 1, ENG, PLC, 0, 0x8892, 14, False)


def test_truncated_and_overlong_are_counted(tmp_path: Path) -> None:
    d = DcpDissector()
    head = ethernet(PLC, ENG, 0x8892, b"")
    good = dcp(0xFEFD, 4, 0, 8, block(2, 2, b"\0\x01plc"))
    for cut in range(2, len(good)):
        list(d.on_frame(head + good[:cut], _ctx()))
    assert d.malformed == len(good) - 2
    lying = dcp(0xFEFD, 4, 0, 8, struct.pack("!BBH", 2, 2, 300) + b"\0\x01x")
    (e,) = list(d.on_frame(head + lying, _ctx()))
    assert isinstance(e, DcpMalformed)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([0xFEFC, 0xFEFD, 0xFEFE, 0xFEFF]),
       st.integers(0, 7), st.integers(0, 5))
def test_fuzz_never_raises(body: bytes, fid: int, sid: int, stype: int) -> None:
    d = DcpDissector()
    frame = ethernet(PLC, ENG, 0x8892, struct.pack("!HBBIHH", fid, sid, stype, 1, 0, len(body))
                     + body)
    events = list(d.on_frame(frame, _ctx()))
    assert len(events) == 1
    assert d.malformed == sum(isinstance(e, DcpMalformed) for e in events)


def _hex(v: str) -> int | None:
    return int(v.split(",", maxsplit=1)[0], 0) if v else None


def _tkeys(row: list[str]) -> Iterable[Hashable]:
    if row[1]:
        yield (int(row[0]), int(row[1]), int(row[2]), int(row[3], 16),
               row[4].split(",")[0] or None, _hex(row[5]), _hex(row[6]),
               row[7].split(",")[0] or None)


def _ekey(e: Event) -> Hashable | None:
    if isinstance(e, DcpMessage):
        return (e.frame, e.service_id, e.service_type, e.xid, e.name_of_station, e.vendor_id,
                e.device_id, e.ip_address)
    return None


@pytest.mark.oracle
@pytest.mark.skipif(DATA is None or not tshark.available(), reason="needs shared data, tshark")
def test_agrees_with_tshark_on_the_corpus() -> None:
    assert DATA is not None
    fields = ["pn_dcp.service_id", "pn_dcp.service_type", "pn_dcp.xid",
              "pn_dcp.suboption_device_nameofstation", "pn_dcp.suboption_vendor_id",
              "pn_dcp.suboption_device_id", "pn_dcp.suboption_ip_ip"]
    results: list[Agreement] = []
    for path in catalog_captures(DATA, "PROFINET"):
        r = compare(path, [], fields, _tkeys, _ekey, "pn_dcp", frame_dissectors=[DcpDissector])
        results.append(r)
        print(f"{Path(r.capture).name}: ours {r.ours} tshark {r.theirs} matched {r.matched}")
        if r.ratio < 1:
            print(r.only_ours, r.only_theirs)
    total = sum(r.compared for r in results)
    matched = sum(r.matched for r in results)
    print(f"PN-DCP: {len(results)} captures, {total} messages, agreement {matched / total:.5f}")
    assert len(results) == 5
    assert matched / total >= 0.99
