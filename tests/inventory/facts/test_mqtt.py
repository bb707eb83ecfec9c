"""MQTT facts: the broker stays the server, whoever sends a PUBLISH."""

from __future__ import annotations

import struct
from pathlib import Path

from otsight.inventory.model import Activity

from .helpers import CLIENT, SERVER, Tcp, acts, facts


def _str(s: str) -> bytes:
    return struct.pack("!H", len(s)) + s.encode()


def packet(head: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([head, len(body)]) + body


CONNECT = packet(0x10, _str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _str("sensor-1"))
CONNACK = packet(0x20, b"\x00\x00")
SUBSCRIBE = packet(0x82, struct.pack("!H", 1) + _str("plant/#") + b"\x00")
SUBACK = packet(0x90, struct.pack("!H", 1) + b"\x00")


def publish(topic: str, payload: bytes) -> bytes:
    return packet(0x30, _str(topic) + payload)


def test_publisher_subscriber_and_broker(tmp_path: Path) -> None:
    conn = Tcp(sport=1883)
    messages = [
        (True, CONNECT),
        (False, CONNACK),
        (True, SUBSCRIBE),
        (False, SUBACK),
        (True, publish("plant/tank1/level", b"42.5")),
        (False, publish("plant/tank2/level", b"17.0")),  # the broker delivers
        (True, b"\xc0\x00"),  # PINGREQ: nothing
        (False, b"\xd0\x00"),  # PINGRESP: nothing
        (True, b"\xe0\x00"),  # DISCONNECT
    ]
    found = facts(tmp_path, conn.exchange(*messages))
    assert acts(found) == [
        ("mqtt", "session", "connect", CLIENT, SERVER),
        ("mqtt", "subscribe", "subscribe", CLIENT, SERVER),
        ("mqtt", "publish", "publish", CLIENT, SERVER),
        ("mqtt", "subscribe", "publish-delivered", CLIENT, SERVER),
        ("mqtt", "session", "disconnect", CLIENT, SERVER),
    ]
    assert {a.server_port for a in found if isinstance(a, Activity)} == {1883}
