"""The SSH dissector: banners of both sides, then KEXINIT until keys change (NEWKEYS)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector, StreamBuffer
from .events import SshBanner, SshKexInit, SshMalformed
from .parser import (
    MAX_BANNER,
    MSG_KEXINIT,
    MSG_NEWKEYS,
    POST_QUANTUM_KEX,
    looks_like_ssh,
    packet_length,
    packet_payload,
    parse_banner,
    parse_kexinit,
)

BANNER, PACKETS, ENCRYPTED = 0, 1, 2


class SshDissector(Dissector):
    name: ClassVar[str] = "ssh"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({22, 2222})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (StreamBuffer(), StreamBuffer())
        self.state = [BANNER, BANNER]
        self.client_direction = self.client_side()

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_ssh(data)

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.buffers[direction].reset()
        if self.state[direction] == PACKETS:
            self.state[direction] = ENCRYPTED  # cannot resynchronise binary packets

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        state = self.state[direction]
        if state == ENCRYPTED:
            self.done = self.state[1 - direction] == ENCRYPTED  # both sides: nothing to read
            return
        buf = self.buffers[direction]
        buf.feed(data)
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        sender = "client" if direction == self.client_direction else "server"
        while state == BANNER:
            end = buf.data.find(b"\n")
            if end < 0:
                if len(buf.data) > MAX_BANNER * 4:
                    self.state[direction] = ENCRYPTED
                    self.malformed += 1
                    yield SshMalformed(
                        **base, reason="no identification string", length=len(buf.data)
                    )
                    buf.reset()
                return
            line = bytes(buf.data[: end + 1])
            del buf.data[: end + 1]
            if not line.startswith(b"SSH-"):
                continue  # servers may send other lines first (RFC 4253 4.2)
            try:
                banner = parse_banner(line)
            except Malformed as exc:
                self.malformed += 1
                yield SshMalformed(**base, reason=str(exc), length=len(line))
                continue
            state = self.state[direction] = PACKETS
            yield SshBanner(
                **base,
                sender=sender,
                protocol_version=banner.protocol_version,
                software=banner.software,
                comments=banner.comments,
                raw=banner.raw,
            )
        try:
            for packet in buf.messages(packet_length):
                payload = packet_payload(packet)
                if not payload:
                    continue
                if payload[0] == MSG_NEWKEYS:
                    self.state[direction] = ENCRYPTED
                    buf.reset()
                    return
                if payload[0] == MSG_KEXINIT:
                    yield self._kexinit(payload, sender, base)
        finally:
            if buf.skipped:  # binary packets out of step: the rest is unreadable
                self.state[direction] = ENCRYPTED
                buf.reset()

    def _kexinit(self, payload: bytes, sender: str, base: dict[str, Any]) -> Event:
        try:
            lists = parse_kexinit(payload)
        except Malformed as exc:
            self.malformed += 1
            return SshMalformed(**base, reason=str(exc), length=len(payload))
        return SshKexInit(
            **base,
            sender=sender,
            kex_algorithms=lists[0],
            host_key_algorithms=lists[1],
            ciphers_client_to_server=lists[2],
            ciphers_server_to_client=lists[3],
            macs_client_to_server=lists[4],
            macs_server_to_client=lists[5],
            compression_client_to_server=lists[6],
            compression_server_to_client=lists[7],
            post_quantum_kex=tuple(k for k in lists[0] if k in POST_QUANTUM_KEX),
        )
