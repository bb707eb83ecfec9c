"""Builders of EtherNet/IP and CIP messages and a runner for hand-made captures."""

from __future__ import annotations

import struct
from pathlib import Path

from otsight.capture.writer import PcapWriter
from otsight.core.events import Event
from otsight.pipeline.runner import analyze
from otsight.protocols.enip import EnipDissector, EnipUdpDissector
from otsight.protocols.registry import DissectorSelector
from otsight.testing.packets import tcp_frame, udp_frame

CLIENT = "192.0.2.10"
PLC = "192.0.2.20"


def encap(
    command: int, data: bytes = b"", session: int = 0, context: bytes = b"\0" * 8, status: int = 0
) -> bytes:
    return struct.pack("<HHII8sI", command, len(data), session, status, context, 0) + data


def cpf(*items: tuple[int, bytes]) -> bytes:
    out = struct.pack("<H", len(items))
    for type_id, data in items:
        out += struct.pack("<HH", type_id, len(data)) + data
    return out


def rr_data(cip: bytes, session: int = 0x1234, context: bytes = b"ctx00001") -> bytes:
    body = struct.pack("<IH", 0, 10) + cpf((0x0000, b""), (0x00B2, cip))
    return encap(0x006F, body, session, context)


def unit_data(cip: bytes, connection_id: int, sequence: int, session: int = 0x1234) -> bytes:
    body = struct.pack("<IH", 0, 0) + cpf(
        (0x00A1, struct.pack("<I", connection_id)),
        (0x00B1, struct.pack("<H", sequence) + cip),
    )
    return encap(0x0070, body, session)


def request(service: int, path: bytes, data: bytes = b"") -> bytes:
    assert len(path) % 2 == 0
    return bytes([service, len(path) // 2]) + path + data


def response(service: int, status: int = 0, data: bytes = b"", ext: tuple[int, ...] = ()) -> bytes:
    head = bytes([service | 0x80, 0, status, len(ext)]) + b"".join(
        struct.pack("<H", e) for e in ext
    )
    return head + data


def logical(class_id: int, instance: int, attribute: int | None = None) -> bytes:
    out = b""
    for kind, value in ((0x20, class_id), (0x24, instance), (0x30, attribute)):
        if value is None:
            continue
        if value < 0x100:
            out += bytes([kind, value])
        elif value < 0x10000:
            out += bytes([kind | 1, 0]) + struct.pack("<H", value)
        else:
            out += bytes([kind | 2, 0]) + struct.pack("<I", value)
    return out


def symbol(name: str) -> bytes:
    raw = name.encode()
    out = bytes([0x91, len(raw)]) + raw
    return out + b"\0" * (len(out) & 1)


def identity_item(
    vendor: int = 1,
    device_type: int = 0x0E,
    product: int = 55,
    rev: tuple[int, int] = (20, 11),
    serial: int = 0x00C0FFEE,
    name: str = "1756-L61/B LOGIX5561",
    address: str = "192.0.2.20",
) -> bytes:
    sockaddr = struct.pack(">HH4s8x", 2, 44818, bytes(int(x) for x in address.split(".")))
    raw = name.encode()
    return (
        struct.pack("<H", 1)
        + sockaddr
        + struct.pack(
            "<HHHBBHIB", vendor, device_type, product, rev[0], rev[1], 0x30, serial, len(raw)
        )
        + raw
        + b"\x03"
    )


def tcp_capture(
    path: Path,
    messages: list[tuple[int, bytes]],
    sport: int = 50000,
    dport: int = 44818,
) -> Path:
    """A TCP conversation (handshake, then ``(direction, payload)`` segments)."""
    seq = [1000, 5000]
    ts = 1_700_000_000_000_000_000
    frames = [
        tcp_frame(CLIENT, PLC, sport, dport, seq=seq[0] - 1, flags="S"),
        tcp_frame(PLC, CLIENT, dport, sport, seq=seq[1] - 1, ack=seq[0], flags="SA"),
        tcp_frame(CLIENT, PLC, sport, dport, seq=seq[0], ack=seq[1], flags="A"),
    ]
    for direction, payload in messages:
        if direction == 0:
            frames.append(
                tcp_frame(CLIENT, PLC, sport, dport, seq=seq[0], ack=seq[1], payload=payload)
            )
        else:
            frames.append(
                tcp_frame(PLC, CLIENT, dport, sport, seq=seq[1], ack=seq[0], payload=payload)
            )
        seq[direction] += len(payload)
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, frame in enumerate(frames):
            w.write(frame, ts + i * 1_000_000)
    return path


def udp_capture(
    path: Path, messages: list[tuple[int, bytes]], sport: int = 50001, dport: int = 44818
) -> Path:
    ts = 1_700_000_000_000_000_000
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for i, (direction, payload) in enumerate(messages):
            if direction == 0:
                frame = udp_frame(CLIENT, PLC, sport, dport, payload)
            else:
                frame = udp_frame(PLC, CLIENT, dport, sport, payload)
            w.write(frame, ts + i * 1_000_000)
    return path


def run(path: Path) -> list[Event]:
    events: list[Event] = []
    sel = DissectorSelector([EnipDissector, EnipUdpDissector], events.append)
    analyze([str(path)], handler_factory=sel)
    return events
