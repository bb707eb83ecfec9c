"""ARP: the sender of a request or reply states its own MAC and IP.

Probes (sender IP 0.0.0.0) bind nothing. A sender MAC that differs from the frame's Ethernet
source (proxy ARP, or spoofing) is kept with a low reliability so that the real binding wins;
spotting the spoofing is the detectors' job. A request is a ``discovery`` Activity towards the
address asked for: one per conversation says nothing, hundreds of distinct targets are a sweep.
"""

from __future__ import annotations

from ...protocols.arp.dissector import ArpMessage
from ..model import Activity, Fact
from ._common import NONE, Collector, Handler

SOURCE = "arp/sender"
BINDING = 70
MISMATCH = 30
OPERATIONS = frozenset({"request", "reply"})


def message(event: ArpMessage) -> tuple[Fact, ...]:
    if event.probe or event.operation not in OPERATIONS:
        return NONE
    facts = Collector(event)
    reliability = MISMATCH if event.mac_mismatch else BINDING
    facts.bind_ip(event.sender_ip, SOURCE, reliability, event.sender_mac)
    if event.operation == "request" and event.target_ip and event.target_ip != event.sender_ip:
        facts.facts.append(
            Activity(
                ts=event.ts,
                protocol="arp",
                category="discovery",
                operation="who-has",
                client_ip=event.sender_ip,
                client_mac=event.sender_mac,
                server_ip=event.target_ip,
                frame=event.frame,
            )
        )
    return facts.result()


HANDLERS: dict[type, Handler] = {ArpMessage: message}
