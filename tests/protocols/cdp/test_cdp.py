"""CDP frame dissector: hand-made frames, malformed input, fuzz, and tshark on the corpus."""

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
from otsight.protocols.cdp.dissector import (
    CdpAdvertisement,
    CdpDissector,
    CdpMalformed,
    capability_names,
    parse_cdp,
)
from otsight.testing import tshark
from otsight.testing.corpus import catalog_captures, shared_data
from otsight.testing.packets import ethernet
from otsight.testing.protocol_oracle import Agreement, compare, dissect_frames

DATA = shared_data()
T0 = 1_767_225_600_000_000_000
CDP_MAC = "01:00:0c:cc:cc:cc"
SWITCH = "00:19:06:ea:b8:85"


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value) + 4) + value


def addresses(*ips: str) -> bytes:
    out = struct.pack("!I", len(ips))
    for ip in ips:
        out += b"\x01\x01\xcc" + struct.pack("!H", 4) + bytes(int(x) for x in ip.split("."))
    return out


def cdp_frame(tlvs: bytes, oui: bytes = b"\x00\x00\x0c", ttl: int = 180) -> bytes:
    body = b"\xaa\xaa\x03" + oui + b"\x20\x00" + bytes([2, ttl]) + b"\x00\x00" + tlvs
    return ethernet(CDP_MAC, SWITCH, len(body), body)


def _write(path: Path, frames: list[bytes]) -> None:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, f in enumerate(frames):
            w.write(f, T0 + k * 1_000_000)


FULL = (
    tlv(1, b"plant-sw1")
    + tlv(2, addresses("192.0.2.1", "192.0.2.2"))
    + tlv(3, b"GigabitEthernet0/5")
    + tlv(4, struct.pack("!I", 0x29))
    + tlv(5, b"Cisco IOS Software, IE2000\nVersion 15.2")
    + tlv(6, b"cisco IE-2000-8TC")
    + tlv(9, b"Lab")
    + tlv(0x0A, struct.pack("!H", 10))
    + tlv(0x0B, b"\x01")
    + tlv(0x16, addresses("198.51.100.7"))
)


def test_all_fields_from_a_hand_made_frame(tmp_path: Path) -> None:
    path = tmp_path / "cdp.pcap"
    _write(path, [cdp_frame(FULL), cdp_frame(tlv(1, b"x"), ttl=0)])
    events = dissect_frames(path, [CdpDissector])
    adv = events[0]
    assert isinstance(adv, CdpAdvertisement)
    assert (adv.version, adv.ttl, adv.device_id) == (2, 180, "plant-sw1")
    assert adv.addresses == ("192.0.2.1", "192.0.2.2")
    assert adv.port_id == "GigabitEthernet0/5"
    assert adv.capabilities == ("router", "switch", "igmp-capable")
    assert adv.software_version == "Cisco IOS Software, IE2000\nVersion 15.2"
    assert adv.platform == "cisco IE-2000-8TC"
    assert (adv.vtp_domain, adv.native_vlan, adv.duplex) == ("Lab", 10, "full")
    assert adv.management_addresses == ("198.51.100.7",)
    assert adv.src_mac == SWITCH
    assert adv.action == "advertisement"
    assert adv.ecs()["cdp"]["platform"] == "cisco IE-2000-8TC"
    assert events[1].action == "shutdown"


def test_other_oui_is_ignored_and_truncation_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "bad.pcap"
    cut = cdp_frame(struct.pack("!HH", 1, 40) + b"abc")
    _write(path, [cdp_frame(FULL, oui=b"\x00\x00\x0d"), cut, cdp_frame(struct.pack("!HH", 1, 2))])
    events = dissect_frames(path, [CdpDissector])
    assert [type(e) for e in events] == [CdpMalformed, CdpMalformed]
    assert "cut short" in events[0].reason  # type: ignore[attr-defined]


def test_capability_names() -> None:
    assert capability_names(0x08 | 0x80 | 0x400) == ("switch", "voip-phone", "two-port-mac-relay")
    assert capability_names(0) == ()


def _ctx(offset: int) -> FrameContext:
    return FrameContext(T0, 1, SWITCH, CDP_MAC, 0, 0x2000, offset, True)


def test_offset_after_snap_header_is_accepted() -> None:
    frame = cdp_frame(FULL)
    d = CdpDissector()
    (a,) = list(d.on_frame(frame, _ctx(22)))  # payload offset as the contract states
    (b,) = list(d.on_frame(frame, _ctx(14)))  # offset at the LLC header (decoder today)
    assert isinstance(a, CdpAdvertisement)
    assert a == b


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_never_raises(tail: bytes) -> None:
    d = CdpDissector()
    frame = cdp_frame(b"") + tail
    events = list(d.on_frame(frame, _ctx(14)))
    assert len(events) == 1
    with pytest.raises(ValueError, match="cut short"):
        parse_cdp(b"\x02")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(FULL) + 3))
def test_every_truncation_is_counted_not_raised(cut: int) -> None:
    d = CdpDissector()
    frame = cdp_frame(FULL)[: 22 + cut]
    events = list(d.on_frame(frame, _ctx(14)))
    assert len(events) <= 1
    assert d.malformed == sum(isinstance(e, CdpMalformed) for e in events)


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")


def _tkeys(row: list[str]) -> Iterable[Hashable]:
    if row[1]:
        yield (int(row[0]), _unescape(row[1]), row[2], row[3], _unescape(row[4]))


def _ekey(e: Event) -> Hashable | None:
    if isinstance(e, CdpAdvertisement):
        # tshark shows the software version one line per item, joined with ","
        sw = ",".join((e.software_version or "").split("\n"))
        return (e.frame, e.device_id, e.platform, e.port_id, sw)
    return None


@pytest.mark.oracle
@pytest.mark.skipif(DATA is None or not tshark.available(), reason="needs shared data, tshark")
def test_agrees_with_tshark_on_the_corpus() -> None:
    assert DATA is not None
    fields = ["cdp.deviceid", "cdp.platform", "cdp.portid", "cdp.software_version"]
    results: list[Agreement] = []
    for path in catalog_captures(DATA, "CDP"):
        r = compare(path, [], fields, _tkeys, _ekey, "cdp", frame_dissectors=[CdpDissector])
        results.append(r)
        print(f"{Path(r.capture).name}: ours {r.ours} tshark {r.theirs} matched {r.matched}")
        if r.ratio < 1:
            print(r.only_ours, r.only_theirs)
    total = sum(r.compared for r in results)
    matched = sum(r.matched for r in results)
    print(f"CDP: {len(results)} captures, {total} messages, agreement {matched / total:.5f}")
    assert len(results) == 12
    assert matched / total >= 0.99
