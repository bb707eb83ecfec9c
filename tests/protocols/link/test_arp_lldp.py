"""ARP and LLDP frame dissectors: hand-made frames and tshark on every corpus capture."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from pathlib import Path

import pytest

from otsight.capture.writer import PcapWriter
from otsight.core.events import Event
from otsight.protocols.arp.dissector import ArpDissector, ArpMessage
from otsight.protocols.lldp.dissector import LldpAdvertisement, LldpDissector
from otsight.testing import tshark
from otsight.testing.corpus import catalog_captures, shared_data
from otsight.testing.packets import arp, ethernet
from otsight.testing.protocol_oracle import Agreement, compare, dissect_frames, split

DATA = shared_data()
T0 = 1_767_225_600_000_000_000


def _write(path: Path, frames: list[bytes]) -> None:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, f in enumerate(frames):
            w.write(f, T0 + k * 1_000_000)


def _lldp_frame(src: str, tlvs: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(((t << 9) | len(v)).to_bytes(2, "big") + v for t, v in tlvs) + b"\0\0"
    return ethernet("01:80:c2:00:00:0e", src, 0x88CC, body)


def test_arp_request_reply_gratuitous_and_spoofed_sender(tmp_path: Path) -> None:
    path = tmp_path / "arp.pcap"
    hmi, plc, atk = "00:14:22:01:02:03", "00:80:f4:0a:0b:0c", "b8:27:eb:66:66:66"
    frames = [
        ethernet(
            "ff:ff:ff:ff:ff:ff",
            hmi,
            0x0806,
            arp(1, hmi, "192.0.2.20", "00:00:00:00:00:00", "192.0.2.10"),
        ),
        ethernet(hmi, plc, 0x0806, arp(2, plc, "192.0.2.10", hmi, "192.0.2.20")),
        ethernet(
            "ff:ff:ff:ff:ff:ff",
            plc,
            0x0806,
            arp(2, plc, "192.0.2.10", "ff:ff:ff:ff:ff:ff", "192.0.2.10"),
        ),
        # the attacker's frame claims the PLC's MAC in the ARP body
        ethernet(hmi, atk, 0x0806, arp(2, plc, "192.0.2.10", hmi, "192.0.2.20")),
    ]
    _write(path, frames)
    events = [e for e in dissect_frames(path, [ArpDissector]) if isinstance(e, ArpMessage)]
    assert [e.operation for e in events] == ["request", "reply", "reply", "reply"]
    assert (events[0].sender_ip, events[0].target_ip) == ("192.0.2.20", "192.0.2.10")
    assert [e.gratuitous for e in events] == [False, False, True, False]
    assert [e.mac_mismatch for e in events] == [False, False, False, True]
    assert events[3].src_mac == atk
    assert events[3].ecs()["source"]["mac"] == atk


def test_lldp_fields_and_truncated_tlv(tmp_path: Path) -> None:
    path = tmp_path / "lldp.pcap"
    src = "00:1b:1b:02:e6:1f"
    good = _lldp_frame(
        src,
        [
            (1, b"\x04" + bytes.fromhex("001b1b02e61f")),
            (2, b"\x05port-1"),
            (3, (120).to_bytes(2, "big")),
            (5, b"Switch1"),
            (6, b"SCALANCE X212-2, FW: V4.02"),
            (7, (0x0014).to_bytes(2, "big") + (0x0004).to_bytes(2, "big")),
            (8, bytes([5, 1, 192, 0, 2, 1, 1]) + b"\0\0\0\0\0"),
            (127, b"\x00\x80\xc2\x01\x00\x0a"),
        ],
    )
    bad = ethernet("01:80:c2:00:00:0e", src, 0x88CC, ((5 << 9) | 40).to_bytes(2, "big") + b"x")
    _write(path, [good, bad])
    events = dissect_frames(path, [LldpDissector])
    adv = events[0]
    assert isinstance(adv, LldpAdvertisement)
    assert (adv.chassis_id, adv.port_id, adv.ttl) == ("00:1b:1b:02:e6:1f", "port-1", 120)
    assert adv.system_name == "Switch1"
    assert adv.capabilities == ("bridge", "router")
    assert adv.enabled_capabilities == ("bridge",)
    assert adv.management_addresses == ("192.0.2.1",)
    assert adv.port_vlan == 10
    assert events[1].action == "malformed"


def _arp_keys(row: list[str]) -> Iterable[Hashable]:
    if row[1]:
        yield (int(row[0]), int(row[1]), row[2], row[3], row[4])


def _arp_key(e: Event) -> Hashable | None:
    if isinstance(e, ArpMessage):
        code = {"request": 1, "reply": 2}.get(e.operation)
        return (e.frame, code, e.sender_mac, e.sender_ip, e.target_ip) if code else None
    return None


def _unescape(text: str) -> str | None:
    """tshark's -T fields output escapes control characters in strings."""
    if not text:
        return None
    return text.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")


def _lldp_keys(row: list[str]) -> Iterable[Hashable]:
    if row[1]:
        yield (int(row[0]), split(row[1])[0], _unescape(row[2]), _unescape(row[3]))


def _lldp_key(e: Event) -> Hashable | None:
    if isinstance(e, LldpAdvertisement):
        return (e.frame, str(e.ttl), e.system_name, e.system_description)
    return None


@pytest.mark.oracle
@pytest.mark.skipif(DATA is None or not tshark.available(), reason="needs shared data, tshark")
@pytest.mark.parametrize(
    ("name", "fields", "tkeys", "ekey", "dissector", "dfilter"),
    [
        (
            "ARP",
            ["arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"],
            _arp_keys,
            _arp_key,
            ArpDissector,
            "arp && !vxlan && !icmp",
        ),
        (
            "LLDP",
            ["lldp.time_to_live", "lldp.tlv.system.name", "lldp.tlv.system.desc"],
            _lldp_keys,
            _lldp_key,
            LldpDissector,
            "lldp",
        ),
    ],
)
def test_agrees_with_tshark_on_the_corpus(
    name: str, fields: list[str], tkeys: object, ekey: object, dissector: type, dfilter: str
) -> None:
    assert DATA is not None
    results: list[Agreement] = []
    for path in catalog_captures(DATA, name):
        r = compare(path, [], fields, tkeys, ekey, dfilter, frame_dissectors=[dissector])  # type: ignore[arg-type]
        if r.compared:
            results.append(r)
    total = sum(r.compared for r in results)
    matched = sum(r.matched for r in results)
    for r in results:
        if r.ratio < 1:
            print(f"{r.capture}: ours {r.ours} tshark {r.theirs}", r.only_ours, r.only_theirs)
    print(f"{name}: {len(results)} captures, {total} messages, agreement {matched / total:.5f}")
    assert len(results) >= 10
    assert matched / total >= 0.99
