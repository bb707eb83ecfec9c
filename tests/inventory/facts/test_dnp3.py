"""DNP3 facts: master requests by function code; responses and confirms give nothing."""

from __future__ import annotations

from pathlib import Path

from otsight.protocols.dnp3.parser import crc16

from .helpers import CLIENT, SERVER, Tcp, acts, facts, observed

MASTER, OUTSTATION = 1, 10  # link addresses


def _crc(block: bytes) -> bytes:
    c = crc16(block)
    return bytes([c & 0xFF, c >> 8])


def link(fragment: bytes, from_master: bool, seq: int) -> bytes:
    """One link frame carrying a whole application fragment in one transport segment."""
    user = bytes([0xC0 | (seq & 0x3F)]) + fragment
    dst, src = (OUTSTATION, MASTER) if from_master else (MASTER, OUTSTATION)
    header = b"\x05\x64" + bytes([5 + len(user), 0xC4 if from_master else 0x44])
    header += dst.to_bytes(2, "little") + src.to_bytes(2, "little")
    out = header + _crc(header)
    for i in range(0, len(user), 16):
        out += user[i : i + 16] + _crc(user[i : i + 16])
    return out


CROB = bytes([12, 1, 0x17, 1, 0]) + bytes([0x03, 1]) + (100).to_bytes(4, "little") * 2 + b"\x00"
ANALOG_OUT = bytes([41, 2, 0x17, 1, 0]) + (1234).to_bytes(2, "little") + b"\x00"
CLASS_0 = bytes([60, 1, 0x06])


def test_request_categories(tmp_path: Path) -> None:
    conn = Tcp(sport=20000)
    fragments = [
        (True, bytes([0xC0, 1]) + CLASS_0),  # read
        (False, bytes([0xC0, 129, 0, 0])),  # response: nothing
        (True, bytes([0xC1, 0])),  # confirm: nothing
        (True, bytes([0xC2, 3]) + CROB),  # select a relay output
        (True, bytes([0xC3, 5]) + ANALOG_OUT),  # direct operate an analog output
        (True, bytes([0xC4, 13])),  # cold restart
        (True, bytes([0xC5, 18])),  # stop application
        (True, bytes([0xC6, 21]) + CLASS_0),  # disable unsolicited
        (True, bytes([0xC7, 25])),  # open file
        (False, bytes([0xF0, 130, 0, 0])),  # unsolicited response: nothing
    ]
    messages = [(m, link(f, m, k)) for k, (m, f) in enumerate(fragments)]
    found = facts(tmp_path, conn.exchange(*messages))
    assert acts(found) == [
        ("dnp3", "read", "read", CLIENT, SERVER),
        ("dnp3", "control", "select", CLIENT, SERVER),
        ("dnp3", "write", "direct-operate", CLIENT, SERVER),
        ("dnp3", "control", "cold-restart", CLIENT, SERVER),
        ("dnp3", "control", "stop-application", CLIENT, SERVER),
        ("dnp3", "configure", "disable-unsolicited", CLIENT, SERVER),
        ("dnp3", "program", "open-file", CLIENT, SERVER),
    ]
    assert not observed(found)
