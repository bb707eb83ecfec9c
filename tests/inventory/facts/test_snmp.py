"""SNMP facts: the system group of an agent's response or trap; manager requests by PDU type."""

from __future__ import annotations

from pathlib import Path

from .helpers import CLIENT, SERVER, acts, facts, observed, udp

SYS_DESCR, SYS_OBJECT_ID, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"
DESCR = "Linux rtu-gw 4.19.0 #1 SMP armv7l, FW: 2.4.1"


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    length = bytes([n]) if n < 128 else bytes([0x81, n])
    return bytes([tag]) + length + content


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        rest = part
        chunk = [rest & 0x7F]
        rest >>= 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def message(pdu_tag: int, request_id: int, varbinds: list[tuple[str, bytes]]) -> bytes:
    binds = b"".join(tlv(0x30, oid(name) + value) for name, value in varbinds)
    pdu = tlv(0x02, bytes([request_id])) + tlv(0x02, b"\x00") + tlv(0x02, b"\x00")
    pdu += tlv(0x30, binds)
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, b"public") + tlv(pdu_tag, pdu))


NULL = b"\x05\x00"


def test_system_group_and_requests(tmp_path: Path) -> None:
    names = [(SYS_DESCR, NULL), (SYS_OBJECT_ID, NULL), (SYS_NAME, NULL)]
    answer = [
        (SYS_DESCR, tlv(0x04, DESCR.encode())),
        (SYS_OBJECT_ID, oid("1.3.6.1.4.1.9.1.516")),
        (SYS_NAME, tlv(0x04, b"rtu-gw")),
    ]
    frames = [
        udp(CLIENT, SERVER, 40000, 161, message(0xA0, 1, names)),
        udp(SERVER, CLIENT, 161, 40000, message(0xA2, 1, answer)),
        udp(CLIENT, SERVER, 40000, 161, message(0xA3, 2, [(SYS_NAME, tlv(0x04, b"evil"))])),
        udp(SERVER, CLIENT, 40001, 162, message(0xA7, 3, [(SYS_NAME, tlv(0x04, b"rtu-gw"))])),
    ]
    found = facts(tmp_path, frames)
    assert observed(found) == {
        ("device_name", "rtu-gw", SERVER, None, 80),
        ("product_code", "1.3.6.1.4.1.9.1.516", SERVER, None, 80),
        ("os", DESCR, SERVER, None, 80),
        ("firmware", "2.4.1", SERVER, None, 70),
    }  # the name a set-request carries is not what the device is
    assert acts(found) == [
        ("snmp", "read", "get-request", CLIENT, SERVER),
        ("snmp", "write", "set-request", CLIENT, SERVER),
        ("snmp", "publish", "trap-v2", SERVER, CLIENT),  # the agent reports to its manager
    ]
