"""Alerts made from one protocol event: endpoints, protocol and evidence taken from the event,
so every rule fills them the same way."""

from __future__ import annotations

from ..alerts.factory import new_alert
from ..alerts.model import Alert, AlertEvidence
from ..core.events import BaseEvent, Event, FrameEvent

PROTOCOL_NAMES = {
    "modbus": "Modbus",
    "dnp3": "DNP3",
    "s7comm": "S7comm",
    "s7comm_plus": "S7comm-plus",
    "enip": "EtherNet/IP",
    "bacnet": "BACnet",
    "iec104": "IEC 104",
    "arp": "ARP",
}


def protocol_name(slug: str) -> str:
    """How analysts write the protocol (``enip`` -> ``EtherNet/IP``)."""
    return PROTOCOL_NAMES.get(slug, slug)


def evidence_of(event: BaseEvent, detail: str = "", operation: str | None = None) -> AlertEvidence:
    """The packet-level fact ``event`` stands for."""
    return AlertEvidence(
        ts=event.ts,
        frame=event.frame,
        flow_id=event.flow_id if isinstance(event, Event) else None,
        protocol=type(event).protocol,
        operation=operation or event.action,
        detail=detail,
    )


def event_alert(
    detector: str,
    kind: str,
    event: BaseEvent,
    *,
    severity: str,
    title: str,
    explanation: str,
    technique_id: str,
    detail: str = "",
    reverse: bool = False,
) -> Alert:
    """An alert whose first (and so far only) evidence is ``event``.

    ``reverse``: the event travelled from the target to the actor (an S7 PLC asking its
    programming station for the next block of a download), so swap the endpoints to keep
    "source = who did it".
    """
    src_ip = dst_ip = src_mac = dst_mac = None
    if isinstance(event, Event):
        src_ip, dst_ip = (event.dst_ip, event.src_ip) if reverse else (event.src_ip, event.dst_ip)
    elif isinstance(event, FrameEvent):
        src_mac, dst_mac = (
            (event.dst_mac, event.src_mac) if reverse else (event.src_mac, event.dst_mac)
        )
    return new_alert(
        detector=detector,
        kind=kind,
        severity=severity,
        title=title,
        explanation=explanation,
        technique_id=technique_id,
        ts=event.ts,
        frame=event.frame,
        src_ip=src_ip,
        dst_ip=dst_ip,
        src_mac=src_mac,
        dst_mac=dst_mac,
        protocol=type(event).protocol,
        evidence=(evidence_of(event, detail),),
    )
