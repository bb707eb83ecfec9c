"""ARP spoofing, duplicate addresses and flip-flopping bindings from ARP claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from otsight.alerts.serialize import alert_to_dict
from otsight.capture.batch import FrameBatch
from otsight.core.types import mac_to_str
from otsight.decode.table import L3_ARP, L3_IPV4, L3_IPV6, PacketTable
from otsight.decode.view import BatchView
from otsight.detect.rules.arp import ArpOptions, ArpSpoofDetector, _Binding, _Owners
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files
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


# ----------------------------------------------------------------------------- owners' packets
def _view(rng: np.random.Generator, n: int, sources: list[tuple[int, int]]) -> BatchView:
    """``n`` packets from ``sources`` (IPv4 number, MAC number), some IPv6 or undecoded ones,
    times in order or not."""
    table = PacketTable.empty(n)
    pick = rng.integers(0, len(sources), n)
    table.src_lo[:] = 0xFFFF_0000_0000 | np.array([s[0] for s in sources], np.uint64)[pick]
    table.src_mac[:] = np.array([s[1] for s in sources], np.int64)[pick]
    table.l3[:] = rng.choice([L3_IPV4, L3_IPV4, L3_IPV4, L3_IPV6, L3_ARP], n)
    table.err[:] = np.where(rng.random(n) < 0.05, 3, 0)
    ts_ns = 1_767_225_600 * 10**9 + rng.integers(0, 10**11, n)
    if rng.random() < 0.5:
        ts_ns.sort()
    zeros = np.zeros(n, np.int64)
    batch = FrameBatch(np.zeros(0, np.uint8), zeros, zeros.astype(np.int32),
                       zeros.astype(np.int32), ts_ns, zeros.astype(np.int32), 1, "test")
    return BatchView(batch, table, zeros, zeros)


@pytest.mark.parametrize("seed", range(4))
def test_owners_are_seen_as_sorting_the_batch_sees_them(seed: int) -> None:
    """The hash lookup of bound addresses refreshes exactly the owners that sorting every
    (address, MAC) pair of the batch refreshes, to the same time: only an address's owner,
    only IPv4 packets decoded whole, the latest packet even when times are out of order, and
    never an address or MAC written other than as packets' ones are."""
    rng = np.random.default_rng(seed)
    fast, slow = ArpSpoofDetector(), ArpSpoofDetector()
    hosts = [(int(v), int(m)) for v, m in zip(
        rng.integers(0, 1 << 32, 60), rng.integers(1, 1 << 48, 60), strict=True)]
    for address, mac in hosts[:40]:  # bound: 40 addresses, their owner the host's MAC
        ip = ".".join(str((address >> s) & 255) for s in (24, 16, 8, 0))
        owner = mac_to_str(mac) if address % 7 else mac_to_str(mac).upper()
        for det in (fast, slow):
            det._ips[ip] = _Binding(owner, 0.0)
    fast._ips["010.0.0.1"] = _Binding(mac_to_str(hosts[0][1]), 0.0)
    slow._ips["010.0.0.1"] = _Binding(mac_to_str(hosts[0][1]), 0.0)
    # others' MACs sending from bound addresses, and unbound hosts
    sources = hosts + [(address, hosts[(k + 1) % 60][1]) for k, (address, _) in
                       enumerate(hosts[:20])] + [(10 << 24 | 1, hosts[0][1])]
    for _ in range(5):
        view = _view(rng, int(rng.integers(1, 5000)), sources)
        fast._refresh(view)
        slow._refresh_sorted(view, (view.table.l3 == L3_IPV4) & (view.table.err == 0))
        assert {ip: b.owner_seen for ip, b in fast._ips.items()} == {
            ip: b.owner_seen for ip, b in slow._ips.items()}
    assert sum(b.owner_seen > 0 for b in fast._ips.values()) >= 20


def test_spoofing_verdicts_do_not_depend_on_how_owners_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Owners that fall silent and speak again, claims from others, devices replaced: the
    alerts are the same whether the owners' packets are found by hash or by sorting."""
    rng = np.random.default_rng(7)
    hosts = [f"192.0.2.{n}" for n in range(10, 30)]
    macs = {ip: mac_of(ip) for ip in hosts}
    cap = Capture()
    for ip in hosts:
        cap.arp(0.0, ARP_REQUEST, macs[ip], ip, ip)
    for k in range(400):
        t = 1.0 + k * 0.5
        src, dst = rng.choice(hosts, 2, replace=False)
        if rng.random() < 0.7:  # traffic keeps owners alive, now and then
            cap.udp(t, str(src), str(dst), 40000, 9, b"x")
        elif rng.random() < 0.5:  # an intruder claims an address
            cap.arp(t, ARP_REPLY, ATK_MAC, str(src), str(dst), macs[str(dst)], macs[str(dst)])
        elif rng.random() < 0.5:  # a device is replaced by one with a new MAC
            macs[str(src)] = f"02:00:00:00:{k >> 8:02x}:{k & 255:02x}"
            cap.arp(t, ARP_REQUEST, macs[str(src)], str(src), str(src))
        else:
            cap.arp(t, ARP_REPLY, macs[str(src)], str(src), str(dst), macs[str(dst)],
                    macs[str(dst)])
    path = cap.write(tmp_path / "fights.pcap")
    options = ArpOptions(owner_ttl_s=8.0, claim_ttl_s=30.0, flap_count=3)

    def alerts() -> list[list[dict[str, object]]]:
        out = []
        for batch_frames in (16, 1 << 16):
            stage = DetectionStage([ArpSpoofDetector(options)], keep_raw=True)
            assert run_files([str(path)], build_stages([stage]), batch_frames=batch_frames).ok
            out.append([alert_to_dict(a) for a in stage.raw or []])
        return out

    hashed = alerts()
    monkeypatch.setattr(_Owners, "build", classmethod(lambda cls, ips: None))
    assert hashed == alerts()
    assert len(hashed[0]) >= 10
