"""Hand-made captures run through every built-in dissector, and the facts of their events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from otsight.capture.writer import PcapWriter
from otsight.core.events import BaseEvent
from otsight.inventory.facts import facts_of
from otsight.inventory.model import Activity, Fact, Observation
from otsight.protocols.registry import builtin_dissectors, builtin_frame_dissectors
from otsight.testing.packets import tcp_frame, udp_frame
from otsight.testing.protocol_oracle import dissect

T0 = 1_767_225_600_000_000_000
CLIENT, SERVER = "192.0.2.20", "192.0.2.10"
CLIENT_MAC, SERVER_MAC = "00:14:22:5e:a0:10", "00:80:f4:3a:1c:01"


def write(path: Path, frames: Iterable[bytes]) -> Path:
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, frame in enumerate(frames):
            w.write(frame, T0 + k * 10_000_000)
    return path


def events(tmp_path: Path, frames: Iterable[bytes]) -> list[BaseEvent]:
    cap = write(tmp_path / "hand.pcap", frames)
    return list(dissect(cap, builtin_dissectors(), builtin_frame_dissectors()))


def facts(tmp_path: Path, frames: Iterable[bytes]) -> list[Fact]:
    return [f for e in events(tmp_path, frames) for f in facts_of(e)]


def observed(found: Iterable[Fact]) -> set[tuple[str, str, str | None, str | None, int]]:
    """(attribute, value, ip, mac, reliability) of every Observation."""
    return {
        (f.attribute, f.value, f.ip, f.mac, f.reliability)
        for f in found
        if isinstance(f, Observation)
    }


def acts(found: Iterable[Fact]) -> list[tuple[str, str, str, str | None, str | None]]:
    """(protocol, category, operation, client, server) of every Activity, in order; client and
    server are IPs, or MACs for link-layer protocols."""
    return [
        (
            f.protocol,
            f.category,
            f.operation,
            f.client_ip or f.client_mac,
            f.server_ip or f.server_mac,
        )
        for f in found
        if isinstance(f, Activity)
    ]


@dataclass
class Tcp:
    """One TCP connection with a handshake; ``send`` returns the next data segment."""

    client: str = CLIENT
    server: str = SERVER
    cport: int = 49152
    sport: int = 502
    seq: list[int] = field(default_factory=lambda: [1000, 5000])

    def handshake(self) -> list[bytes]:
        c, s = self.seq
        frames = [
            self._frame(True, b"", "S", c, 0),
            self._frame(False, b"", "SA", s, c + 1),
            self._frame(True, b"", "A", c + 1, s + 1),
        ]
        self.seq = [c + 1, s + 1]
        return frames

    def send(self, from_client: bool, payload: bytes) -> bytes:
        me, peer = (0, 1) if from_client else (1, 0)
        frame = self._frame(from_client, payload, "PA", self.seq[me], self.seq[peer])
        self.seq[me] += len(payload)
        return frame

    def _frame(self, from_client: bool, payload: bytes, flags: str, seq: int, ack: int) -> bytes:
        if from_client:
            return tcp_frame(
                self.client,
                self.server,
                self.cport,
                self.sport,
                seq=seq,
                ack=ack,
                flags=flags,
                payload=payload,
                src_mac=CLIENT_MAC,
                dst_mac=SERVER_MAC,
            )
        return tcp_frame(
            self.server,
            self.client,
            self.sport,
            self.cport,
            seq=seq,
            ack=ack,
            flags=flags,
            payload=payload,
            src_mac=SERVER_MAC,
            dst_mac=CLIENT_MAC,
        )

    def exchange(self, *messages: tuple[bool, bytes]) -> list[bytes]:
        """Handshake, then each (from_client, payload) as one segment."""
        return self.handshake() + [self.send(c, p) for c, p in messages]


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    macs = (CLIENT_MAC, SERVER_MAC) if src == CLIENT else (SERVER_MAC, CLIENT_MAC)
    return udp_frame(src, dst, sport, dport, payload, src_mac=macs[0], dst_mac=macs[1])
