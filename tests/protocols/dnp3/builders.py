"""Hand-made DNP3 frames and captures for the tests."""

from __future__ import annotations

from pathlib import Path

from otsight.capture.writer import PcapWriter
from otsight.protocols.dnp3.parser import crc16
from otsight.testing.packets import tcp_frame, udp_frame

T0 = 1_767_225_600_000_000_000
MASTER_IP, OUTSTATION_IP = "192.0.2.10", "192.0.2.20"
MASTER, OUTSTATION = 1, 10  # DNP3 link addresses


def _crc(block: bytes) -> bytes:
    c = crc16(block)
    return bytes([c & 0xFF, c >> 8])


def link_frame(control: int, dst: int, src: int, user_data: bytes = b"") -> bytes:
    """A whole link frame with its header and block CRCs."""
    header = b"\x05\x64" + bytes([5 + len(user_data), control])
    header += dst.to_bytes(2, "little") + src.to_bytes(2, "little")
    out = header + _crc(header)
    for i in range(0, len(user_data), 16):
        block = user_data[i : i + 16]
        out += block + _crc(block)
    return out


def segments(fragment: bytes, first_seq: int = 0, size: int = 249) -> list[bytes]:
    """Transport segments (each as link user data) carrying ``fragment``."""
    chunks = [fragment[i : i + size] for i in range(0, len(fragment), size)] or [b""]
    out = []
    for k, chunk in enumerate(chunks):
        th = (first_seq + k) & 0x3F
        if k == 0:
            th |= 0x40
        if k == len(chunks) - 1:
            th |= 0x80
        out.append(bytes([th]) + chunk)
    return out


def frames_for(
    fragment: bytes, *, from_master: bool, first_seq: int = 0, size: int = 249
) -> list[bytes]:
    """Link frames (unconfirmed user data) carrying one application fragment."""
    ctl = 0xC4 if from_master else 0x44
    dst, src = (OUTSTATION, MASTER) if from_master else (MASTER, OUTSTATION)
    return [link_frame(ctl, dst, src, s) for s in segments(fragment, first_seq, size)]


def request(seq: int, function: int, objects: bytes = b"") -> bytes:
    return bytes([0xC0 | seq, function]) + objects


def response(seq: int, iin: int = 0, objects: bytes = b"", function: int = 129) -> bytes:
    return bytes([0xC0 | seq, function, iin >> 8, iin & 0xFF]) + objects


def tcp_session(path: Path, payloads: list[tuple[bool, bytes]], port: int = 20000) -> None:
    """A TCP connection master -> outstation; each payload is (from_master, bytes)."""
    frames = [
        tcp_frame(MASTER_IP, OUTSTATION_IP, 40000, port, seq=100, flags="S"),
        tcp_frame(OUTSTATION_IP, MASTER_IP, port, 40000, seq=900, ack=101, flags="SA"),
        tcp_frame(MASTER_IP, OUTSTATION_IP, 40000, port, seq=101, ack=901, flags="A"),
    ]
    cs, ss = 101, 901
    for from_master, data in payloads:
        if from_master:
            frames.append(tcp_frame(MASTER_IP, OUTSTATION_IP, 40000, port, seq=cs, ack=ss,
                                    payload=data))  # fmt: skip
            cs += len(data)
        else:
            frames.append(tcp_frame(OUTSTATION_IP, MASTER_IP, port, 40000, seq=ss, ack=cs,
                                    payload=data))  # fmt: skip
            ss += len(data)
    _write(path, frames)


def udp_session(path: Path, payloads: list[tuple[bool, bytes]], port: int = 20000) -> None:
    frames = []
    for from_master, data in payloads:
        if from_master:
            frames.append(udp_frame(MASTER_IP, OUTSTATION_IP, 40001, port, data))
        else:
            frames.append(udp_frame(OUTSTATION_IP, MASTER_IP, port, 40001, data))
    _write(path, frames)


def _write(path: Path, frames: list[bytes]) -> None:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, f in enumerate(frames):
            w.write(f, T0 + k * 1_000_000)
