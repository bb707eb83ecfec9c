"""ARP spoofing, duplicate addresses and flip-flopping bindings from ARP claims."""

from __future__ import annotations

from pathlib import Path

from otsight.detect.rules.arp import ArpOptions, ArpSpoofDetector
from otsight.testing.packets import ARP_REPLY, ARP_REQUEST

from .builders import ATK, HMI, PLC, Capture, detect, kinds, mac_of, modbus_poll

ATK_MAC, PLC_MAC, HMI_MAC = mac_of(ATK), mac_of(PLC), mac_of(HMI)


def _plant(cap: Capture) -> None:
    """Every host announces itself (its own ARP), the HMI polls plc1."""
    for t, ip in ((0.0, HMI), (0.1, PLC), (0.2, ATK)):
        cap.arp(t, ARP_REQUEST, mac_of(ip), ip, ip)  # gratuitous announcement
    for i in range(20):
        modbus_poll(cap, 1.0 + i, HMI, PLC, i + 1, 40001)


def _poison(cap: Capture, t: float, claimed: str, victim: str) -> None:
    """An unsolicited reply telling ``victim`` that ``claimed`` is at the attacker's MAC."""
    cap.arp(t, ARP_REPLY, ATK_MAC, claimed, victim, mac_of(victim), mac_of(victim))


def test_a_host_claiming_others_addresses_is_arp_spoofing(tmp_path: Path) -> None:
    cap = Capture()
    _plant(cap)
    for k in range(4):
        _poison(cap, 5.0 + k * 0.5, PLC, HMI)
        _poison(cap, 5.01 + k * 0.5, HMI, PLC)
    for k in range(3):  # restore: the owners' true replies
        cap.arp(8.0 + k, ARP_REPLY, PLC_MAC, PLC, HMI, HMI_MAC, HMI_MAC)
        cap.arp(8.01 + k, ARP_REPLY, HMI_MAC, HMI, PLC, PLC_MAC, PLC_MAC)
    stage = detect([cap.write(tmp_path / "mitm.pcap")], [ArpSpoofDetector()])
    assert [(a.kind, a.src_ip, a.src_mac, a.dst_ip, a.dst_mac, a.count) for a in stage.alerts] == [
        ("arp-spoofing", ATK, ATK_MAC, PLC, PLC_MAC, 4),
        ("arp-spoofing", ATK, ATK_MAC, HMI, HMI_MAC, 4),
    ]
    alert = stage.alerts[0]
    assert (alert.technique_id, alert.severity, alert.protocol) == ("T0830", "high", "arp")
    assert f"its own address: {ATK}" in alert.explanation
    assert all(e.ts < 8.0 + 1.8e9 for e in alert.evidence)  # restores raised nothing
    assert len(stage.raw or []) == 8


def test_an_unknown_mac_claiming_one_address_is_a_duplicate_then_spoofing(tmp_path: Path) -> None:
    cap = Capture()
    _plant(cap)
    stranger = "02:11:22:33:44:55"
    cap.arp(5.0, ARP_REPLY, stranger, PLC, HMI, HMI_MAC, HMI_MAC)
    cap.arp(6.0, ARP_REPLY, stranger, HMI, PLC, PLC_MAC, PLC_MAC)
    stage = detect([cap.write(tmp_path / "dup.pcap")], [ArpSpoofDetector()])
    assert [(a.kind, a.src_mac, a.dst_ip, a.severity) for a in stage.alerts] == [
        ("duplicate-ip", stranger, PLC, "medium"),
        ("arp-spoofing", stranger, HMI, "high"),
    ]


def test_address_fights_are_reported_as_flapping(tmp_path: Path) -> None:
    cap = Capture()
    _plant(cap)
    other = "02:11:22:33:44:66"
    for k in range(4):
        cap.arp(5.0 + k, ARP_REQUEST, other, PLC, HMI)
        cap.arp(5.5 + k, ARP_REQUEST, PLC_MAC, PLC, HMI)
    opts = ArpOptions(flap_count=4, flap_window_s=60.0)
    stage = detect([cap.write(tmp_path / "flap.pcap")], [ArpSpoofDetector(opts)])
    assert kinds(stage.alerts) == ["duplicate-ip", "mac-flapping"]
    assert stage.alerts[0].count == 4


def test_announcements_probes_and_a_replaced_device_are_quiet(tmp_path: Path) -> None:
    cap = Capture()
    _plant(cap)
    for k in range(5):  # owners re-announcing and answering
        cap.arp(3.0 + k, ARP_REQUEST, PLC_MAC, PLC, PLC)
        cap.arp(3.1 + k, ARP_REPLY, HMI_MAC, HMI, PLC, PLC_MAC, PLC_MAC)
    cap.arp(4.0, ARP_REQUEST, "02:99:00:00:00:01", "0.0.0.0", "192.0.2.99")  # DHCP probe
    # 192.0.2.50 is used by one device, which disappears; a replacement takes it much later
    cap.arp(5.0, ARP_REQUEST, "02:50:00:00:00:01", "192.0.2.50", "192.0.2.50")
    cap.arp(5.0 + 7200, ARP_REQUEST, "02:50:00:00:00:02", "192.0.2.50", "192.0.2.50")
    stage = detect([cap.write(tmp_path / "quiet.pcap")], [ArpSpoofDetector()])
    assert stage.alerts == []


def test_an_owner_seen_only_through_its_ip_traffic_keeps_its_address(tmp_path: Path) -> None:
    """The owner's IPv4 packets (read from the batch columns) prove it is still alive."""
    cap = Capture()
    cap.arp(0.0, ARP_REQUEST, PLC_MAC, PLC, PLC)
    for i in range(10):
        modbus_poll(cap, 100.0 + i * 100, HMI, PLC, i + 1, 40001)  # plc1 answers every 100 s
    cap.arp(1000.5, ARP_REPLY, ATK_MAC, PLC, HMI, HMI_MAC, HMI_MAC)
    short = ArpOptions(owner_ttl_s=300.0)
    stage = detect([cap.write(tmp_path / "alive.pcap")], [ArpSpoofDetector(short)])
    assert kinds(stage.alerts) == ["duplicate-ip"]  # not silently handed over to the claimer
