"""S7comm facts: SZL identification of the PLC, job and userdata request categories."""

from __future__ import annotations

import struct
from pathlib import Path

from .helpers import CLIENT, SERVER, Tcp, acts, facts, observed


def tpkt(payload: bytes) -> bytes:
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def dt(s7: bytes) -> bytes:
    return tpkt(bytes([2, 0xF0, 0x80]) + s7)


def cr() -> bytes:
    params = b"\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02"
    body = b"\xe0\x00\x00\x00\x01\x00" + params
    return tpkt(bytes([len(body)]) + body)


def s7(rosctr: int, ref: int, param: bytes, data: bytes = b"") -> bytes:
    head = struct.pack("!BBHHHH", 0x32, rosctr, 0, ref, len(param), len(data))
    if rosctr in (2, 3):
        head += b"\x00\x00"
    return head + param + data


def userdata(ref: int, utype: int, group: int, sub: int, payload: bytes) -> bytes:
    if utype == 4:
        param = bytes([0, 1, 0x12, 4, 0x11, (utype << 4) | group, sub, 0])
    else:
        param = bytes([0, 1, 0x12, 8, 0x12, (utype << 4) | group, sub, 0, 0, 0, 0, 0])
    data = bytes([0xFF, 0x09]) + struct.pack("!H", len(payload)) + payload
    return s7(7, ref, param, data)


def szl_0011() -> bytes:
    def rec(index: int, mlfb: str, ausbg: int, ausbe: int) -> bytes:
        return (
            struct.pack("!H", index)
            + mlfb.ljust(20).encode()
            + struct.pack("!HHH", 0, ausbg, ausbe)
        )

    records = rec(1, "6ES7 315-2EH14-0AB0", 0, 1) + rec(6, "6ES7 315-2EH14-0AB0", 0x5600, 4)
    records += rec(7, "", 0x5603, 0x0204)
    return struct.pack("!HHHH", 0x0011, 0, 28, 3) + records


def szl_001c() -> bytes:
    def rec(index: int, text: str) -> bytes:
        return struct.pack("!H", index) + text.encode().ljust(32, b"\x00")

    records = rec(1, "Station-A") + rec(2, "PLC_1") + rec(5, "S C-X4U421302009")
    records += rec(7, "CPU 315-2 PN/DP") + rec(4, "Original Siemens Equipment")
    return struct.pack("!HHHH", 0x001C, 0, 34, 5) + records


def test_szl_identification_belongs_to_the_plc(tmp_path: Path) -> None:
    conn = Tcp(sport=102)
    frames = conn.exchange(
        (True, cr()),
        (True, dt(userdata(1, 4, 4, 1, struct.pack("!HH", 0x0011, 0)))),
        (False, dt(userdata(1, 8, 4, 1, szl_0011()))),
        (True, dt(userdata(2, 4, 4, 1, struct.pack("!HH", 0x001C, 0)))),
        (False, dt(userdata(2, 8, 4, 1, szl_001c()))),
    )
    found = facts(tmp_path, frames)
    assert {(a, v, ip, r) for a, v, ip, _m, r in observed(found)} == {
        ("model", "6ES7 315-2EH14-0AB0", SERVER, 90),
        ("hardware_version", "V0.0.4", SERVER, 90),
        ("firmware", "V3.2.4", SERVER, 90),
        ("device_name", "Station-A", SERVER, 90),
        ("application", "PLC_1", SERVER, 90),
        ("serial", "S C-X4U421302009", SERVER, 90),
        ("model", "CPU 315-2 PN/DP", SERVER, 85),
    }
    assert acts(found) == [
        ("s7comm", "session", "connection-request", CLIENT, SERVER),
        ("s7comm", "diagnostic", "read-szl", CLIENT, SERVER),
        ("s7comm", "diagnostic", "read-szl", CLIENT, SERVER),
    ]


def test_job_categories(tmp_path: Path) -> None:
    conn = Tcp(sport=102)
    item = b"\x12\x0a\x10\x02\x00\x04\x00\x01\x84\x00\x00\x00"
    block = b"\x00\x010800001P"
    jobs = [
        b"\xf0\x00" + struct.pack("!HHH", 1, 1, 480),  # setup communication
        b"\x04\x01" + item,  # read var
        b"\x05\x01" + item,  # write var
        b"\x1a\x00\x01\x00\x00\x00\x00\x00\x09_0A00001P\x0d1000128000094",  # request download
        b"\x28\x00\x00\x00\x00\x00\x00\xfd" + struct.pack("!H", len(block)) + block + b"\x05_INSE",
        b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x00\x09P_PROGRAM",  # plc-control: start
        b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM",  # plc stop
    ]
    messages = [(True, dt(s7(1, k + 1, p))) for k, p in enumerate(jobs)]
    messages.append((False, dt(s7(3, 2, b"\x04\x01", b"\xff\x04\x00\x10\x00\x2a"))))
    messages.append((True, dt(userdata(20, 4, 0x7, 2, b"\x00" * 10))))  # set clock
    messages.append((True, dt(userdata(21, 4, 0x5, 1, b"\x00" * 8))))  # PLC password
    messages.append((True, dt(userdata(22, 4, 0x3, 1, b""))))  # list blocks
    found = facts(tmp_path, conn.exchange(*messages))
    assert [(c, op) for _p, c, op, _cl, _sv in acts(found)] == [
        ("session", "setup-communication"),
        ("read", "read-var"),
        ("write", "write-var"),
        ("program", "request-download"),
        ("program", "plc-control"),
        ("control", "plc-control"),
        ("control", "plc-stop"),
        ("configure", "set-clock"),
        ("login", "plc-password"),
        ("diagnostic", "list-blocks"),
    ]
    assert not observed(found)
