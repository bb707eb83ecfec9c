"""Builders of BACnet/IP messages and a runner for hand-made captures."""

from __future__ import annotations

from pathlib import Path

from otsight.capture.writer import PcapWriter
from otsight.core.events import Event
from otsight.pipeline.runner import analyze
from otsight.protocols.bacnet.dissector import BacnetDissector
from otsight.protocols.registry import DissectorSelector
from otsight.testing.packets import udp_frame

CLIENT = "192.0.2.10"
DEVICE = "192.0.2.20"


def ctx(number: int, content: bytes) -> bytes:
    assert len(content) < 5
    return bytes([number << 4 | 0x08 | len(content)]) + content


def app(number: int, content: bytes) -> bytes:
    if len(content) < 5:
        return bytes([number << 4 | len(content)]) + content
    return bytes([number << 4 | 5, len(content)]) + content


def opening(n: int) -> bytes:
    return bytes([n << 4 | 0x0E])


def closing(n: int) -> bytes:
    return bytes([n << 4 | 0x0F])


def oid(object_type: int, instance: int) -> bytes:
    return (object_type << 22 | instance).to_bytes(4, "big")


def text(value: str) -> bytes:
    return app(7, b"\x00" + value.encode())


def bvlc(npdu: bytes, function: int = 0x0A, prefix: bytes = b"") -> bytes:
    """A BVLC frame; ``prefix`` goes between header and NPDU (Forwarded-NPDU's origin)."""
    body = prefix + npdu
    return bytes([0x81, function]) + (len(body) + 4).to_bytes(2, "big") + body


def confirmed(invoke_id: int, service: int, data: bytes) -> bytes:
    return bvlc(b"\x01\x04" + bytes([0x00, 0x05, invoke_id, service]) + data)


def complex_ack(invoke_id: int, service: int, data: bytes) -> bytes:
    return bvlc(b"\x01\x00" + bytes([0x30, invoke_id, service]) + data)


def unconfirmed(service: int, data: bytes, function: int = 0x0B) -> bytes:
    return bvlc(b"\x01\x00" + bytes([0x10, service]) + data, function)


def udp_capture(
    path: Path, messages: list[tuple[int, bytes]], sport: int = 47808, dport: int = 47808
) -> Path:
    ts = 1_700_000_000_000_000_000
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, (direction, payload) in enumerate(messages):
            if direction == 0:
                frame = udp_frame(CLIENT, DEVICE, sport, dport, payload)
            else:
                frame = udp_frame(DEVICE, CLIENT, dport, sport, payload)
            w.write(frame, ts + i * 1_000_000)
    return path


def run(path: Path) -> list[Event]:
    events: list[Event] = []
    analyze([str(path)], handler_factory=DissectorSelector([BacnetDissector], events.append))
    return events
