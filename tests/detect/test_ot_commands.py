"""OT command rules through the real pipeline: each command raises its alert with the right
ATT&CK technique and endpoints; ordinary operation next to it raises nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from otsight.detect.rules.ot_catalog import command_of
from otsight.detect.rules.ot_commands import OtCommandDetector
from otsight.protocols.modbus.events import ModbusRequest

from .builders import (
    ATK,
    EWS,
    HMI,
    PLC,
    PLC2,
    S7_PLC_START,
    S7_PLC_STOP,
    S7_READ_VAR,
    S7_REQUEST_DOWNLOAD,
    T0,
    Capture,
    bacnet_confirmed,
    bacnet_dcc,
    bacnet_reinitialize,
    cip_request,
    detect,
    dnp3_request,
    enip_register,
    enip_rr,
    iec104_i,
    iec104_startdt,
    kinds,
    modbus,
    modbus_diagnostics,
    modbus_poll,
    s7_ack,
    s7_job,
)

RTU, CTRL, BAC = "192.0.2.40", "192.0.2.50", "192.0.2.70"
Build = Callable[[Capture, float], None]


def _s7(param: bytes, function: int) -> Build:
    return lambda c, t: c.exchange(t, EWS, PLC, 40100, 102, s7_job(7, param), s7_ack(7, function))


def _dnp3(function: int) -> Build:
    return lambda c, t: c.tcp(t, HMI, RTU, 40200, 20000, dnp3_request(3, function))


def _cip(service: int, class_id: int, data: bytes = b"") -> Build:
    def build(c: Capture, t: float) -> None:
        c.tcp(t - 0.5, EWS, CTRL, 40300, 44818, enip_register())
        c.tcp(t, EWS, CTRL, 40300, 44818, enip_rr(cip_request(service, class_id, 1, data)))
    return build


def _bacnet(service: int, body: bytes) -> Build:
    return lambda c, t: c.udp(t, HMI, BAC, 47808, 47808, bacnet_confirmed(1, service, body))


def _iec104(type_id: int, element: bytes) -> Build:
    def build(c: Capture, t: float) -> None:
        c.tcp(t - 0.5, HMI, RTU, 40400, 2404, iec104_startdt())
        c.tcp(t, HMI, RTU, 40400, 2404, iec104_i(0, 0, type_id, 6, 0, element))
    return build


def _modbus_diag(sub: int) -> Build:
    return lambda c, t: c.exchange(t, ATK, PLC2, 40500, 502, modbus(1, modbus_diagnostics(sub)))


# (case, build, expected kind, technique, severity, actor, target)
RAISE: list[tuple[str, Build, str, str, str, str, str]] = [
    ("s7-plc-stop", _s7(S7_PLC_STOP, 0x29), "plc-stop", "T0858", "critical", EWS, PLC),
    ("s7-plc-start", _s7(S7_PLC_START, 0x28), "plc-start", "T0858", "high", EWS, PLC),
    ("s7-download", _s7(S7_REQUEST_DOWNLOAD, 0x1A), "program-download", "T0843", "critical",
     EWS, PLC),
    ("s7-upload", _s7(b"\x1d\x00\x00\x00\x00\x00\x00\x00\x09_0800001P", 0x1D),
     "program-upload", "T0845", "medium", EWS, PLC),
    ("dnp3-cold-restart", _dnp3(13), "device-restart", "T0816", "high", HMI, RTU),
    ("dnp3-warm-restart", _dnp3(14), "device-restart", "T0816", "high", HMI, RTU),
    ("dnp3-stop-app", _dnp3(18), "application-stop", "T0881", "critical", HMI, RTU),
    ("dnp3-delete-file", _dnp3(27), "file-delete", "T0809", "high", HMI, RTU),
    ("dnp3-open-file", _dnp3(25), "file-transfer", "T0867", "medium", HMI, RTU),
    ("dnp3-disable-unsolicited", _dnp3(21), "dnp3-disable-unsolicited", "T0804", "low", HMI,
     RTU),
    ("cip-stop", _cip(0x07, 0x8E), "plc-stop", "T0858", "critical", EWS, CTRL),
    ("cip-start", _cip(0x06, 0x8E), "plc-start", "T0858", "high", EWS, CTRL),
    ("cip-reset", _cip(0x05, 0x01), "device-restart", "T0816", "high", EWS, CTRL),
    ("cip-firmware", _cip(0x4D, 0xA1, b"\0" * 8), "firmware-update", "T0857", "critical", EWS,
     CTRL),
    ("cip-program-create", _cip(0x08, 0x6B), "program-download", "T0843", "critical", EWS,
     CTRL),
    ("cip-set-port", _cip(0x10, 0xF6, b"\x06\x00\x01"), "device-config-change", "T0836",
     "medium", EWS, CTRL),
    ("bacnet-reinitialize", _bacnet(20, bacnet_reinitialize(0)), "device-restart", "T0816",
     "high", HMI, BAC),
    ("bacnet-dcc-disable", _bacnet(17, bacnet_dcc(1, 5)), "communication-disable", "T0814",
     "high", HMI, BAC),
    ("iec104-reset-process", _iec104(105, b"\x01"), "device-restart", "T0816", "high", HMI,
     RTU),
    ("modbus-listen-only", _modbus_diag(4), "modbus-listen-only", "T0814", "critical", ATK,
     PLC2),
    ("modbus-restart-comms", _modbus_diag(1), "device-restart", "T0816", "high", ATK, PLC2),
    ("modbus-clear-counters", _modbus_diag(10), "modbus-diagnostics", "T0855", "medium", ATK,
     PLC2),
    ("modbus-diag-read", _modbus_diag(11), "modbus-diagnostics", "T0888", "low", ATK, PLC2),
]

QUIET: list[tuple[str, Build]] = [
    ("s7-read-var", _s7(S7_READ_VAR, 0x04)),
    ("dnp3-read-class0", lambda c, t: c.tcp(t, HMI, RTU, 40200, 20000,
                                           dnp3_request(1, 1, bytes([60, 1, 6])))),
    ("dnp3-direct-operate", _dnp3(5)),
    ("cip-get-attribute-all", _cip(0x01, 0x01)),
    ("cip-set-on-a-tag-object", _cip(0x10, 0x6B, b"\x01\x00\x00")),
    ("bacnet-dcc-enable", _bacnet(17, bacnet_dcc(0, 0))),
    ("bacnet-read-property", _bacnet(12, bytes([0x0C, 0x02, 0x00, 0x0A, 0xB5, 0x19, 0x4D]))),
    ("iec104-interrogation", _iec104(100, b"\x14")),
    ("iec104-single-command", _iec104(45, b"\x01")),
]


def _background(cap: Capture) -> None:
    for i in range(10):
        modbus_poll(cap, i, HMI, PLC, i + 1, 40001)


@pytest.mark.parametrize(
    ("case", "build", "kind", "technique", "severity", "actor", "target"), RAISE,
    ids=[r[0] for r in RAISE],
)
def test_command_raises_its_alert(
    tmp_path: Path, case: str, build: Build, kind: str, technique: str, severity: str,
    actor: str, target: str,
) -> None:
    cap = Capture()
    _background(cap)
    build(cap, 5.0)
    stage = detect([cap.write(tmp_path / f"{case}.pcap")], [OtCommandDetector()])
    (alert,) = stage.alerts
    assert (alert.kind, alert.technique_id, alert.severity) == (kind, technique, severity)
    assert (alert.src_ip, alert.dst_ip, alert.detector) == (actor, target, "ot-commands")
    assert alert.ts == pytest.approx(T0 + 5.0, abs=1e-6)
    (evidence,) = alert.evidence
    assert evidence.ts == alert.ts
    assert evidence.frame > 0
    assert actor in alert.explanation
    assert target in alert.title


@pytest.mark.parametrize(("case", "build"), QUIET, ids=[q[0] for q in QUIET])
def test_ordinary_operation_raises_nothing(tmp_path: Path, case: str, build: Build) -> None:
    cap = Capture()
    _background(cap)
    build(cap, 5.0)
    stage = detect([cap.write(tmp_path / f"{case}.pcap")], [OtCommandDetector()])
    assert stage.alerts == []
    assert sum(stage.raised.values()) == 0


def test_s7_download_blocks_pulled_by_the_plc_are_credited_to_the_station(
    tmp_path: Path,
) -> None:
    """In an S7 download the PLC sends the download-block jobs to the programming station."""
    cap = Capture()
    cap.exchange(1.0, EWS, PLC, 40100, 102, s7_job(1, S7_REQUEST_DOWNLOAD), s7_ack(1, 0x1A))
    block = b"\x1b\x00\x01\x00\x00\x00\x00\x00\x09_0A00001P"
    cap.tcp(1.1, PLC, EWS, 102, 40100, s7_job(2, block))
    cap.tcp(1.2, PLC, EWS, 102, 40100, s7_job(3, b"\x1c\x00\x01\x00\x00\x00\x00\x00\x09_0A00001P"))
    stage = detect([cap.write(tmp_path / "download.pcap")], [OtCommandDetector()])
    (alert,) = stage.alerts  # three raw alerts, one after deduplication
    assert (alert.kind, alert.src_ip, alert.dst_ip, alert.count) == (
        "program-download", EWS, PLC, 3)
    assert [e.operation for e in alert.evidence] == [
        "request-download", "download-block", "download-ended"]


def test_ignored_kinds_are_not_raised(tmp_path: Path) -> None:
    cap = Capture()
    _modbus_diag(11)(cap, 1.0)
    _modbus_diag(4)(cap, 2.0)
    detector = OtCommandDetector.from_config({"ignore_kinds": ["modbus-diagnostics"]})
    stage = detect([cap.write(tmp_path / "diag.pcap")], [detector])
    assert kinds(stage.alerts) == ["modbus-listen-only"]


def _umas(sub: int) -> ModbusRequest:
    return ModbusRequest(
        ts=T0, frame=1, flow_id=1, src_ip=EWS, src_port=40000, dst_ip=PLC, dst_port=502,
        transport="tcp", transaction_id=1, unit_id=0, function_code=90,
        function="schneider-umas", sub_function=sub,
    )


@pytest.mark.parametrize(
    ("sub", "kind"),
    [(0x40, "plc-start"), (0x41, "plc-stop"), (0x30, "program-download"),
     (0x31, "program-download"), (0x33, "program-upload"), (0x12, None), (0x24, None)],
)
def test_umas_functions_when_the_dissector_names_them(sub: int, kind: str | None) -> None:
    """Schneider names transfers from the PLC's side: its "upload" (0x30) sends a program to
    the PLC. The Modbus dissector does not expose the UMAS function code yet (sub_function is
    None for FC 90), so this checks the catalogue on the event it will produce."""
    cmd = command_of(_umas(sub))
    assert (cmd.kind if cmd else None) == kind
