"""The MITRE ATT&CK for ICS techniques otsight's detectors cite: id -> name and tactics.

Typed in by hand from the matrix (ATT&CK for ICS v18), limited to the techniques a detector
actually uses, so every alert says in the analyst's vocabulary why it matters. An id that is not
here is a programming error (a detector citing a technique the product cannot explain).
"""

from __future__ import annotations

from dataclasses import dataclass

TACTICS: dict[str, str] = {
    "initial-access": "Initial Access",
    "execution": "Execution",
    "persistence": "Persistence",
    "privilege-escalation": "Privilege Escalation",
    "evasion": "Evasion",
    "discovery": "Discovery",
    "lateral-movement": "Lateral Movement",
    "collection": "Collection",
    "command-and-control": "Command and Control",
    "inhibit-response-function": "Inhibit Response Function",
    "impair-process-control": "Impair Process Control",
    "impact": "Impact",
}


@dataclass(frozen=True, slots=True)
class Technique:
    """One ATT&CK for ICS technique (``technique_id`` like ``T0816``)."""

    technique_id: str
    name: str
    tactics: tuple[str, ...]  # keys of TACTICS

    @property
    def url(self) -> str:
        return f"https://attack.mitre.org/techniques/{self.technique_id}/"

    @property
    def tactic_names(self) -> tuple[str, ...]:
        return tuple(TACTICS[t] for t in self.tactics)


def _t(technique_id: str, name: str, *tactics: str) -> Technique:
    return Technique(technique_id, name, tactics)


TECHNIQUES: dict[str, Technique] = {
    t.technique_id: t
    for t in (
        _t("T0800", "Activate Firmware Update Mode", "inhibit-response-function"),
        _t("T0803", "Block Command Message", "inhibit-response-function"),
        _t("T0804", "Block Reporting Message", "inhibit-response-function"),
        _t("T0809", "Data Destruction", "inhibit-response-function"),
        _t("T0814", "Denial of Service", "inhibit-response-function"),
        _t("T0816", "Device Restart/Shutdown", "inhibit-response-function"),
        _t("T0830", "Adversary-in-the-Middle", "collection"),
        _t("T0835", "Manipulate I/O Image", "inhibit-response-function"),
        _t("T0836", "Modify Parameter", "impair-process-control"),
        _t("T0840", "Network Connection Enumeration", "discovery"),
        _t("T0842", "Network Sniffing", "discovery"),
        _t("T0843", "Program Download", "lateral-movement"),
        _t("T0845", "Program Upload", "collection"),
        _t("T0846", "Remote System Discovery", "discovery"),
        _t("T0848", "Rogue Master", "initial-access"),
        _t("T0855", "Unauthorized Command Message", "impair-process-control"),
        _t("T0857", "System Firmware", "persistence", "inhibit-response-function"),
        _t("T0858", "Change Operating Mode", "execution", "evasion"),
        _t("T0859", "Valid Accounts", "persistence", "lateral-movement"),
        _t("T0864", "Transient Cyber Asset", "initial-access"),
        _t("T0867", "Lateral Tool Transfer", "lateral-movement"),
        _t("T0881", "Service Stop", "inhibit-response-function"),
        _t("T0888", "Remote System Information Discovery", "discovery"),
        _t("T0889", "Modify Program", "persistence"),
    )
}


def technique(technique_id: str) -> Technique:
    """The technique ``technique_id``; ValueError names the id when it is not in the table."""
    try:
        return TECHNIQUES[technique_id]
    except KeyError:
        raise ValueError(f"ATT&CK for ICS technique {technique_id!r} is not listed") from None
