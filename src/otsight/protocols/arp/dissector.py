"""ARP over Ethernet/IPv4, as frame events."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import ClassVar

from ...core.events import BaseEvent, FrameEvent
from ...core.plugins import FrameContext
from ..base import FrameDissector

OPERATIONS = {
    1: "request",
    2: "reply",
    3: "rarp-request",
    4: "rarp-reply",
    8: "inarp-request",
    9: "inarp-reply",
}


class ArpMessage(FrameEvent, frozen=True, kw_only=True):
    """One ARP message; ``sender_*`` is what the sender claims about itself."""

    protocol: ClassVar[str] = "arp"
    operation: str
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str
    gratuitous: bool  # announces its own address (sender IP == target IP)
    probe: bool  # address conflict probe (sender IP 0.0.0.0)
    mac_mismatch: bool  # the Ethernet source differs from the claimed sender MAC

    @property
    def action(self) -> str:
        return self.operation


class ArpMalformed(FrameEvent, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "arp"
    action_name: ClassVar[str] = "malformed"
    reason: str


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


class ArpDissector(FrameDissector):
    name: ClassVar[str] = "arp"
    ethertypes: ClassVar[frozenset[int]] = frozenset({0x0806})

    def on_frame(self, data: bytes, ctx: FrameContext) -> Iterable[BaseEvent]:
        p = data[ctx.offset :]
        if len(p) < 8:
            self.malformed += 1
            yield ArpMalformed(reason="header cut short", **self.endpoints(ctx))
            return
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", p)
        if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
            return  # not Ethernet/IPv4 ARP: nothing otsight uses
        if len(p) < 28:
            self.malformed += 1
            yield ArpMalformed(reason="addresses cut short", **self.endpoints(ctx))
            return
        sha, spa, tha, tpa = p[8:14], p[14:18], p[18:24], p[24:28]
        sender_mac = _mac(sha)
        sender_ip = socket.inet_ntoa(spa)
        target_ip = socket.inet_ntoa(tpa)
        yield ArpMessage(
            operation=OPERATIONS.get(op, f"unknown-{op}"),
            sender_mac=sender_mac,
            sender_ip=sender_ip,
            target_mac=_mac(tha),
            target_ip=target_ip,
            gratuitous=spa == tpa and spa != b"\0\0\0\0",
            probe=spa == b"\0\0\0\0",
            mac_mismatch=ctx.src_mac not in (sender_mac, "00:00:00:00:00:00"),
            **self.endpoints(ctx),
        )
