"""Modbus code tables (Modbus Application Protocol v1.1b3), with ``unknown-N`` fallbacks."""

from __future__ import annotations

FUNCTION_CODES: dict[int, str] = {
    1: "read-coils",
    2: "read-discrete-inputs",
    3: "read-holding-registers",
    4: "read-input-registers",
    5: "write-single-coil",
    6: "write-single-register",
    7: "read-exception-status",
    8: "diagnostics",
    11: "get-comm-event-counter",
    12: "get-comm-event-log",
    15: "write-multiple-coils",
    16: "write-multiple-registers",
    17: "report-server-id",
    20: "read-file-record",
    21: "write-file-record",
    22: "mask-write-register",
    23: "read-write-multiple-registers",
    24: "read-fifo-queue",
    43: "encapsulated-interface-transport",
    90: "schneider-umas",  # vendor-specific, common in the field
}
WRITE_FUNCTIONS = frozenset({5, 6, 15, 16, 21, 22, 23})
EXCEPTION_CODES: dict[int, str] = {
    1: "illegal-function",
    2: "illegal-data-address",
    3: "illegal-data-value",
    4: "server-device-failure",
    5: "acknowledge",
    6: "server-device-busy",
    7: "negative-acknowledge",
    8: "memory-parity-error",
    10: "gateway-path-unavailable",
    11: "gateway-target-device-failed-to-respond",
}
DIAGNOSTIC_SUBFUNCTIONS: dict[int, str] = {
    0: "return-query-data",
    1: "restart-communications-option",
    2: "return-diagnostic-register",
    3: "change-ascii-input-delimiter",
    4: "force-listen-only-mode",
    10: "clear-counters-and-diagnostic-register",
    11: "return-bus-message-count",
    12: "return-bus-communication-error-count",
    13: "return-bus-exception-error-count",
    14: "return-server-message-count",
    15: "return-server-no-response-count",
    16: "return-server-nak-count",
    17: "return-server-busy-count",
    18: "return-bus-character-overrun-count",
    20: "clear-overrun-counter-and-flag",
}
MEI_TYPES: dict[int, str] = {13: "canopen-general-reference", 14: "read-device-identification"}
DEVICE_ID_OBJECTS: dict[int, str] = {
    0: "vendor_name",
    1: "product_code",
    2: "revision",
    3: "vendor_url",
    4: "product_name",
    5: "model_name",
    6: "user_application_name",
}


def function_name(code: int) -> str:
    return FUNCTION_CODES.get(code & 0x7F, f"unknown-{code & 0x7F}")


def exception_name(code: int) -> str:
    return EXCEPTION_CODES.get(code, f"unknown-{code}")


def diagnostic_name(code: int) -> str:
    return DIAGNOSTIC_SUBFUNCTIONS.get(code, f"unknown-{code}")


def device_object_name(code: int) -> str:
    return DEVICE_ID_OBJECTS.get(code, f"object-{code}")

# Schneider Electric UMAS (Modbus function 90), as published by security research on Modicon
# PLCs; Schneider's "upload"/"download" are seen from the PLC (upload = to the PLC).
UMAS_FUNCTIONS: dict[int, str] = {
    0x01: "init-comm",
    0x02: "read-id",
    0x03: "read-project-info",
    0x04: "read-plc-info",
    0x06: "read-card-info",
    0x0A: "repeat",
    0x10: "take-plc-reservation",
    0x11: "release-plc-reservation",
    0x12: "keep-alive",
    0x20: "read-memory-block",
    0x22: "read-variables",
    0x23: "write-variables",
    0x24: "read-coils-registers",
    0x25: "write-coils-registers",
    0x30: "initialize-upload",
    0x31: "upload-block",
    0x32: "end-strategy-upload",
    0x33: "initialize-download",
    0x34: "download-block",
    0x35: "end-strategy-download",
    0x39: "read-ethernet-master-data",
    0x40: "start-plc",
    0x41: "stop-plc",
    0x50: "monitor-plc",
    0x58: "check-plc",
    0x70: "read-io-object",
    0x71: "write-io-object",
    0x73: "get-status-module",
}
