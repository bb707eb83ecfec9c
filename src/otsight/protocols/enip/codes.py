"""EtherNet/IP and CIP code tables (ODVA CIP Vol. 1 and Vol. 2), with ``unknown-N`` fallbacks."""

from __future__ import annotations

ENCAP_COMMANDS: dict[int, str] = {
    0x0000: "nop",
    0x0004: "list-services",
    0x0063: "list-identity",
    0x0064: "list-interfaces",
    0x0065: "register-session",
    0x0066: "unregister-session",
    0x006F: "send-rr-data",
    0x0070: "send-unit-data",
    0x0072: "indicate-status",
    0x0073: "cancel",
}

ENCAP_STATUS: dict[int, str] = {
    0x0000: "success",
    0x0001: "invalid-command",
    0x0002: "insufficient-memory",
    0x0003: "incorrect-data",
    0x0064: "invalid-session-handle",
    0x0065: "invalid-length",
    0x0069: "unsupported-protocol-revision",
}

CPF_ITEMS: dict[int, str] = {
    0x0000: "null-address",
    0x000C: "list-identity",
    0x0086: "cip-security",
    0x00A1: "connected-address",
    0x00B1: "connected-data",
    0x00B2: "unconnected-data",
    0x0100: "list-services",
    0x8000: "sockaddr-o-t",
    0x8001: "sockaddr-t-o",
    0x8002: "sequenced-address",
}

# Common services (CIP Vol. 1 Appendix A) plus the object-specific ones seen most often.
SERVICES: dict[int, str] = {
    0x01: "get-attribute-all",
    0x02: "set-attribute-all",
    0x03: "get-attribute-list",
    0x04: "set-attribute-list",
    0x05: "reset",
    0x06: "start",
    0x07: "stop",
    0x08: "create",
    0x09: "delete",
    0x0A: "multiple-service-packet",
    0x0D: "apply-attributes",
    0x0E: "get-attribute-single",
    0x10: "set-attribute-single",
    0x11: "find-next-object-instance",
    0x14: "error-response",
    0x15: "restore",
    0x16: "save",
    0x17: "nop",
    0x18: "get-member",
    0x19: "set-member",
    0x1A: "insert-member",
    0x1B: "remove-member",
    0x1C: "group-sync",
    # Connection Manager (class 0x06) object-specific services
    0x4E: "forward-close",
    0x52: "unconnected-send",
    0x54: "forward-open",
    0x56: "get-connection-data",
    0x57: "search-connection-data",
    0x5A: "get-connection-owner",
    0x5B: "large-forward-open",
}

# Logix controller services (used on symbolic / tag paths, not Connection Manager).
LOGIX_SERVICES: dict[int, str] = {
    0x4C: "read-tag",
    0x4D: "write-tag",
    0x4E: "read-modify-write-tag",
    0x52: "read-tag-fragmented",
    0x53: "write-tag-fragmented",
    0x55: "get-instance-attribute-list",
}

CONNECTION_MANAGER = 0x06
PCCC = 0x67
MESSAGE_ROUTER = 0x02
MULTIPLE_SERVICE_PACKET = 0x0A
UNCONNECTED_SEND = 0x52
FORWARD_OPEN = 0x54
LARGE_FORWARD_OPEN = 0x5B
FORWARD_CLOSE = 0x4E

GENERAL_STATUS: dict[int, str] = {
    0x00: "success",
    0x01: "connection-failure",
    0x02: "resource-unavailable",
    0x03: "invalid-parameter-value",
    0x04: "path-segment-error",
    0x05: "path-destination-unknown",
    0x06: "partial-transfer",
    0x07: "connection-lost",
    0x08: "service-not-supported",
    0x09: "invalid-attribute-value",
    0x0A: "attribute-list-error",
    0x0B: "already-in-requested-mode",
    0x0C: "object-state-conflict",
    0x0D: "object-already-exists",
    0x0E: "attribute-not-settable",
    0x0F: "privilege-violation",
    0x10: "device-state-conflict",
    0x11: "reply-data-too-large",
    0x12: "fragmentation-of-a-primitive-value",
    0x13: "not-enough-data",
    0x14: "attribute-not-supported",
    0x15: "too-much-data",
    0x16: "object-does-not-exist",
    0x17: "service-fragmentation-sequence-not-in-progress",
    0x18: "no-stored-attribute-data",
    0x19: "store-operation-failure",
    0x1A: "routing-failure-request-too-large",
    0x1B: "routing-failure-response-too-large",
    0x1C: "missing-attribute-list-entry-data",
    0x1D: "invalid-attribute-value-list",
    0x1E: "embedded-service-error",
    0x1F: "vendor-specific-error",
    0x20: "invalid-parameter",
    0x21: "write-once-value-or-medium-already-written",
    0x22: "invalid-reply-received",
    0x25: "key-failure-in-path",
    0x26: "path-size-invalid",
    0x27: "unexpected-attribute-in-list",
    0x28: "invalid-member-id",
    0x29: "member-not-settable",
}

CLASSES: dict[int, str] = {
    0x01: "identity",
    0x02: "message-router",
    0x03: "devicenet",
    0x04: "assembly",
    0x05: "connection",
    0x06: "connection-manager",
    0x07: "register",
    0x08: "discrete-input-point",
    0x09: "discrete-output-point",
    0x0A: "analog-input-point",
    0x0B: "analog-output-point",
    0x0E: "presence-sensing",
    0x0F: "parameter",
    0x10: "parameter-group",
    0x12: "group",
    0x1D: "discrete-input-group",
    0x1E: "discrete-output-group",
    0x1F: "discrete-group",
    0x20: "analog-input-group",
    0x21: "analog-output-group",
    0x22: "analog-group",
    0x23: "position-sensor",
    0x24: "position-controller-supervisor",
    0x25: "position-controller",
    0x26: "block-sequencer",
    0x27: "command-block",
    0x28: "motor-data",
    0x29: "control-supervisor",
    0x2A: "ac-dc-drive",
    0x2B: "acknowledge-handler",
    0x2C: "overload",
    0x2D: "softstart",
    0x2E: "selection",
    0x30: "s-device-supervisor",
    0x37: "file",
    0x38: "s-partial-pressure",
    0x39: "safety-supervisor",
    0x3A: "safety-validator",
    0x43: "time-sync",
    0x47: "device-level-ring",
    0x48: "qos",
    0x4D: "base-energy",
    0x4E: "electrical-energy",
    0x4F: "non-electrical-energy",
    0x53: "power-management",
    0x5C: "file-object-ex",
    0x5D: "certificate-management",
    0x67: "pccc",
    0x6B: "symbol",
    0x6C: "template",
    0xF0: "controlnet",
    0xF4: "port",
    0xF5: "tcp-ip-interface",
    0xF6: "ethernet-link",
    0xF7: "componet-link",
    0xF8: "componet-repeater",
}

DEVICE_TYPES: dict[int, str] = {
    0x00: "generic-device",
    0x02: "ac-drive",
    0x03: "motor-overload",
    0x04: "limit-switch",
    0x05: "inductive-proximity-switch",
    0x06: "photoelectric-sensor",
    0x07: "general-purpose-discrete-io",
    0x09: "resolver",
    0x0C: "communications-adapter",
    0x0E: "programmable-logic-controller",
    0x10: "position-controller",
    0x13: "dc-drive",
    0x15: "contactor",
    0x16: "motor-starter",
    0x17: "soft-start",
    0x18: "human-machine-interface",
    0x1A: "mass-flow-controller",
    0x1B: "pneumatic-valve",
    0x1C: "vacuum-pressure-gauge",
    0x1D: "process-control-value",
    0x1E: "residual-gas-analyzer",
    0x1F: "dc-power-generator",
    0x20: "rf-power-generator",
    0x21: "turbomolecular-vacuum-pump",
    0x22: "encoder",
    0x23: "safety-discrete-io",
    0x24: "fluid-flow-controller",
    0x25: "cip-motion-drive",
    0x26: "componet",
    0x27: "cip-motion-encoder",
    0x28: "cip-motion-io",
    0x2B: "generic-device-keyable",
    0x2C: "managed-switch",
    0x32: "controlnet-physical-layer",
    0x3B: "embedded-component",
}

# Common CIP vendor ids (ODVA registry); only ids checked against the registry are listed.
VENDORS: dict[int, str] = {
    1: "Rockwell Automation/Allen-Bradley",
    3: "Honeywell",
    5: "Rockwell Automation/Reliance Electric",
    8: "Molex",
    12: "Banner Engineering",
    26: "Festo",
    40: "WAGO",
    43: "Balluff",
    44: "Yaskawa Electric America",
    46: "ABB Industrial Systems",
    47: "Omron",
    48: "Turck",
    58: "Spectrum Controls",
    68: "Eaton Electrical",
    71: "Toshiba International",
    74: "Hitachi",
    77: "Rockwell Software",
    82: "Mitsubishi Electric Automation",
    90: "HMS Industrial Networks",
    97: "Danfoss",
    108: "Beckhoff Automation",
    145: "Siemens Energy & Automation",
    161: "Mitsubishi Electric",
    176: "Red Lion Controls",
    181: "Pilz",
    243: "Schneider Automation",
    250: "Yokogawa Electric",
    283: "Hilscher",
    309: "ProSoft Technology",
    315: "SEW-Eurodrive",
    319: "Fuji Electric",
    326: "GE Fanuc Automation",
    367: "Keyence",
    445: "Lenze",
    562: "Phoenix Contact",
    591: "FANUC",
    634: "Hirschmann",
    939: "Cisco Systems",
}


def command_name(code: int) -> str:
    return ENCAP_COMMANDS.get(code, f"unknown-{code}")


def encap_status_name(code: int) -> str:
    return ENCAP_STATUS.get(code, f"unknown-{code}")


def service_name(code: int, class_id: int | None = None, symbolic: bool = False) -> str:
    """Name of a service code (response bit ignored). Object-specific codes (0x4B-0x63) depend
    on the class: Connection Manager codes when addressed to class 0x06, Logix tag services when
    the path is symbolic or names no Connection Manager."""
    code &= 0x7F
    if code == 0x4B and class_id == PCCC:
        return "execute-pccc"
    if 0x4B <= code <= 0x63 and class_id != CONNECTION_MANAGER:
        if code in LOGIX_SERVICES and (symbolic or class_id is None or class_id >= 0x64):
            return LOGIX_SERVICES[code]
        if class_id is not None:
            return f"object-specific-{code}"
    return SERVICES.get(code, f"unknown-{code}")


def status_name(code: int) -> str:
    return GENERAL_STATUS.get(code, f"unknown-{code}")


def class_name(code: int | None) -> str | None:
    if code is None:
        return None
    return CLASSES.get(code, f"unknown-{code}")


def vendor_name(code: int) -> str:
    return VENDORS.get(code, f"unknown-{code}")


def device_type_name(code: int) -> str:
    return DEVICE_TYPES.get(code, f"unknown-{code}")
