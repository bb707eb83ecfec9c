"""Names the pages show for roles, levels and protocols, and the CSS classes that colour them.

Colours live in one place, ``static/app.css``; Python only picks a class name, always from a
fixed vocabulary, so a name that came off the network never reaches a class attribute.
"""

from __future__ import annotations

import zlib

from ...inventory.model import ROLES

ROLE_LABELS = {
    "plc": "PLC",
    "rtu": "RTU / IED",
    "hmi": "HMI",
    "engineering_workstation": "Engineering workstation",
    "historian": "Historian",
    "scada_server": "SCADA / OPC server",
    "switch": "Switch",
    "router": "Router",
    "firewall": "Firewall",
    "iot_sensor": "IoT sensor",
    "iot_gateway": "IoT gateway / broker",
    "camera": "Camera",
    "printer": "Printer",
    "it_workstation": "IT workstation",
    "it_server": "IT server",
    "unknown": "Unknown",
}
# Three letters inside a map node.
ROLE_GLYPHS = {
    "plc": "PLC",
    "rtu": "RTU",
    "hmi": "HMI",
    "engineering_workstation": "EWS",
    "historian": "HIS",
    "scada_server": "SCA",
    "switch": "SW",
    "router": "RT",
    "firewall": "FW",
    "iot_sensor": "SEN",
    "iot_gateway": "GW",
    "camera": "CAM",
    "printer": "PRN",
    "it_workstation": "WS",
    "it_server": "SRV",
    "unknown": "?",
}

LEVEL_LABELS = {
    4: "Level 4–5 · Enterprise",
    3: "Level 3 · Site operations",
    2: "Level 2 · Supervisory control",
    1: "Level 1 · Basic control",
    0: "Level 0 · Process",
    None: "Level unknown",
}

# Protocols with a colour of their own; any other gets one of a few neutral ones by hash.
PROTOCOLS = (
    "modbus", "s7comm", "s7comm_plus", "enip", "cip", "dnp3", "iec104", "opcua", "bacnet",
    "dcp", "mqtt", "coap", "http", "https", "tls", "ssh", "telnet", "ftp", "dns", "dhcp",
    "snmp", "ntp", "arp", "lldp", "cdp", "ssdp", "smb", "rdp",
)  # fmt: skip
OT_PROTOCOLS = frozenset(
    {"modbus", "s7comm", "s7comm_plus", "enip", "cip", "dnp3", "iec104", "opcua", "bacnet", "dcp"}
)
OTHER_PROTOCOL_CLASSES = 6


def role_name(role: str) -> str:
    """``role`` if it is one of the inventory's roles, else ``unknown``."""
    return role if role in ROLES else "unknown"


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def role_class(role: str) -> str:
    return f"role-{role_name(role)}"


def role_glyph(role: str) -> str:
    return ROLE_GLYPHS[role_name(role)]


def level_key(level: int | None) -> int | None:
    """The map lane of a Purdue level: 5 shares level 4's lane."""
    if level is None or level < 0:
        return None
    return min(level, 4)


def level_label(level: int | None) -> str:
    if level is None:
        return "unknown"
    return str(level)


def protocol_class(protocol: str) -> str:
    if protocol in PROTOCOLS:
        return f"proto-{protocol}"
    return f"proto-x{zlib.crc32(protocol.encode('utf-8', 'replace')) % OTHER_PROTOCOL_CLASSES}"


def severity_class(severity: str) -> str:
    return (
        f"sev-{severity}" if severity in ("info", "low", "medium", "high", "critical") else "sev-x"
    )


def status_class(status: str) -> str:
    known = ("new", "acknowledged", "resolved", "expected")
    return f"st-{status}" if status in known else "st-x"
