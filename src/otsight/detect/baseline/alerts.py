"""Baseline alerts in plain words: what is new, measured against how much was learned.

Techniques are chosen for what the deviation shows, and left empty where it shows none:
a write outside the learned register or value range is Modify Parameter (T0836); a write or
control command of a kind an edge never carried is Unauthorized Command Message (T0855); an
identification or diagnostic request is Remote System Information Discovery (T0888); a device
never seen is a Transient Cyber Asset (T0864: laptops, vendor and attacker machines joining the
network); a learned address sent from a second MAC is Adversary-in-the-Middle (T0830, the
ARP-spoofing case; a replaced device looks the same and the explanation says so). A new
conversation carrying only reads, a changed polling rhythm or a new address of a known device
get no technique: they are symptoms with several causes (a new client, a stopped master, a
denial of service, a reconfiguration), and the explanation says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...alerts.attack import technique
from ...alerts.factory import SEVERITY_RANK, alert_id
from ...alerts.model import Alert, AlertEvidence

DETECTOR = "baseline"
# Techniques otsight's table may not list yet (the id and name as ATT&CK for ICS gives them).
_NAMES = {"T0864": "Transient Cyber Asset"}

WHY = {
    "T0836": "a write beyond the registers or values normal operation ever wrote changes a "
    "process parameter (Modify Parameter)",
    "T0855": "a command of a kind this edge never carried makes the device do what normal "
    "operation never asked of it (Unauthorized Command Message)",
    "T0888": "identification and diagnostic requests from a new place tell someone what the "
    "device is and how it runs (Remote System Information Discovery)",
    "": "not an attack by itself, but a change in who talks to whom and how: confirm it is "
    "expected, then accept it (otsight baseline accept)",
}


@dataclass(frozen=True, slots=True)
class Deviation:
    """One thing the baseline has not seen. ``once``: report the key only the first time."""

    kind: str
    key: tuple[object, ...]
    text: str
    once: bool = True


def _technique(technique_id: str) -> tuple[str, str]:
    if not technique_id:
        return "", ""
    try:
        return technique_id, technique(technique_id).name
    except ValueError:
        return technique_id, _NAMES[technique_id]


def duration(seconds: float) -> str:
    """``300 s``, ``45 min``, ``26 h``: how much learning a verdict rests on."""
    if seconds < 600:
        return f"{seconds:.0f} s"
    if seconds < 36_000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def make_alert(
    *,
    kind: str,
    severity: str,
    title: str,
    explanation: str,
    technique_id: str,
    evidence: AlertEvidence,
    src_ip: str | None = None,
    dst_ip: str | None = None,
    src_mac: str | None = None,
    protocol: str | None = None,
    ts: float | None = None,
    detected_ts: float | None = None,
) -> Alert:
    """A baseline alert whose first evidence is ``evidence`` (deterministic id)."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"severity {severity!r}")
    tid, name = _technique(technique_id)
    first = evidence.ts if ts is None else ts
    return Alert(
        alert_id=alert_id(DETECTOR, kind, (src_ip, dst_ip, src_mac, None), evidence.frame, first),
        ts=first,
        detector=DETECTOR,
        kind=kind,
        severity=severity,
        title=title,
        explanation=explanation,
        technique_id=tid,
        technique=name,
        src_ip=src_ip,
        dst_ip=dst_ip,
        src_mac=src_mac,
        protocol=protocol,
        last_ts=first,
        evidence=(evidence,),
        detected_ts=first if detected_ts is None else detected_ts,
    )


def request_verdict(devs: Sequence[Deviation], kind: str, category: str) -> tuple[str, str]:
    """(technique id, severity) of a request alert of ``kind`` (its first fresh deviation)."""
    if any(d.kind == "write-out-of-range" for d in devs):
        return "T0836", "high"
    if category in ("write", "control"):
        return "T0855", "high"
    if category == "diagnostic":
        return "T0888", "medium"
    if kind in ("new-conversation", "new-protocol"):
        return "", "medium"
    return "", "low"


TITLES = {
    "new-conversation": "New conversation",
    "new-protocol": "New protocol or service",
    "new-operation": "New operation",
    "write-out-of-range": "Write outside the learned range",
    "read-out-of-range": "Read outside the learned range",
}


def request_texts(
    kind: str, devs: Sequence[Deviation], client: str, server: str, what: str, learned: str,
    tech: str,
) -> tuple[str, str]:
    """Title and explanation of a request alert (``what``: "modbus FC 6 (...)")."""
    title = f"{TITLES[kind]}: {client} -> {server} {what}"
    novel = kind in ("new-conversation", "new-protocol", "new-operation")
    head = f"{client} -> {server} {what}" + (
        f" never seen in {learned} of learning: " if novel else
        f", measured against {learned} of learning: "
    )
    explanation = head + "; ".join(d.text for d in devs) + f". Why it matters: {WHY[tech]}."
    return title, explanation


def device_texts(
    kind: str, mac: str | None, ip: str | None, known_ips: str, owners: list[str], learned: str
) -> tuple[str, str, str, str]:
    """(technique, severity, title, explanation) of a frame source deviation of ``kind``;
    ``known_ips``: the MAC's learned addresses; ``owners``: learned MACs of ``ip`` other than
    ``mac`` (an address claimed by a second device)."""
    shown = f"{mac} ({ip})" if mac and ip else (mac or ip or "?")
    claimed = (
        f" It uses {ip}, learned as the address of {', '.join(owners)}: an address claimed by "
        "a second device (ARP spoofing, or a replaced device)." if owners else ""
    )
    if kind == "new-device":
        return (
            "T0864", "medium", f"New device {shown}",
            f"{shown} sent its first frame, never seen in {learned} of learning. A device that "
            "joins an OT network is a new asset nobody documented or a transient one (a "
            "laptop, a vendor's or an attacker's machine: Transient Cyber Asset); confirm who "
            f"it is before accepting it.{claimed}",
        )
    if kind == "address-claimed":
        return (
            "T0830", "high", f"Address {ip} claimed by {mac}",
            f"{mac} sends as {ip}, learned in {learned} of learning as the address of "
            f"{', '.join(owners)}. A second device claiming an address is how ARP spoofing puts "
            "itself in the middle of a conversation (Adversary-in-the-Middle); a replaced "
            "device or network card looks the same: check before accepting it.",
        )
    return (
        "", "low", f"New address {ip} on known device {mac}",
        f"Known device {mac} (learned addresses: {known_ips or 'none'}) now sends from {ip}, "
        f"never seen in {learned} of learning: re-addressed, a second address, or an address "
        "it claims falsely (check for ARP spoofing). No ATT&CK technique is assigned.",
    )


def contact_texts(dev: Deviation, client: str, server: str, service: str, learned: str
                  ) -> tuple[str, str]:
    """Title and explanation of a conversation start (a SYN, a datagram, an echo request)."""
    head = "New conversation" if dev.kind == "new-conversation" else "New service"
    return (
        f"{head}: {client} -> {server} {service}",
        f"{client} -> {server} {service} never seen in {learned} of learning: {dev.text}. Not "
        "an attack by itself, but a change in who talks to whom: confirm it is expected, then "
        "accept it (otsight baseline accept). No ATT&CK technique is assigned to a "
        "conversation whose content is unknown.",
    )


def rhythm_texts(
    kind: str, client: str, server: str, what: str, every: str, learned: str, *,
    limit: float, last_frame: int, window: int, current: float,
) -> tuple[str, str]:
    """Title and explanation of a polling loop that fell silent or sped up."""
    if kind == "polling-stopped":
        since = f"after the request at frame {last_frame}" if last_frame else (
            "since the capture began")
        return (
            f"Polling stopped: {client} -> {server} {what}",
            f"{client} sent {server} {what} {every} during {learned} of learning; nothing for "
            f"{limit:.3g} s {since}. A master that stops polling has lost its view of the "
            "process: a failure, a reconfiguration, a denial of service or messages blocked on "
            "the way. No ATT&CK technique is assigned: the silence is a symptom, not a method.",
        )
    return (
        f"Polling faster: {client} -> {server} {what}",
        f"{client} sent {server} {what} {every} during {learned} of learning; the last {window} "
        f"requests came every {current:.2g} s on average: a second master or a script issuing "
        "the same requests, or a master reconfigured. No ATT&CK technique is assigned: the "
        "rhythm alone does not tell which.",
    )
