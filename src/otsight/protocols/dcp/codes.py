"""Profinet DCP code tables (IEC 61158-6-10), each with an ``unknown-N`` fallback."""

from __future__ import annotations

FRAME_IDS = {
    0xFEFC: "hello",
    0xFEFD: "get-set",
    0xFEFE: "identify-multicast-request",
    0xFEFF: "identify-response",
}

SERVICES = {3: "get", 4: "set", 5: "identify", 6: "hello"}

SERVICE_TYPES = {0: "request", 1: "response-success", 5: "response-unsupported"}

OPTIONS = {
    1: "ip",
    2: "device-properties",
    3: "dhcp",
    4: "reserved",
    5: "control",
    6: "device-initiative",
    7: "nme-domain",
    255: "all-selector",
}

SUBOPTIONS: dict[int, dict[int, str]] = {
    1: {1: "mac-address", 2: "ip-parameter", 3: "full-ip-suite"},
    2: {
        1: "type-of-station",
        2: "name-of-station",
        3: "device-id",
        4: "device-role",
        5: "device-options",
        6: "alias-name",
        7: "device-instance",
        8: "oem-device-id",
        9: "standard-gateway",
        10: "rsi-properties",
    },
    3: {
        12: "host-name",
        43: "vendor-specific",
        54: "server-identifier",
        55: "parameter-request-list",
        60: "class-identifier",
        61: "client-identifier",
        81: "fqdn",
        97: "uuid-client-identifier",
        255: "control-dhcp-for-address-resolution",
    },
    5: {
        1: "start-transaction",
        2: "end-transaction",
        3: "signal",
        4: "response",
        5: "factory-reset",
        6: "reset-to-factory",
    },
    6: {1: "device-initiative"},
    7: {1: "nme-domain", 2: "nme-prio", 3: "nme-parameter-uuid", 4: "nme-name", 5: "cim-interface"},
    255: {255: "all"},
}

DEVICE_ROLES = ((0x01, "io-device"), (0x02, "io-controller"), (0x04, "io-multidevice"),
                (0x08, "pn-supervisor"))

IP_BLOCK_INFO = {0: "ip-not-set", 1: "ip-set", 2: "ip-set-by-dhcp"}

BLOCK_ERRORS = {
    0: "ok",
    1: "option-unsupported",
    2: "suboption-unsupported",
    3: "suboption-not-set",
    4: "resource-error",
    5: "set-not-possible-local-reasons",
    6: "set-not-possible-in-operation",
}

# Block qualifier of Reset to Factory (5/6), bits 1..15 select what is reset.
RESET_MODES = {
    1: "reset-application-data",
    2: "reset-communication-parameter",
    3: "reset-engineering-parameter",
    4: "reset-all-data",
    5: "reset-device",
    8: "reset-and-restore-data",
}


def service_name(code: int) -> str:
    return SERVICES.get(code, f"unknown-{code}")


def service_type_name(code: int) -> str:
    return SERVICE_TYPES.get(code, f"unknown-{code}")


def option_name(option: int, suboption: int) -> str:
    """``"ip/ip-parameter"``, ``"device-properties/name-of-station"``, ``"unknown-9/unknown-1"``."""
    if 0x80 <= option <= 0xFE:
        return f"manufacturer-{option}/{suboption}"
    opt = OPTIONS.get(option, f"unknown-{option}")
    sub = SUBOPTIONS.get(option, {}).get(suboption, f"unknown-{suboption}")
    return f"{opt}/{sub}"


def block_error_name(code: int) -> str:
    return BLOCK_ERRORS.get(code, f"unknown-{code}")


def role_names(bits: int) -> tuple[str, ...]:
    return tuple(name for bit, name in DEVICE_ROLES if bits & bit)
