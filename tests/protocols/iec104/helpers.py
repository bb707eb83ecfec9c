"""Builders of IEC 104 APDUs and a runner for hand-made captures."""

from __future__ import annotations

import struct
from pathlib import Path

from otsight.capture.writer import PcapWriter
from otsight.core.events import Event
from otsight.pipeline.runner import analyze
from otsight.protocols.iec104.dissector import Iec104Dissector
from otsight.protocols.registry import DissectorSelector
from otsight.testing.packets import tcp_frame

MASTER = "192.0.2.10"
RTU = "192.0.2.20"


def u_frame(control: int) -> bytes:
    return bytes([0x68, 4, control, 0, 0, 0])


def s_frame(rx: int) -> bytes:
    return bytes([0x68, 4, 1, 0]) + struct.pack("<H", rx << 1)


def i_frame(tx: int, rx: int, asdu: bytes) -> bytes:
    return bytes([0x68, 4 + len(asdu)]) + struct.pack("<HH", tx << 1, rx << 1) + asdu


def asdu(
    type_id: int,
    cause: int,
    common_address: int,
    objects: list[tuple[int, bytes]],
    *,
    sq: bool = False,
    test: bool = False,
    negative: bool = False,
    originator: int = 0,
) -> bytes:
    """``objects``: (address, element) pairs; with ``sq`` only the first address is written."""
    cot = cause | (0x80 if test else 0) | (0x40 if negative else 0)
    head = bytes([type_id, (0x80 if sq else 0) | len(objects), cot, originator])
    head += struct.pack("<H", common_address)
    if sq:
        return head + objects[0][0].to_bytes(3, "little") + b"".join(e for _a, e in objects)
    return head + b"".join(a.to_bytes(3, "little") + e for a, e in objects)


def tcp_capture(
    path: Path, messages: list[tuple[int, bytes]], sport: int = 50000, dport: int = 2404
) -> Path:
    """A TCP conversation (handshake, then ``(direction, payload)`` segments)."""
    seq = [1000, 5000]
    ts = 1_700_000_000_000_000_000
    frames = [
        tcp_frame(MASTER, RTU, sport, dport, seq=seq[0] - 1, flags="S"),
        tcp_frame(RTU, MASTER, dport, sport, seq=seq[1] - 1, ack=seq[0], flags="SA"),
        tcp_frame(MASTER, RTU, sport, dport, seq=seq[0], ack=seq[1], flags="A"),
    ]
    for direction, payload in messages:
        if direction == 0:
            frames.append(
                tcp_frame(MASTER, RTU, sport, dport, seq=seq[0], ack=seq[1], payload=payload)
            )
        else:
            frames.append(
                tcp_frame(RTU, MASTER, dport, sport, seq=seq[1], ack=seq[0], payload=payload)
            )
        seq[direction] += len(payload)
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, frame in enumerate(frames):
            w.write(frame, ts + i * 1_000_000)
    return path


def run(path: Path) -> list[Event]:
    events: list[Event] = []
    analyze([str(path)], handler_factory=DissectorSelector([Iec104Dissector], events.append))
    return events
