"""Modbus facts: 43/14 identity of the server, request categories by function code."""

from __future__ import annotations

from pathlib import Path

from otsight.inventory.model import Activity, Observation
from otsight.testing.packets import (
    modbus_read_request,
    modbus_read_response,
    modbus_tcp_adu,
    modbus_write_multiple_registers,
    modbus_write_multiple_registers_response,
)

from .helpers import CLIENT, SERVER, Tcp, acts, facts, observed

OBJECTS = {
    0: b"Schneider Electric",
    1: b"BMX P34 2020",
    2: b"v3.10",
    3: b"www.se.com",
    4: b"Modicon M340",
    5: b"M340 CPU",
    6: b"TANK1_CTRL\x00",
}


def device_id_response(objects: dict[int, bytes]) -> bytes:
    body = b"".join(bytes([oid, len(v)]) + v for oid, v in objects.items())
    return bytes([0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, len(objects)]) + body


def test_device_identification_belongs_to_the_server(tmp_path: Path) -> None:
    conn = Tcp()
    frames = conn.exchange(
        (True, modbus_tcp_adu(1, 1, bytes([0x2B, 0x0E, 0x01, 0x00]))),
        (False, modbus_tcp_adu(1, 1, device_id_response(OBJECTS))),
    )
    found = facts(tmp_path, frames)
    src = "modbus/device-identification"
    assert {(a, v, ip, r) for a, v, ip, _mac, r in observed(found)} == {
        ("vendor", "Schneider Electric", SERVER, 90),
        ("product_code", "BMX P34 2020", SERVER, 90),
        ("firmware", "v3.10", SERVER, 90),
        ("model", "M340 CPU", SERVER, 90),  # ModelName
        ("model", "Modicon M340", SERVER, 85),  # ProductName, second choice
        ("application", "TANK1_CTRL", SERVER, 90),  # NUL padding dropped
    }
    assert {f.source for f in found if isinstance(f, Observation)} == {src}
    assert acts(found) == [
        ("modbus", "diagnostic", "encapsulated-interface-transport", CLIENT, SERVER)
    ]


def test_request_categories_by_function_code(tmp_path: Path) -> None:
    conn = Tcp()
    requests = [
        modbus_read_request(3, 0, 10),
        modbus_read_request(2, 0, 8),
        modbus_write_multiple_registers(100, [1, 2]),
        bytes([0x06, 0x00, 0x01, 0x00, 0x2A]),  # write single register
        bytes([0x08, 0x00, 0x04, 0x00, 0x00]),  # diagnostics: force listen-only mode
        bytes([0x08, 0x00, 0x00, 0x12, 0x34]),  # diagnostics: return query data
        bytes([0x08, 0x00, 0x01, 0x00, 0x00]),  # diagnostics: restart communications
        bytes([0x11]),  # report server id
        bytes([0x5A, 0x00, 0x02]),  # UMAS read-id (session 0)
        bytes([0x5A, 0x00, 0x41]),  # UMAS stop-plc
        bytes([0x41]),  # unassigned function code 65
    ]
    messages = [(True, modbus_tcp_adu(k + 1, 1, pdu)) for k, pdu in enumerate(requests)]
    messages.append((False, modbus_tcp_adu(1, 1, modbus_read_response(3, b"\x00\x01" * 10))))
    messages.append((False, modbus_tcp_adu(3, 1, modbus_write_multiple_registers_response(100, 2))))
    found = facts(tmp_path, conn.exchange(*messages))
    assert [(c, op) for _p, c, op, _cl, _sv in acts(found)] == [
        ("read", "read-holding-registers"),
        ("read", "read-discrete-inputs"),
        ("write", "write-multiple-registers"),
        ("write", "write-single-register"),
        ("control", "diagnostics"),
        ("diagnostic", "diagnostics"),
        ("control", "diagnostics"),
        ("diagnostic", "report-server-id"),
        ("diagnostic", "schneider-umas"),
        ("control", "schneider-umas"),
        ("other", "unknown-65"),
    ]
    assert {(cl, sv) for _p, _c, _op, cl, sv in acts(found)} == {(CLIENT, SERVER)}
    assert {(a.server_port, a.transport) for a in found if isinstance(a, Activity)} == {
        (502, "tcp")
    }
    assert not observed(found)  # responses without identification say nothing
