"""DNP3 code tables (IEEE 1815-2012), with ``unknown-N`` fallbacks."""

from __future__ import annotations

# Link layer (data link control octet), primary-to-secondary functions (PRM = 1).
LINK_PRIMARY_FUNCTIONS: dict[int, str] = {
    0: "reset-link-states",
    1: "reset-user-process",
    2: "test-link-states",
    3: "confirmed-user-data",
    4: "unconfirmed-user-data",
    9: "request-link-status",
}
# Secondary-to-primary functions (PRM = 0).
LINK_SECONDARY_FUNCTIONS: dict[int, str] = {
    0: "ack",
    1: "nack",
    11: "link-status",
    14: "link-not-functioning",
    15: "link-not-supported",
}
LINK_USER_DATA = frozenset({3, 4})  # primary functions that carry transport segments

FUNCTION_CODES: dict[int, str] = {
    0: "confirm",
    1: "read",
    2: "write",
    3: "select",
    4: "operate",
    5: "direct-operate",
    6: "direct-operate-no-ack",
    7: "immediate-freeze",
    8: "immediate-freeze-no-ack",
    9: "freeze-clear",
    10: "freeze-clear-no-ack",
    11: "freeze-at-time",
    12: "freeze-at-time-no-ack",
    13: "cold-restart",
    14: "warm-restart",
    15: "initialize-data",
    16: "initialize-application",
    17: "start-application",
    18: "stop-application",
    19: "save-configuration",
    20: "enable-unsolicited",
    21: "disable-unsolicited",
    22: "assign-class",
    23: "delay-measurement",
    24: "record-current-time",
    25: "open-file",
    26: "close-file",
    27: "delete-file",
    28: "get-file-info",
    29: "authenticate-file",
    30: "abort-file",
    31: "activate-config",
    32: "authenticate-req",
    33: "authenticate-req-no-ack",
    129: "response",
    130: "unsolicited-response",
    131: "authenticate-resp",
}
RESPONSE_FUNCTIONS = frozenset({129, 130, 131})
# Requests the outstation never answers (so they are not kept for pairing).
NO_RESPONSE_FUNCTIONS = frozenset({0, 6, 8, 10, 12, 33})
# Requests that change outstation state (control, restart, configuration, files).
CONTROL_FUNCTIONS = frozenset({3, 4, 5, 6})
# Request functions whose object headers carry no object data (header-only requests).
HEADER_ONLY_REQUESTS = frozenset({0, 1, 7, 8, 9, 10, 20, 21, 22})

# IIN as one 16-bit value: IIN1 in the high octet, IIN2 in the low octet (as tshark shows it).
IIN_BITS: dict[int, str] = {
    0x0100: "broadcast",
    0x0200: "class-1-events",
    0x0400: "class-2-events",
    0x0800: "class-3-events",
    0x1000: "need-time",
    0x2000: "local-control",
    0x4000: "device-trouble",
    0x8000: "device-restart",
    0x0001: "no-func-code-support",
    0x0002: "object-unknown",
    0x0004: "parameter-error",
    0x0008: "event-buffer-overflow",
    0x0010: "already-executing",
    0x0020: "config-corrupt",
    0x0040: "reserved-2",
    0x0080: "reserved-1",
}

GROUPS: dict[int, str] = {
    0: "device-attributes",
    1: "binary-input",
    2: "binary-input-event",
    3: "double-bit-binary-input",
    4: "double-bit-binary-input-event",
    10: "binary-output",
    11: "binary-output-event",
    12: "control-relay-output-block",
    13: "binary-output-command-event",
    20: "counter",
    21: "frozen-counter",
    22: "counter-event",
    23: "frozen-counter-event",
    30: "analog-input",
    31: "frozen-analog-input",
    32: "analog-input-event",
    33: "frozen-analog-input-event",
    34: "analog-input-deadband",
    40: "analog-output-status",
    41: "analog-output-block",
    42: "analog-output-event",
    43: "analog-output-command-event",
    50: "time-and-date",
    51: "common-time-of-occurrence",
    52: "time-delay",
    60: "class-data",
    70: "file-transfer",
    80: "internal-indications",
    81: "device-storage",
    82: "device-profile",
    83: "data-set-registration",
    85: "data-set-prototype",
    86: "data-set-descriptor",
    87: "data-set",
    88: "data-set-event",
    90: "application-identifier",
    91: "status-of-requested-operation",
    100: "floating-point",
    101: "binary-coded-decimal",
    102: "unsigned-integer",
    110: "octet-string",
    111: "octet-string-event",
    112: "virtual-terminal-output-block",
    113: "virtual-terminal-event",
    120: "authentication",
    121: "security-statistic",
    122: "security-statistic-event",
}
# Variations with a name more telling than their group's.
VARIATIONS: dict[tuple[int, int], str] = {
    (12, 1): "control-relay-output-block",
    (12, 2): "pattern-control-block",
    (12, 3): "pattern-mask",
    (50, 1): "time-and-date",
    (50, 2): "time-and-date-with-interval",
    (50, 3): "last-recorded-time",
    (50, 4): "indexed-absolute-time",
    (52, 1): "time-delay-coarse",
    (52, 2): "time-delay-fine",
    (60, 1): "class-0-data",
    (60, 2): "class-1-data",
    (60, 3): "class-2-data",
    (60, 4): "class-3-data",
    (70, 1): "file-identifier",
    (70, 2): "file-authentication",
    (70, 3): "file-command",
    (70, 4): "file-command-status",
    (70, 5): "file-transport",
    (70, 6): "file-transport-status",
    (70, 7): "file-descriptor",
    (70, 8): "file-specification-string",
    (80, 1): "internal-indications",
    (120, 1): "auth-challenge",
    (120, 2): "auth-reply",
    (120, 3): "auth-aggressive-mode-request",
    (120, 4): "auth-session-key-status-request",
    (120, 5): "auth-session-key-status",
    (120, 6): "auth-session-key-change",
    (120, 7): "auth-error",
    (120, 8): "auth-user-certificate",
    (120, 9): "auth-mac",
    (120, 10): "auth-user-status-change",
    (120, 11): "auth-update-key-change-request",
    (120, 12): "auth-update-key-change-reply",
    (120, 13): "auth-update-key-change",
    (120, 14): "auth-update-key-change-signature",
    (120, 15): "auth-update-key-change-confirmation",
}
CONTROL_GROUPS = frozenset({12, 41})
FILE_GROUPS = frozenset({70})


def function_name(code: int) -> str:
    return FUNCTION_CODES.get(code, f"unknown-{code}")


def link_function_name(primary: bool, code: int) -> str:
    table = LINK_PRIMARY_FUNCTIONS if primary else LINK_SECONDARY_FUNCTIONS
    return table.get(code, f"unknown-{code}")


def group_name(group: int) -> str:
    return GROUPS.get(group, f"unknown-{group}")


def object_name(group: int, variation: int) -> str:
    """A short name for an object type, e.g. ``control-relay-output-block``, ``class-1-data``."""
    return VARIATIONS.get((group, variation)) or GROUPS.get(group, f"g{group}v{variation}")


def iin_flags(iin: int) -> tuple[str, ...]:
    """Names of the IIN bits set, IIN1 first (bit order of the standard)."""
    order = [1 << (8 + k) for k in range(8)] + [1 << k for k in range(8)]
    return tuple(IIN_BITS[b] for b in order if iin & b)
