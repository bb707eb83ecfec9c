"""Writes from a master never seen before, learned online per server after a warm-up."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from otsight.detect.rules.ot_commands import UnknownMasterDetector, UnknownMasterOptions

from .builders import (
    ATK,
    EWS,
    HMI,
    PLC,
    PLC2,
    T0,
    Capture,
    detect,
    kinds,
    modbus,
    modbus_device_id,
    modbus_poll,
)


def _write(cap: Capture, t: float, client: str, server: str, sport: int, value: int) -> None:
    cap.exchange(t, client, server, sport, 502, modbus(77, struct.pack(">BHH", 6, 2, value)),
                 modbus(77, struct.pack(">BHH", 6, 2, value)))


def _plant(cap: Capture, seconds: int = 30) -> None:
    """The HMI polls both PLCs every second; the EWS reads plc1 every 6 s from t = 1."""
    for i in range(seconds):
        modbus_poll(cap, i, HMI, PLC, 2 * i + 1, 40001)
        modbus_poll(cap, i + 0.2, HMI, PLC2, 2 * i + 2, 40002)
    for n, t in enumerate(range(1, seconds, 6)):
        modbus_poll(cap, t + 0.5, EWS, PLC, 500 + n, 41000 + n)


def test_a_new_master_writing_after_the_warm_up_is_reported(tmp_path: Path) -> None:
    cap = Capture()
    _plant(cap)
    _write(cap, 8.0, HMI, PLC, 40001, 800)  # known master: operation
    _write(cap, 9.0, EWS, PLC, 41900, 220)  # known (a reader during the warm-up): maintenance
    _write(cap, 10.0, ATK, PLC, 45000, 100)  # never seen: rogue master
    _write(cap, 17.0, ATK, PLC, 45001, 5000)  # still not accepted: reported again
    _write(cap, 18.0, ATK, PLC2, 45002, 950)
    stage = detect([cap.write(tmp_path / "writes.pcap")], [UnknownMasterDetector()])
    assert [(a.kind, a.src_ip, a.dst_ip, a.count) for a in stage.alerts] == [
        ("unknown-master-write", ATK, PLC, 2),
        ("unknown-master-write", ATK, PLC2, 1),
    ]
    first = stage.alerts[0]
    assert (first.technique_id, first.severity) == ("T0855", "high")
    assert first.ts == pytest.approx(T0 + 10.0, abs=1e-6)
    assert [e.detail for e in first.evidence] == ["address 2 = 100", "address 2 = 5000"]
    assert stage.raw is not None
    assert [a.ts - T0 for a in stage.raw] == pytest.approx([10.0, 17.0, 18.0], abs=1e-6)


def test_identification_by_an_unknown_client_is_discovery(tmp_path: Path) -> None:
    cap = Capture()
    _plant(cap, 20)
    cap.exchange(12.0, ATK, PLC, 45100, 502, modbus(5, modbus_device_id()))
    cap.exchange(13.0, EWS, PLC2, 41800, 502, modbus(6, modbus_device_id()))  # EWS unknown to plc2
    cap.exchange(14.0, EWS, PLC, 41801, 502, modbus(7, modbus_device_id()))  # known to plc1
    stage = detect([cap.write(tmp_path / "devid.pcap")], [UnknownMasterDetector()])
    assert [(a.kind, a.src_ip, a.dst_ip, a.technique_id) for a in stage.alerts] == [
        ("unknown-client-discovery", ATK, PLC, "T0888"),
        ("unknown-client-discovery", EWS, PLC2, "T0888"),
    ]
    quiet = UnknownMasterDetector(UnknownMasterOptions(report_identification=False))
    assert detect([tmp_path / "devid.pcap"], [quiet]).alerts == []


def test_clients_of_the_warm_up_are_learned_and_reads_never_alert(tmp_path: Path) -> None:
    cap = Capture()
    _plant(cap, 20)
    _write(cap, 3.0, ATK, PLC, 45000, 1)  # inside plc1's warm-up: learned, as any client
    _write(cap, 12.0, ATK, PLC, 45001, 2)
    modbus_poll(cap, 12.5, "192.0.2.99", PLC, 9, 46000)  # a new reader: baseline's business
    stage = detect([cap.write(tmp_path / "warmup.pcap")], [UnknownMasterDetector()])
    assert stage.alerts == []
    longer = UnknownMasterDetector(UnknownMasterOptions(warmup_s=1.0))
    assert kinds(detect([tmp_path / "warmup.pcap"], [longer]).alerts) == [
        "unknown-master-write"]  # with a 1 s warm-up the write at 3 s is already news


def test_a_baseline_verdict_overrides_the_warm_up(tmp_path: Path) -> None:
    class Accepting:
        def knows(self, server: str, client: str, protocol: str) -> bool | None:
            return client == ATK or None

    cap = Capture()
    _plant(cap, 15)
    _write(cap, 10.0, ATK, PLC, 45000, 100)
    stage = detect([cap.write(tmp_path / "baseline.pcap")],
                   [UnknownMasterDetector(baseline=Accepting())])
    assert stage.alerts == []
