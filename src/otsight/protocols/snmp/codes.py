"""SNMP code tables (with ``unknown-N`` fallbacks through the helpers)."""

from __future__ import annotations

VERSIONS = {0: "v1", 1: "v2c", 3: "v3"}
PDU_TYPES = {
    0xA0: "get-request",
    0xA1: "get-next-request",
    0xA2: "response",
    0xA3: "set-request",
    0xA4: "trap-v1",
    0xA5: "get-bulk-request",
    0xA6: "inform-request",
    0xA7: "trap-v2",
    0xA8: "report",
}
REQUEST_PDUS = frozenset({0xA0, 0xA1, 0xA3, 0xA5, 0xA6})
ERROR_STATUS = {
    0: "no-error", 1: "too-big", 2: "no-such-name", 3: "bad-value", 4: "read-only",
    5: "gen-err", 6: "no-access", 7: "wrong-type", 8: "wrong-length", 9: "wrong-encoding",
    10: "wrong-value", 11: "no-creation", 12: "inconsistent-value", 13: "resource-unavailable",
    14: "commit-failed", 15: "undo-failed", 16: "authorization-error", 17: "not-writable",
    18: "inconsistent-name",
}
GENERIC_TRAPS = {
    0: "cold-start", 1: "warm-start", 2: "link-down", 3: "link-up",
    4: "authentication-failure", 5: "egp-neighbor-loss", 6: "enterprise-specific",
}
SECURITY_LEVELS = {0: "noAuthNoPriv", 1: "authNoPriv", 3: "authPriv", 2: "invalid-privNoAuth"}
SECURITY_MODELS = {1: "v1", 2: "v2c", 3: "usm", 4: "tsm"}

# Inventory OIDs (system group) whose response values we keep as strings.
SYSTEM_OIDS = {
    "1.3.6.1.2.1.1.1.0": "sys_descr",
    "1.3.6.1.2.1.1.2.0": "sys_object_id",
    "1.3.6.1.2.1.1.4.0": "sys_contact",
    "1.3.6.1.2.1.1.5.0": "sys_name",
    "1.3.6.1.2.1.1.6.0": "sys_location",
}

# Community strings shipped as defaults by vendors or tried first by scanners. We report the
# category only, never the string itself.
DEFAULT_READ = frozenset({"public"})
DEFAULT_WRITE = frozenset({"private"})
WELL_KNOWN = frozenset(
    {
        "", "admin", "administrator", "cisco", "community", "default", "manager", "monitor",
        "netman", "read", "write", "rw", "ro", "secret", "snmp", "snmpd", "system", "test",
        "tivoli", "openview", "security", "all private", "internal", "router", "switch",
        "password", "ilmi", "cable-docsis", "proxy", "mngt", "c0nf1gur3", "0392a0",
    }
)


def community_category(community: bytes) -> str:
    """``default-read`` (public), ``default-write`` (private), ``well-known`` or ``custom``."""
    text = community.decode("latin-1").strip().lower()
    if text in DEFAULT_READ:
        return "default-read"
    if text in DEFAULT_WRITE:
        return "default-write"
    if text in WELL_KNOWN:
        return "well-known"
    return "custom"


def name(table: dict[int, str], code: int) -> str:
    return table.get(code) or f"unknown-{code}"
