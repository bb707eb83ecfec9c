"""IEC 104 facts: commands of the controlling station, STARTDT; replies give nothing."""

from __future__ import annotations

import struct
from pathlib import Path

from .helpers import CLIENT, SERVER, Tcp, acts, facts


def u_frame(control: int) -> bytes:
    return bytes([0x68, 4, control, 0, 0, 0])


def i_frame(tx: int, asdu: bytes) -> bytes:
    return bytes([0x68, 4 + len(asdu)]) + struct.pack("<HH", tx << 1, 0) + asdu


def asdu(type_id: int, cause: int, element: bytes, ioa: int = 100) -> bytes:
    head = bytes([type_id, 1, cause, 0]) + struct.pack("<H", 1)
    return head + ioa.to_bytes(3, "little") + element


def test_commands_and_session(tmp_path: Path) -> None:
    conn = Tcp(sport=2404)
    messages = [
        (True, u_frame(0x07)),  # STARTDT act
        (False, u_frame(0x0B)),  # STARTDT con
        (True, u_frame(0x43)),  # TESTFR act: keep-alive, nothing
        (True, i_frame(0, asdu(100, 6, b"\x14", ioa=0))),  # general interrogation
        (False, i_frame(0, asdu(100, 7, b"\x14", ioa=0))),  # its actcon: nothing
        (False, i_frame(1, asdu(1, 3, b"\x01"))),  # spontaneous single point: nothing
        (True, i_frame(1, asdu(45, 6, b"\x81"))),  # single command, select
        (True, i_frame(2, asdu(50, 6, struct.pack("<f", 42.5) + b"\x00"))),  # set-point float
        (True, i_frame(3, asdu(103, 6, b"\x00" * 7, ioa=0))),  # clock synchronisation
        (True, i_frame(4, asdu(105, 6, b"\x01", ioa=0))),  # reset process
    ]
    found = acts(facts(tmp_path, conn.exchange(*messages)))
    assert {(p, cl, sv) for p, _c, _op, cl, sv in found} == {("iec104", CLIENT, SERVER)}
    assert [(c, op) for _p, c, op, _cl, _sv in found] == [
        ("session", "startdt-act"),
        ("read", "C_IC_NA_1"),
        ("control", "C_SC_NA_1"),
        ("write", "C_SE_NC_1"),
        ("configure", "C_CS_NA_1"),
        ("control", "C_RP_NA_1"),
    ]
