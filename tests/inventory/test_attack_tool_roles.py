"""Attack-tool behaviour names a general-purpose computer: ARP spoofing, a connection flood,
writes to controllers with nothing read. Each kind votes weakly for ``it_workstation`` and must
stay silent for the devices that do similar things for a living (routers, HMIs, engineering
workstations, controllers talking to peers, cluster fail-overs)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from otsight.inventory import ledger as ledger_module
from otsight.inventory.builder import InventoryBuilder
from otsight.inventory.classify import (
    ADHOC_MAX_WRITES,
    FLOOD_MIN_CONNECTIONS,
    classify,
)
from otsight.inventory.ledger import EmptyConnections, Ledger
from otsight.inventory.model import Asset
from otsight.inventory.profile import Profile
from otsight.pipeline.assemble import build_stages, run_files
from otsight.testing.packets import (
    modbus_tcp_adu,
    modbus_write_multiple_registers,
    modbus_write_multiple_registers_response,
    modbus_write_single_register,
    tcp_frame,
)

from .plant import Plant, modbus_polls

HMI = ("00:14:22:00:00:10", "10.0.0.20")
PLC = ("00:80:f4:00:00:01", "10.0.0.10")
PLC2 = ("00:30:de:00:00:02", "10.0.0.11")
ATTACKER = ("b8:27:eb:00:00:66", "10.0.0.66")
ROUTER_MAC = "00:00:0c:00:00:01"
ROUTER = (ROUTER_MAC, "10.0.0.1")

SPOOF = "in ARP ("
FLOOD = "carried no data"
ADHOC = "read nothing"


def _profile(aid: str = "a", **kwargs: object) -> Profile:
    p = Profile(aid)
    for key, value in kwargs.items():
        setattr(p, key, value)
    return p


def _decide(p: Profile, *others: Profile) -> tuple[str, float, list[str]]:
    d = classify({p.asset_id: p, **{o.asset_id: o for o in others}}, {})[p.asset_id]
    return d.role, d.confidence, [e.text for e in d.evidence]


def _writer(writes: int, reads: int = 0, **ops: int) -> Profile:
    """A Modbus client with the given operation counts against one PLC."""
    p = _profile("w")
    p.uses["modbus"] = {"plc1"}
    p.client_ports[("tcp", 502)] = 1
    counts = {"write": writes, "read": reads, **ops}
    for category, n in counts.items():
        if n:
            p.used_ops[("modbus", category)] = n
    p.used_by_server = {"plc1": Counter({c: n for c, n in counts.items() if n})}
    return p


# ---------------------------------------------------------------------------- ARP spoofing
def test_arp_claims_of_owned_addresses_name_an_it_workstation() -> None:
    p = _profile(arp_claims={"10.0.0.20": (HMI[0], 8), "10.0.0.10": (PLC[0], 8)})
    role, conf, evidence = _decide(p)
    assert role == "it_workstation"
    assert 0.3 <= conf <= 0.6  # one weak kind of evidence: low to moderate
    assert any(
        e.startswith(
            f"claimed 10.0.0.10 (which belongs to {PLC[0]}), 10.0.0.20 (which belongs to "
            f"{HMI[0]}) in ARP (16 messages)"
        )
        for e in evidence
    )


def test_arp_claims_do_not_outvote_what_a_device_serves() -> None:
    p = _profile(arp_claims={"10.0.0.10": (PLC[0], 3)})
    p.serves["modbus"] = {"hmi"}
    assert _decide(p)[0] == "plc"


# ---------------------------------------------------------------------------- floods
def test_connection_flood_names_an_it_workstation() -> None:
    flood = EmptyConnections(flows=300, answered=300, first_ts=100.0, last_ts=103.0)
    p = _profile(empty_connections={("10.0.0.10", 502): flood})
    p.client_ports[("tcp", 502)] = 300
    role, conf, evidence = _decide(p)
    assert role == "it_workstation"
    assert 0.3 <= conf <= 0.6
    assert any(
        e.startswith(
            "opened 300 TCP connections to 10.0.0.10:502 that carried no data (100 a second, "
            "100% accepted)"
        )
        for e in evidence
    )


@pytest.mark.parametrize(
    "checks",
    [
        # a monitor's port check every 10 s for most of an hour: many, but slow
        EmptyConnections(flows=300, answered=300, first_ts=0.0, last_ts=3000.0),
        # a burst of reconnects that is fast but short
        EmptyConnections(flows=FLOOD_MIN_CONNECTIONS - 1, answered=0, first_ts=0.0, last_ts=2.0),
    ],
)
def test_port_checks_and_short_reconnect_bursts_are_no_flood(checks: EmptyConnections) -> None:
    p = _profile(empty_connections={("10.0.0.10", 502): checks})
    assert not any(FLOOD in e for e in _decide(p)[2])


def test_unanswered_syn_flood_counts_too() -> None:
    flood = EmptyConnections(flows=5000, answered=100, first_ts=0.0, last_ts=5.0)
    p = _profile(empty_connections={("10.0.0.10", 502): flood})
    role, _conf, evidence = _decide(p)
    assert role == "it_workstation"
    assert any("5,000 TCP connections" in e and "1,000 a second, 2% accepted" in e
               for e in evidence)


# ---------------------------------------------------------------------------- ad-hoc writes
def test_writes_with_nothing_read_name_an_it_workstation() -> None:
    role, conf, evidence = _decide(_writer(writes=3, control=1))
    assert role == "it_workstation"
    assert 0.3 <= conf <= 0.6
    assert any(
        e.startswith("wrote to 1 device over Modbus/TCP (3 writes) and read nothing")
        for e in evidence
    )


def test_hmi_that_writes_setpoints_and_polls_stays_hmi() -> None:
    role, _conf, evidence = _decide(_writer(writes=25, reads=645))
    assert role == "hmi"
    assert not any(ADHOC in e for e in evidence)


def test_hmi_with_a_few_reads_in_a_short_capture_gets_no_adhoc_vote() -> None:
    # S7comm-plus panels read a handful of variables and subscribe to the rest.
    _role, _conf, evidence = _decide(_writer(writes=12, reads=3))
    assert not any(ADHOC in e for e in evidence)


def test_engineering_workstation_that_downloads_and_writes_stays_engineering() -> None:
    p = _writer(writes=2, program=6, diagnostic=4)
    role, conf, evidence = _decide(p)
    assert role == "engineering_workstation"
    assert conf > 0.6
    assert not any(ADHOC in e for e in evidence)


def test_controller_writing_to_its_peers_is_no_tool() -> None:
    p = _writer(writes=5)
    p.serves["modbus"] = {"hmi"}
    role, _conf, evidence = _decide(p)
    assert role == "plc"
    assert not any(ADHOC in e for e in evidence)


def test_write_loop_and_dnp3_master_housekeeping_are_not_adhoc() -> None:
    loop = _writer(writes=ADHOC_MAX_WRITES + 1)
    assert not any(ADHOC in e for e in _decide(loop)[2])
    master = _profile("m")
    master.uses["dnp3"] = {"rtu"}
    master.used_ops[("dnp3", "write")] = 1  # a time sync
    role, _conf, evidence = _decide(master)
    assert role == "scada_server"
    assert not any(ADHOC in e for e in evidence)


# ---------------------------------------------------------------------------- the ledger
def test_empty_connections_are_capped_per_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "MAX_PEERS", 3)
    ledger = Ledger()
    for port in range(10):
        ledger._empty_connection("10.0.0.66", "10.0.0.10", port, 1.0, 1.1, False)
    ledger._empty_connection("10.0.0.66", "10.0.0.10", 0, 2.0, 2.1, True)
    ledger._empty_connection("10.0.0.67", "10.0.0.10", 0, 2.0, 2.1, True)
    assert len(ledger.empty) == 4
    first = ledger.empty[("10.0.0.66", "10.0.0.10", 0)]
    assert (first.flows, first.answered, first.first_ts, first.last_ts) == (2, 1, 1.0, 2.1)


# ---------------------------------------------------------------------------- end to end
def _run(path: Path) -> dict[str, Asset]:
    builder = InventoryBuilder()
    result = run_files([str(path)], build_stages([builder]))
    assert result.ok
    return {ip: a for a in builder.assets() for ip in a.ips}


def _role_texts(a: Asset) -> list[str]:
    return [e.text for e in a.evidence if e.claim == "role"]


def test_arp_spoofer_in_a_plant_is_an_it_workstation(tmp_path: Path) -> None:
    p = Plant()
    p.arp_request(0.0, *HMI, PLC[1])
    p.arp_reply(0.001, *PLC, *HMI)
    t = p.tcp_session(0.01, HMI, PLC, 502, modbus_polls(30))
    p.arp_request(t, *ATTACKER, HMI[1])
    for i in range(8):  # poisoning both ends, twice a second
        p.arp_reply(t + 0.5 * i, ATTACKER[0], PLC[1], HMI[0], HMI[1])
        p.arp_reply(t + 0.5 * i + 0.01, ATTACKER[0], HMI[1], PLC[0], PLC[1])
    p.tcp_session(t + 0.2, HMI, PLC, 502, modbus_polls(3, 200), sport=42000,
                  client_dst_mac=ATTACKER[0], server_src_mac=ATTACKER[0])
    p.arp_request(t + 3.0, *PLC, HMI[1])  # the owners go on using their addresses
    p.arp_request(t + 3.1, *HMI, PLC[1])
    p.tcp_session(t + 5, HMI, PLC, 502, modbus_polls(30, 300), sport=43000)
    by_ip = _run(p.write(tmp_path / "spoof.pcap"))
    attacker = by_ip[ATTACKER[1]]
    assert attacker.role == "it_workstation"
    assert any(
        f"claimed {PLC[1]} (which belongs to {PLC[0]}), {HMI[1]} (which belongs to {HMI[0]})"
        in e for e in _role_texts(attacker)
    )
    assert by_ip[PLC[1]].role == "plc"
    assert by_ip[HMI[1]].role == "hmi"
    assert not any(SPOOF in e for e in _role_texts(by_ip[HMI[1]]) + _role_texts(by_ip[PLC[1]]))


def test_address_hand_over_is_not_spoofing(tmp_path: Path) -> None:
    """A cluster's virtual address moves to the standby node: the old holder stops claiming it
    before the new one starts, so the claims never overlap."""
    vip = "10.0.0.50"
    node_a = ("00:14:22:00:00:a1", "10.0.0.51")
    node_b = ("00:14:22:00:00:b2", "10.0.0.52")
    p = Plant()
    p.arp_request(0.0, node_a[0], node_a[1], HMI[1])
    p.arp_request(0.1, node_b[0], node_b[1], HMI[1])
    for i in range(5):
        p.arp_reply(1.0 + i, node_a[0], vip, HMI[0], HMI[1])
    t = p.tcp_session(1.5, HMI, (node_a[0], vip), 4840, [(b"x" * 20, b"y" * 40)] * 40)
    for i in range(3):  # fail-over: gratuitous claims by the standby node
        p.arp_reply(t + 10 + i, node_b[0], vip, HMI[0], HMI[1])
    p.tcp_session(t + 11, HMI, (node_b[0], vip), 4840, [(b"x" * 20, b"y" * 40)] * 5,
                  sport=41000)
    by_ip = _run(p.write(tmp_path / "failover.pcap"))
    for node in (node_a, node_b):
        assert not any(SPOOF in e for e in _role_texts(by_ip[node[1]]))


def test_duplicate_address_is_a_conflict_not_spoofing(tmp_path: Path) -> None:
    """A misconfigured spare set to the PLC's address claims it while the PLC does too; with
    no address of its own it is a duplicate, not a host impersonating another."""
    spare = ("00:80:f4:00:00:99", PLC[1])
    p = Plant()
    p.arp_request(0.0, *HMI, PLC[1])
    p.arp_reply(0.001, *PLC, *HMI)
    t = p.tcp_session(0.01, HMI, PLC, 502, modbus_polls(30))
    for i in range(4):
        p.arp_reply(t + i, *spare, *HMI)
    p.arp_request(t + 5, *PLC, HMI[1])
    builder = InventoryBuilder()
    assert run_files([str(p.write(tmp_path / "dup.pcap"))], build_stages([builder])).ok
    texts = [e.text for a in builder.assets() for e in a.evidence if e.claim == "role"]
    assert not any(SPOOF in e for e in texts)


def test_router_answering_for_many_addresses_is_no_spoofer(tmp_path: Path) -> None:
    p = Plant()
    p.arp_request(0.0, *HMI, PLC[1])
    p.arp_reply(0.001, *PLC, *HMI)
    p.arp_reply(0.002, *ROUTER, *HMI)
    t = p.tcp_session(0.01, HMI, PLC, 502, modbus_polls(20))
    # Hosts behind the router reach the PLC through the router's MAC...
    for k, remote in enumerate(("10.1.0.5", "10.1.0.6", "10.1.0.7")):
        t = p.tcp_session(t, (ROUTER_MAC, remote), PLC, 502, modbus_polls(12, 100 * k),
                          sport=41000 + k)
    # ...and the router answers ARP for the PLC (proxy ARP) while the PLC answers too.
    for i in range(4):
        p.arp_reply(t + i, ROUTER_MAC, PLC[1], HMI[0], HMI[1])
        p.arp_reply(t + i + 0.01, *PLC, *HMI)
    by_ip = _run(p.write(tmp_path / "proxy-arp.pcap"))
    router = by_ip[ROUTER[1]]
    assert router.is_router
    assert router.role == "router"
    assert not any(SPOOF in e for e in _role_texts(router))


def _empty_connection(p: Plant, t: float, client: tuple[str, str], server: tuple[str, str],
                      port: int, sport: int) -> None:
    """SYN, SYN-ACK, RST: a connection opened and dropped without a byte of data."""
    (cmac, cip), (smac, sip) = client, server
    p.add(t, tcp_frame(cip, sip, sport, port, seq=1, flags="S", src_mac=cmac, dst_mac=smac))
    p.add(t + 0.0001, tcp_frame(sip, cip, port, sport, seq=9, ack=2, flags="SA", src_mac=smac,
                                dst_mac=cmac))
    p.add(t + 0.0002, tcp_frame(cip, sip, sport, port, seq=2, flags="R", src_mac=cmac,
                                dst_mac=smac))


def test_connection_flood_in_a_plant_names_the_flooder_not_the_monitor(tmp_path: Path) -> None:
    monitor = ("00:14:22:00:00:99", "10.0.0.99")
    p = Plant()
    t = p.tcp_session(0.0, HMI, PLC, 502, modbus_polls(30))
    for i in range(300):  # 100 connections a second
        _empty_connection(p, t + i * 0.01, ATTACKER, PLC, 502, 30000 + i)
    for i in range(150):  # a port check every 2 s: as many connections, spread over 5 minutes
        _empty_connection(p, t + i * 2.0, monitor, PLC, 502, 50000 + i)
    by_ip = _run(p.write(tmp_path / "flood.pcap"))
    attacker = by_ip[ATTACKER[1]]
    assert attacker.role == "it_workstation"
    assert any(f"opened 300 TCP connections to {PLC[1]}:502 that carried no data" in e
               for e in _role_texts(attacker))
    assert not any(FLOOD in e for e in _role_texts(by_ip[monitor[1]]))
    assert by_ip[PLC[1]].role == "plc"


def test_adhoc_modbus_writer_in_a_plant(tmp_path: Path) -> None:
    p = Plant()
    t = p.tcp_session(0.0, HMI, PLC, 502, modbus_polls(30))
    write = modbus_tcp_adu(1, 1, modbus_write_single_register(10, 999))
    t = p.tcp_session(t, ATTACKER, PLC, 502, [(write, write)], sport=45000)
    multi = modbus_tcp_adu(1, 1, modbus_write_multiple_registers(0, [7]))
    p.tcp_session(t, ATTACKER, PLC2, 502,
                  [(multi, modbus_tcp_adu(1, 1, modbus_write_multiple_registers_response(0, 1)))],
                  sport=45001)
    by_ip = _run(p.write(tmp_path / "adhoc.pcap"))
    attacker = by_ip[ATTACKER[1]]
    assert attacker.role == "it_workstation"
    assert any(e.startswith("wrote to 2 devices over Modbus/TCP (2 writes) and read nothing")
               for e in _role_texts(attacker))
    assert by_ip[HMI[1]].role == "hmi"
