"""Alerts: what a detector tells an analyst, with enough to trust or dismiss it."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class AlertEvidence:
    """A packet-level fact behind an alert (capture time, frame, flow, what happened)."""

    ts: float
    frame: int
    flow_id: int | None
    protocol: str
    operation: str  # e.g. "plc-stop", "write-single-register", "arp-reply"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """One finding. ``ts`` is the capture time of the first packet that made it.

    ``alert_id`` is deterministic (detector, kind, endpoints, first frame) so replaying a capture
    gives the same ids and a store can de-duplicate on it.
    """

    alert_id: str
    ts: float
    detector: str  # slug of the detector plugin, e.g. "ot-commands", "port-scan"
    kind: str  # e.g. "plc-stop", "port-scan", "arp-spoofing"
    severity: str  # one of SEVERITIES
    title: str
    explanation: str  # plain words: what happened, why it matters
    technique_id: str  # MITRE ATT&CK for ICS, e.g. "T0816"
    technique: str  # e.g. "Device Restart/Shutdown"
    src_ip: str | None = None
    dst_ip: str | None = None
    src_mac: str | None = None
    dst_mac: str | None = None
    protocol: str | None = None
    last_ts: float | None = None
    count: int = 1
    evidence: tuple[AlertEvidence, ...] = field(default_factory=tuple)
    # packet time at which the detector decided (>= ts: a scan is decided some probes in)
    detected_ts: float | None = None
