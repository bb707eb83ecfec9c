"""BACnet code tables (ASHRAE 135: Annex J BVLC, clause 6 NPDU, clauses 20-21 APDU)."""

from __future__ import annotations

BVLC_FUNCTIONS: dict[int, str] = {
    0x00: "bvlc-result",
    0x01: "write-broadcast-distribution-table",
    0x02: "read-broadcast-distribution-table",
    0x03: "read-broadcast-distribution-table-ack",
    0x04: "forwarded-npdu",
    0x05: "register-foreign-device",
    0x06: "read-foreign-device-table",
    0x07: "read-foreign-device-table-ack",
    0x08: "delete-foreign-device-table-entry",
    0x09: "distribute-broadcast-to-network",
    0x0A: "original-unicast-npdu",
    0x0B: "original-broadcast-npdu",
    0x0C: "secure-bvll",
}
NPDU_FUNCTIONS = frozenset({0x04, 0x09, 0x0A, 0x0B})  # BVLC functions that carry an NPDU

NETWORK_MESSAGES: dict[int, str] = {
    0x00: "who-is-router-to-network",
    0x01: "i-am-router-to-network",
    0x02: "i-could-be-router-to-network",
    0x03: "reject-message-to-network",
    0x04: "router-busy-to-network",
    0x05: "router-available-to-network",
    0x06: "initialize-routing-table",
    0x07: "initialize-routing-table-ack",
    0x08: "establish-connection-to-network",
    0x09: "disconnect-connection-to-network",
    0x0A: "challenge-request",
    0x0B: "security-payload",
    0x0C: "security-response",
    0x0D: "request-key-update",
    0x0E: "update-key-set",
    0x0F: "update-distribution-key",
    0x10: "request-master-key",
    0x11: "set-master-key",
    0x12: "what-is-network-number",
    0x13: "network-number-is",
}

APDU_TYPES: dict[int, str] = {
    0: "confirmed-request",
    1: "unconfirmed-request",
    2: "simple-ack",
    3: "complex-ack",
    4: "segment-ack",
    5: "error",
    6: "reject",
    7: "abort",
}

CONFIRMED_SERVICES: dict[int, str] = {
    0: "acknowledge-alarm",
    1: "confirmed-cov-notification",
    2: "confirmed-event-notification",
    3: "get-alarm-summary",
    4: "get-enrollment-summary",
    5: "subscribe-cov",
    6: "atomic-read-file",
    7: "atomic-write-file",
    8: "add-list-element",
    9: "remove-list-element",
    10: "create-object",
    11: "delete-object",
    12: "read-property",
    13: "read-property-conditional",
    14: "read-property-multiple",
    15: "write-property",
    16: "write-property-multiple",
    17: "device-communication-control",
    18: "confirmed-private-transfer",
    19: "confirmed-text-message",
    20: "reinitialize-device",
    21: "vt-open",
    22: "vt-close",
    23: "vt-data",
    24: "authenticate",
    25: "request-key",
    26: "read-range",
    27: "life-safety-operation",
    28: "subscribe-cov-property",
    29: "get-event-information",
    30: "subscribe-cov-property-multiple",
    31: "confirmed-cov-notification-multiple",
}

UNCONFIRMED_SERVICES: dict[int, str] = {
    0: "i-am",
    1: "i-have",
    2: "unconfirmed-cov-notification",
    3: "unconfirmed-event-notification",
    4: "unconfirmed-private-transfer",
    5: "unconfirmed-text-message",
    6: "time-synchronization",
    7: "who-has",
    8: "who-is",
    9: "utc-time-synchronization",
    10: "write-group",
    11: "unconfirmed-cov-notification-multiple",
}

OBJECT_TYPES: dict[int, str] = {
    0: "analog-input",
    1: "analog-output",
    2: "analog-value",
    3: "binary-input",
    4: "binary-output",
    5: "binary-value",
    6: "calendar",
    7: "command",
    8: "device",
    9: "event-enrollment",
    10: "file",
    11: "group",
    12: "loop",
    13: "multi-state-input",
    14: "multi-state-output",
    15: "notification-class",
    16: "program",
    17: "schedule",
    18: "averaging",
    19: "multi-state-value",
    20: "trend-log",
    21: "life-safety-point",
    22: "life-safety-zone",
    23: "accumulator",
    24: "pulse-converter",
    25: "event-log",
    26: "global-group",
    27: "trend-log-multiple",
    28: "load-control",
    29: "structured-view",
    30: "access-door",
}

PROPERTIES: dict[int, str] = {
    4: "active-text",
    8: "all",
    11: "apdu-timeout",
    12: "application-software-version",
    28: "description",
    30: "device-address-binding",
    31: "device-type",
    36: "event-state",
    44: "firmware-revision",
    46: "inactive-text",
    56: "local-date",
    57: "local-time",
    58: "location",
    62: "max-apdu-length-accepted",
    70: "model-name",
    73: "number-of-apdu-retries",
    75: "object-identifier",
    76: "object-list",
    77: "object-name",
    79: "object-type",
    80: "optional",
    81: "out-of-service",
    85: "present-value",
    87: "priority-array",
    96: "protocol-object-types-supported",
    97: "protocol-services-supported",
    98: "protocol-version",
    103: "reliability",
    104: "relinquish-default",
    105: "required",
    107: "segmentation-supported",
    110: "state-text",
    111: "status-flags",
    112: "system-status",
    117: "units",
    120: "vendor-identifier",
    121: "vendor-name",
    139: "protocol-revision",
    155: "database-revision",
    167: "max-segments-accepted",
    168: "profile-name",
    371: "property-list",
}
# Device properties whose value identifies the product (exposed as text for the inventory).
IDENTITY_PROPERTIES = frozenset({12, 28, 44, 58, 70, 77, 121, 120, 168})

VENDORS: dict[int, str] = {
    0: "ASHRAE",
    1: "NIST",
    2: "The Trane Company",
    5: "Johnson Controls",
    7: "Siemens Schweiz AG (Landis & Staefa)",
    8: "Delta Controls",
    9: "Siemens Schweiz AG",
    10: "Schneider Electric",
    15: "Cornell University",
    16: "United Technologies Carrier",
    17: "Honeywell",
    18: "Alerton / Honeywell",
    24: "Automated Logic Corporation",
    260: "BACnet Stack at SourceForge",
}

SEGMENTATION = {0: "segmented-both", 1: "segmented-transmit", 2: "segmented-receive", 3: "none"}
REINITIALIZE_STATES = {
    0: "coldstart",
    1: "warmstart",
    2: "start-backup",
    3: "end-backup",
    4: "start-restore",
    5: "end-restore",
    6: "abort-restore",
    7: "activate-changes",
}
COMMUNICATION_STATES = {0: "enable", 1: "disable", 2: "disable-initiation"}
REJECT_REASONS = {
    0: "other",
    1: "buffer-overflow",
    2: "inconsistent-parameters",
    3: "invalid-parameter-data-type",
    4: "invalid-tag",
    5: "missing-required-parameter",
    6: "parameter-out-of-range",
    7: "too-many-arguments",
    8: "undefined-enumeration",
    9: "unrecognized-service",
}
ABORT_REASONS = {
    0: "other",
    1: "buffer-overflow",
    2: "invalid-apdu-in-this-state",
    3: "preempted-by-higher-priority-task",
    4: "segmentation-not-supported",
    5: "security-error",
    6: "insufficient-security",
    7: "window-size-out-of-range",
    8: "application-exceeded-reply-time",
    9: "out-of-resources",
    10: "tsm-timeout",
    11: "apdu-too-long",
}
ERROR_CLASSES = {
    0: "device",
    1: "object",
    2: "property",
    3: "resources",
    4: "security",
    5: "services",
    6: "vt",
    7: "communication",
}


def lookup(table: dict[int, str], code: int) -> str:
    return table.get(code, f"unknown-{code}")


def object_type_name(code: int) -> str:
    if code in OBJECT_TYPES:
        return OBJECT_TYPES[code]
    return f"proprietary-{code}" if code >= 128 else f"unknown-{code}"


def property_name(code: int) -> str:
    if code in PROPERTIES:
        return PROPERTIES[code]
    return f"proprietary-{code}" if 512 <= code <= 4194303 else f"unknown-{code}"


def vendor_name(code: int) -> str | None:
    return VENDORS.get(code)
