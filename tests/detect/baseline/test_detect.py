"""Learn a hand-made plant, then report what deviates from it (through the real pipeline)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from otsight.alerts.model import Alert
from otsight.detect.baseline.detector import LearnedPeers

from ..builders import T0
from .plant import ATK, EWS, HMI, PLC, PLC2, Plant, baseline, run, summary


def attacked(path: Path) -> Path:
    """60 s of normal operation, then deviations of every kind while operation goes on."""
    cap = Plant().normal(0, 120, plc2_until=100)
    cap.arp_request(70.0, ATK, PLC)  # the attacker's first frame
    sport = cap.connect(70.1, ATK, PLC)
    cap.write_registers(70.2, ATK, PLC, sport, 0, [950, 50])  # new host, FC 16, HR 1 unwritten
    sport = cap.connect(75.0, EWS, PLC)
    cap.write_registers(75.1, EWS, PLC, sport, 0, [800])  # known edge, new operation
    cap.write_register(90.3, HMI, PLC, 40001, 0, 5000)  # known operation, value out of range
    cap.write_register(95.3, HMI, PLC, 40001, 7, 1)  # known operation, register never written
    return cap.write(path)


def test_every_kind_of_deviation_is_reported_once_with_its_reason(tmp_path: Path) -> None:
    detector = baseline(learn_s=60)
    stage = run(attacked(tmp_path / "attacked.pcap"), detector)
    assert summary(stage.alerts) == [
        ("new-device", ATK, None),
        ("new-conversation", ATK, PLC),
        ("new-operation", ATK, PLC),
        ("new-operation", EWS, PLC),
        ("write-out-of-range", HMI, PLC),  # two writes, folded by the deduplicator
        ("polling-stopped", HMI, PLC2),
    ]
    device, contact, rogue, ews, writes, silent = stage.alerts
    assert stage.raw is not None
    value, address = (a for a in stage.raw if a.kind == "write-out-of-range")
    assert writes.count == 2
    assert (device.technique_id, device.technique, device.src_mac) == (
        "T0864", "Transient Cyber Asset", "b8:27:eb:9d:3e:66")
    assert device.ts == pytest.approx(T0 + 70.0)
    assert contact.title == f"New conversation: {ATK} -> {PLC} tcp/502"
    assert (rogue.technique_id, rogue.severity) == ("T0836", "high")
    assert rogue.explanation.startswith(
        f"{ATK} -> {PLC} modbus FC 16 (write-multiple-registers) never seen in 60 s of "
        f"learning: {ATK} had never talked to {PLC}")
    assert "holding-registers 0-1 of unit 1, outside the learned writes (learned writes 0-0)" \
        in rogue.explanation
    assert (ews.technique_id, ews.severity) == ("T0855", "high")  # a write, inside the ranges
    assert "FC 16 (write-multiple-registers) never ran on this edge" in ews.explanation
    assert "writes 5000 to holding-registers 0, outside the learned values 780.." in \
        value.explanation
    assert "holding-registers 7 of unit 1, outside the learned writes" in address.explanation
    assert (value.technique_id, address.technique_id) == ("T0836", "T0836")
    # HMI -> plc2 polled every second until t = 99.2: the next poll was due at 100.2, the
    # silence is decided 5 s after the last request
    assert silent.evidence[0].ts == pytest.approx(T0 + 99.2)
    assert silent.ts == pytest.approx(T0 + 100.2)
    assert silent.detected_ts == pytest.approx(T0 + 104.2)
    assert silent.technique_id == ""
    assert "every 1 s" in silent.explanation


def test_a_novelty_alerts_once_not_per_packet(tmp_path: Path) -> None:
    cap = Plant().normal(0, 120)
    for k in range(20):  # a new master reading every 2 s over fresh connections
        sport = cap.connect(62.0 + 2 * k, ATK, PLC2)
        cap.read(62.1 + 2 * k, ATK, PLC2, sport, 0, 4)
    stage = run(cap.write(tmp_path / "reader.pcap"), baseline(learn_s=60))
    assert stage.raw is not None
    assert summary(stage.raw) == [
        ("new-device", ATK, None), ("new-conversation", ATK, PLC2), ("new-operation", ATK, PLC2)]
    assert stage.raw[2].severity == "low"  # a read: no technique, low


def test_the_same_traffic_after_learning_raises_nothing(tmp_path: Path) -> None:
    normal = Plant().normal(0, 120).write(tmp_path / "normal.pcap")
    first = baseline(learn_s=60)
    assert run(normal, first).alerts == []  # the second minute is like the first
    assert first.state.learning.seconds == pytest.approx(60.0)
    replay = baseline(first.state)
    assert replay.detecting
    assert run(normal, replay).alerts == []  # the whole capture, judged against what was learned


def test_a_loop_that_falls_silent_during_learning_is_not_watched(tmp_path: Path) -> None:
    cap = Plant().normal(0, 120, plc2_until=30)
    stage = run(cap.write(tmp_path / "quiet.pcap"), baseline(learn_s=60))
    assert stage.alerts == []


def test_a_polling_loop_that_speeds_up_is_reported(tmp_path: Path) -> None:
    cap = Plant().normal(0, 120)
    for k in range(40):  # the same request on the same edge (another connection), 10 per second
        cap.read(80.05 + 0.1 * k, HMI, PLC2, 40003, 0, 2)
    stage = run(cap.write(tmp_path / "fast.pcap"), baseline(learn_s=60))
    assert summary(stage.alerts) == [("polling-faster", HMI, PLC2)]
    # decided as soon as the mean of the last 8 intervals (two of them the regular second)
    # falls under a third of the learned period
    assert "the last 8 requests came every 0.29 s on average" in stage.alerts[0].explanation


def test_udp_conversations_are_oriented_by_their_first_datagram(tmp_path: Path) -> None:
    cap = Plant().normal(0, 120)
    for k in range(0, 120, 5):  # the HMI asks a time server; the answers are no conversation
        cap.udp(k + 0.4, HMI, "192.0.2.2", 40123 + k, 123, b"\x23" + bytes(47))
        cap.udp(k + 0.41, "192.0.2.2", HMI, 123, 40123 + k, b"\x24" + bytes(47))
    for k in range(3):  # after learning: the EWS asks it too, and gets answers
        cap.udp(80 + k + 0.4, EWS, "192.0.2.2", 50000 + k, 123, b"\x23" + bytes(47))
        cap.udp(80 + k + 0.41, "192.0.2.2", EWS, 123, 50000 + k, b"\x24" + bytes(47))
    stage = run(cap.write(tmp_path / "ntp.pcap"), baseline(learn_s=60))
    assert summary(stage.alerts) == [("new-conversation", EWS, "192.0.2.2")]
    assert stage.alerts[0].title.endswith("udp/123")


def test_a_known_mac_claiming_a_known_address_of_another_device_is_named(tmp_path: Path) -> None:
    cap = Plant().normal(0, 120)
    cap.arp_reply(70.0, "b8:27:eb:9d:3e:66", PLC, HMI)  # a new MAC claims plc1's address
    stage = run(cap.write(tmp_path / "spoof.pcap"), baseline(learn_s=60))
    assert summary(stage.alerts) == [("new-device", PLC, None)]
    assert "learned as the address of 00:80:f4:3a:1c:01" in stage.alerts[0].explanation


def test_learning_can_be_counted_in_packets(tmp_path: Path) -> None:
    path = attacked(tmp_path / "attacked.pcap")
    by_time = baseline(learn_s=60)
    timed = run(path, by_time)
    learned = by_time.state.learning.packets
    by_count = baseline(learn_packets=learned)
    assert summary(run(path, by_count).alerts) == summary(timed.alerts)
    assert by_count.state.learning.packets == learned


def test_auto_learn_after_makes_a_recurring_novelty_normal(tmp_path: Path) -> None:
    cap = Plant().normal(0, 200)
    for k in range(12):  # a new reader every 10 s from t = 65
        cap.read(65.1 + 10 * k, ATK, PLC2, 45000, 0, 4)
    path = cap.write(tmp_path / "newcomer.pcap")
    strict, lenient = baseline(learn_s=60), baseline(learn_s=60, auto_learn_after=30)
    assert kinds(run(path, strict).raw) == kinds(run(path, lenient).raw)  # same alerts...
    assert lenient.state.knows_peer(PLC2, ATK, "modbus")  # ...but learned 30 s after them
    assert not strict.state.knows_peer(PLC2, ATK, "modbus")


def kinds(alerts: Sequence[Alert] | None) -> list[str]:
    return [a.kind for a in alerts or ()]


def test_unknown_master_asks_the_baseline_once_it_has_learned(tmp_path: Path) -> None:
    detector = baseline(learn_s=60)
    peers = LearnedPeers(detector)
    assert peers.knows(PLC, HMI, "modbus") is None  # nothing learned yet
    run(Plant().normal(0, 120).write(tmp_path / "normal.pcap"), detector)
    assert peers.knows(PLC, HMI, "modbus") is True
    assert peers.knows(PLC, ATK, "modbus") is False
    assert peers.knows(PLC2, EWS, "modbus") is False  # the EWS only ever read plc1


def test_a_known_device_claiming_another_devices_address_is_reported(tmp_path: Path) -> None:
    cap = Plant().normal(0, 120)
    cap.arp_reply(70.0, "3c:d9:2b:71:0e:21", PLC, HMI)  # the EWS's MAC claims plc1's address
    stage = run(cap.write(tmp_path / "claim.pcap"), baseline(learn_s=60))
    assert summary(stage.alerts) == [("address-claimed", PLC, None)]
    claim = stage.alerts[0]
    assert (claim.title, claim.technique_id, claim.src_mac) == (
        f"Address {PLC} claimed by 3c:d9:2b:71:0e:21", "T0830", "3c:d9:2b:71:0e:21")
    assert "learned in 60 s of learning as the address of 00:80:f4:3a:1c:01" in claim.explanation


def test_lenient_options_let_a_trusted_station_do_what_the_plant_already_does(
    tmp_path: Path,
) -> None:
    cap = Plant().normal(0, 120)
    sport = cap.connect(80.0, EWS, PLC)  # maintenance: a setpoint the EWS reads, never wrote
    cap.write_register(80.1, EWS, PLC, sport, 1, 220)
    sport = cap.connect(90.0, ATK, PLC)
    cap.write_register(90.1, ATK, PLC, sport, 1, 220)  # the same write from a new host
    path = cap.write(tmp_path / "maintenance.pcap")
    strict = run(path, baseline(learn_s=60))
    attacker = {("new-device", ATK, None), ("new-conversation", ATK, PLC),
                ("new-operation", ATK, PLC)}
    assert set(summary(strict.alerts)) == {("new-operation", EWS, PLC), *attacker}
    assert "outside the learned writes (learned writes 0-0)" in strict.alerts[0].explanation
    lenient = run(path, baseline(learn_s=60, operations_per_server=True,
                                 writes_within_reads=True))
    assert set(summary(lenient.alerts)) == attacker  # the new host still alerts
