"""Build alerts the one way: deterministic id, technique name from the ATT&CK table, checked
severity.

The id hashes what makes an alert this alert (detector, kind, endpoints, first frame and its
capture time), so replaying a capture yields the same ids and a store can upsert on them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from .attack import technique
from .model import SEVERITIES, Alert, AlertEvidence

SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


def alert_id(
    detector: str,
    kind: str,
    endpoints: Iterable[str | None],
    frame: int,
    ts: float,
) -> str:
    """A stable 20-hex-digit id; ``ts`` is rounded to the microsecond so it survives JSON."""
    parts = [detector, kind, *(e or "" for e in endpoints), str(frame), f"{ts:.6f}"]
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).hexdigest()
    return digest


def new_alert(
    *,
    detector: str,
    kind: str,
    severity: str,
    title: str,
    explanation: str,
    technique_id: str,
    ts: float,
    frame: int,
    src_ip: str | None = None,
    dst_ip: str | None = None,
    src_mac: str | None = None,
    dst_mac: str | None = None,
    protocol: str | None = None,
    evidence: Iterable[AlertEvidence] = (),
    detected_ts: float | None = None,
) -> Alert:
    """An alert whose first packet is ``frame`` at ``ts`` (capture time)."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")
    tech = technique(technique_id)
    return Alert(
        alert_id=alert_id(detector, kind, (src_ip, dst_ip, src_mac, dst_mac), frame, ts),
        ts=ts,
        detector=detector,
        kind=kind,
        severity=severity,
        title=title,
        explanation=explanation,
        technique_id=tech.technique_id,
        technique=tech.name,
        src_ip=src_ip,
        dst_ip=dst_ip,
        src_mac=src_mac,
        dst_mac=dst_mac,
        protocol=protocol,
        last_ts=ts,
        evidence=tuple(evidence),
        detected_ts=ts if detected_ts is None else detected_ts,
    )
