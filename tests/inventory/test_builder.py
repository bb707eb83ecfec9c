"""The inventory stage end to end: real frames through the real pipeline into assets."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.inventory.builder import InventoryBuilder, InventoryConfig
from otsight.inventory.model import Asset
from otsight.inventory.oui import OuiRegistry
from otsight.pipeline.assemble import build_stages, run_files

from .plant import Plant, modbus_polls

HMI = ("00:14:22:00:00:10", "10.0.0.20")
PLC = ("00:80:f4:00:00:01", "10.0.0.10")
ROUTER_MAC = "00:00:0c:00:00:01"
ROUTER = (ROUTER_MAC, "10.0.0.1")
REMOTE_HMI = (ROUTER_MAC, "10.1.0.5")  # a host behind the router: its frames carry the router MAC
ATTACKER = ("b8:27:eb:00:00:66", "10.0.0.66")


def _oui() -> OuiRegistry | None:
    try:
        return OuiRegistry.load()
    except FileNotFoundError:
        return None


def _run(path: Path, config: InventoryConfig | None = None) -> InventoryBuilder:
    builder = InventoryBuilder(config, oui=_oui())
    result = run_files([str(path)], build_stages([builder]))
    assert result.ok
    assert result.summary.observer_errors == {}
    return builder


def _by_ip(assets: list[Asset]) -> dict[str, Asset]:
    return {ip: a for a in assets for ip in a.ips}


def _routed_plant(tmp_path: Path) -> Path:
    p = Plant()
    p.arp_request(0.0, *HMI, PLC[1])
    p.arp_reply(0.001, *PLC, *HMI)
    p.arp_reply(0.002, *ROUTER, *HMI)
    t = p.tcp_session(0.01, HMI, PLC, 502, modbus_polls(20))
    # A remote HMI behind the router polls the PLC through the router's MAC.
    p.tcp_session(t, REMOTE_HMI, (PLC[0], PLC[1]), 502, modbus_polls(12, 100), sport=41000)
    # Internet hosts answer the local HMI through the router (DNS over UDP).
    for i, ip in enumerate(("8.8.8.8", "1.1.1.1", "9.9.9.9")):
        p.udp(1.0 + i / 10, HMI, (ROUTER_MAC, ip), 5000 + i, 53, b"\x12\x34" + bytes(10))
        p.udp(1.01 + i / 10, (ROUTER_MAC, ip), HMI, 53, 5000 + i, b"\x12\x34\x81\x80" + bytes(8))
    return p.write(tmp_path / "routed.pcap")


def test_one_asset_per_device_router_flagged_hosts_behind_it_by_ip(tmp_path: Path) -> None:
    builder = _run(_routed_plant(tmp_path))
    assets = builder.assets()
    by_ip = _by_ip(assets)
    assert sorted(a.asset_id for a in assets) == sorted(
        [f"mac:{HMI[0]}", f"mac:{PLC[0]}", f"mac:{ROUTER_MAC}", "ip:10.1.0.5"]
    )
    router = by_ip["10.0.0.1"]
    assert router.is_router
    assert router.ips == ["10.0.0.1"]  # its own address (ARP), not the hosts it routes
    assert router.role == "router"
    assert any("many IP addresses" in e.text for e in router.evidence)
    # Internet endpoints are counted, not inventoried.
    assert builder.external_endpoints == 3
    assert "8.8.8.8" not in by_ip
    remote = by_ip["10.1.0.5"]
    assert remote.macs == []
    assert remote.role == "hmi"


def test_roles_services_and_evidence_from_behaviour(tmp_path: Path) -> None:
    assets = _run(_routed_plant(tmp_path)).assets()
    by_ip = _by_ip(assets)
    plc, hmi = by_ip[PLC[1]], by_ip[HMI[1]]
    assert plc.role == "plc"
    assert plc.purdue_level == 1
    assert plc.role_confidence > 0.5
    assert [(s.protocol, s.transport, s.port, s.clients) for s in plc.services] == [
        ("modbus", "tcp", 502, 2)
    ]
    assert any(e.claim == "role" and "Modbus/TCP to 2 masters" in e.text for e in plc.evidence)
    assert hmi.role == "hmi"
    assert hmi.purdue_level == 2
    assert any("polls 1 device over Modbus/TCP (20 reads, 0 writes)" in e.text
               for e in hmi.evidence)
    assert plc.protocols == ["modbus"]
    assert plc.first_seen == pytest.approx(0.001)
    oui = _oui()
    if oui is not None:
        vendor = oui.lookup(PLC[0])
        assert vendor is not None
        assert plc.vendor == vendor.name
        assert any(e.source.startswith("oui/") for e in plc.evidence)


def test_arp_spoofer_does_not_take_over_its_victims_addresses(tmp_path: Path) -> None:
    p = Plant()
    t = p.tcp_session(0.0, HMI, PLC, 502, modbus_polls(30))
    # The attacker claims the PLC's IP in gratuitous replies and relays a few HMI packets.
    for i in range(5):
        p.arp_reply(t + i * 0.01, ATTACKER[0], PLC[1], HMI[0], HMI[1])
    p.tcp_session(t + 1, HMI, PLC, 502, modbus_polls(3, 200), sport=42000,
                  client_dst_mac=ATTACKER[0], server_src_mac=ATTACKER[0])
    p.arp_request(t + 2, *ATTACKER, HMI[1])
    assets = _run(p.write(tmp_path / "spoof.pcap")).assets()
    by_ip = _by_ip(assets)
    assert by_ip[PLC[1]].macs == [PLC[0]]
    assert by_ip[HMI[1]].macs == [HMI[0]]
    attacker = by_ip[ATTACKER[1]]
    assert attacker.ips == [ATTACKER[1]]
    assert not attacker.is_router
    assert len(assets) == 3


def test_replaying_gives_identical_inventory(tmp_path: Path) -> None:
    path = _routed_plant(tmp_path)
    first = _run(path).assets()
    second = _run(path).assets()
    assert first == second


def test_change_events_in_packet_time(tmp_path: Path) -> None:
    p = Plant()
    t = p.tcp_session(0.0, HMI, PLC, 502, modbus_polls(5))
    # Keep the pair talking so checkpoints happen, then a new device joins at t = 100 s.
    for k in range(1, 12):
        p.tcp_session(k * 20.0, HMI, PLC, 502, modbus_polls(1, 10 + k), sport=40000 + k)
    newcomer = ("00:14:22:00:00:99", "10.0.0.99")
    p.arp_request(100.0, *newcomer, PLC[1])
    p.tcp_session(100.5, newcomer, PLC, 502, modbus_polls(2, 500), sport=45000)
    builder = _run(p.write(tmp_path / "changes.pcap"), InventoryConfig(checkpoint_s=30,
                                                                       silent_after_s=60))
    kinds = [(c.kind, c.asset_id) for c in builder.changes]
    assert ("new-asset", f"mac:{HMI[0]}") in kinds
    assert ("new-asset", f"mac:{newcomer[0]}") in kinds
    new = next(c for c in builder.changes if c.asset_id == f"mac:{newcomer[0]}")
    assert new.ts == pytest.approx(100.0)
    assert t < 1.0
    # The newcomer left after 100.6 s; the capture ends at ~220 s: silent after 60 s.
    silent = [c for c in builder.changes if c.kind == "asset-silent"]
    assert [c.asset_id for c in silent] == [f"mac:{newcomer[0]}"]
    assert silent[0].ts == pytest.approx(100.5 + 0.03 + 60, abs=0.05)


def test_link_layer_only_ied_is_an_asset_classified_from_goose(tmp_path: Path) -> None:
    from otsight.testing.packets import ethernet

    ied = "00:0a:dc:00:00:01"  # no IP at all: GOOSE is layer 2
    p = Plant()
    for i in range(4):
        p.add(i * 1.0, ethernet("01:0c:cd:01:00:01", ied, 0x88B8, bytes(40)))
    p.tcp_session(0.5, HMI, PLC, 502, modbus_polls(12))
    assets = _run(p.write(tmp_path / "goose.pcap")).assets()
    by_id = {a.asset_id: a for a in assets}
    assert by_id[f"mac:{ied}"].ips == []
    assert by_id[f"mac:{ied}"].role == "rtu"
    assert any("GOOSE" in e.text for e in by_id[f"mac:{ied}"].evidence)
