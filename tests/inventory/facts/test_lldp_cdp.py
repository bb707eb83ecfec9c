"""LLDP and CDP facts: names, descriptions, platforms, capabilities and addresses of the sender."""

from __future__ import annotations

import struct
from pathlib import Path

from otsight.testing.packets import ethernet, mac_bytes

from .helpers import acts, facts, observed

SWITCH = "00:1b:1b:02:9a:c3"  # the sending port
CHASSIS = "00:1b:1b:02:9a:c0"
CISCO = "00:19:06:ea:b8:85"
DESC = "Siemens, SIMATIC NET, SCALANCE X204-2, 6GK5 204-2BB10-2AA3, HW: 4, FW: V4.1.0"


def lldp_tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!H", kind << 9 | len(value)) + value


def lldp_frame() -> bytes:
    mgmt = bytes([5, 1]) + bytes([192, 0, 2, 1]) + bytes([2]) + struct.pack("!I", 1) + b"\x00"
    body = (
        lldp_tlv(1, b"\x04" + mac_bytes(CHASSIS))
        + lldp_tlv(2, b"\x07port-001")
        + lldp_tlv(3, struct.pack("!H", 120))
        + lldp_tlv(5, b"sw-cell-3")
        + lldp_tlv(6, DESC.encode())
        + lldp_tlv(7, struct.pack("!HH", 0x0014, 0x0004))  # bridge+router, bridge enabled
        + lldp_tlv(8, mgmt)
        + lldp_tlv(0, b"")
    )
    return ethernet("01:80:c2:00:00:0e", SWITCH, 0x88CC, body)


def cdp_tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value) + 4) + value


def cdp_frame() -> bytes:
    addresses = (
        struct.pack("!I", 1) + b"\x01\x01\xcc" + struct.pack("!H", 4) + bytes([192, 0, 2, 2])
    )
    software = b"Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(50)SE1"
    tlvs = (
        cdp_tlv(1, b"plant-sw1")
        + cdp_tlv(2, addresses)
        + cdp_tlv(3, b"GigabitEthernet0/5")
        + cdp_tlv(4, struct.pack("!I", 0x28))  # switch, igmp
        + cdp_tlv(5, software)
        + cdp_tlv(6, b"cisco WS-C2960-24TT-L")
        + cdp_tlv(0x16, addresses)  # the same address again as management address
    )
    body = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + bytes([2, 180]) + b"\x00\x00" + tlvs
    return ethernet("01:00:0c:cc:cc:cc", CISCO, len(body), body)


def test_lldp(tmp_path: Path) -> None:
    found = facts(tmp_path, [lldp_frame()])
    assert observed(found) == {
        ("device_name", "sw-cell-3", None, SWITCH, 80),
        ("os", DESC, None, SWITCH, 80),
        ("firmware", "V4.1.0", None, SWITCH, 70),
        ("device_type", "bridge", None, SWITCH, 80),  # the enabled capabilities
        ("ip", "192.0.2.1", "192.0.2.1", SWITCH, 80),
        ("mac", CHASSIS, None, SWITCH, 80),
    }
    assert not acts(found)


def test_cdp(tmp_path: Path) -> None:
    found = facts(tmp_path, [cdp_frame()])
    software = "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(50)SE1"
    assert observed(found) == {
        ("device_name", "plant-sw1", None, CISCO, 80),
        ("model", "cisco WS-C2960-24TT-L", None, CISCO, 80),
        ("os", software, None, CISCO, 80),
        ("firmware", "12.2(50)SE1", None, CISCO, 70),
        ("device_type", "switch,igmp-capable", None, CISCO, 80),
        ("ip", "192.0.2.2", "192.0.2.2", CISCO, 80),
    }
    assert len(found) == 6  # the address in two TLVs is one binding
