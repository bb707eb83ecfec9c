"""S7comm / COTP / S7comm-plus code tables, with ``unknown-N`` fallbacks.

Names follow the Wireshark S7comm dissector's vocabulary, spelled as lower-case slugs.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- COTP (ISO 8073)
COTP_PDU_TYPES: dict[int, str] = {
    0x10: "expedited-data",
    0x20: "expedited-data-ack",
    0x50: "reject",
    0x60: "data-ack",
    0x70: "tpdu-error",
    0x80: "disconnect-request",
    0xC0: "disconnect-confirm",
    0xD0: "connection-confirm",
    0xE0: "connection-request",
    0xF0: "data",
}

# --------------------------------------------------------------------------- S7comm header
ROSCTR: dict[int, str] = {1: "job", 2: "ack", 3: "ack-data", 7: "userdata"}

FUNCTION_CODES: dict[int, str] = {
    0x00: "cpu-services",
    0x04: "read-var",
    0x05: "write-var",
    0x1A: "request-download",
    0x1B: "download-block",
    0x1C: "download-ended",
    0x1D: "start-upload",
    0x1E: "upload",
    0x1F: "end-upload",
    0x28: "plc-control",
    0x29: "plc-stop",
    0xF0: "setup-communication",
}
WRITE_FUNCTIONS = frozenset({0x05, 0x1A, 0x1B, 0x1C, 0x28, 0x29})
BLOCK_TRANSFER_FUNCTIONS = frozenset({0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F})

ERROR_CLASSES: dict[int, str] = {
    0x00: "no-error",
    0x81: "application-relationship",
    0x82: "object-definition",
    0x83: "no-resources-available",
    0x84: "error-on-service-processing",
    0x85: "error-on-supplies",
    0x87: "access-error",
}

# data item return codes (read-var / write-var / userdata data part)
RETURN_CODES: dict[int, str] = {
    0x00: "reserved",
    0x01: "hardware-fault",
    0x03: "accessing-object-not-allowed",
    0x05: "invalid-address",
    0x06: "data-type-not-supported",
    0x07: "data-type-inconsistent",
    0x0A: "object-does-not-exist",
    0xFF: "success",
}

AREAS: dict[int, str] = {
    0x03: "system-info-200",
    0x05: "system-flags-200",
    0x06: "analog-inputs-200",
    0x07: "analog-outputs-200",
    0x1C: "counter",
    0x1D: "timer",
    0x1E: "iec-counter-200",
    0x1F: "iec-timer-200",
    0x80: "peripheral",
    0x81: "inputs",
    0x82: "outputs",
    0x83: "flags",
    0x84: "data-block",
    0x85: "instance-data-block",
    0x86: "local-data",
    0x87: "previous-local-data",
}

TRANSPORT_SIZES: dict[int, str] = {
    0x01: "bit",
    0x02: "byte",
    0x03: "char",
    0x04: "word",
    0x05: "int",
    0x06: "dword",
    0x07: "dint",
    0x08: "real",
    0x09: "date",
    0x0A: "tod",
    0x0B: "time",
    0x0C: "s5time",
    0x0F: "date-and-time",
    0x1C: "counter",
    0x1D: "timer",
    0x1E: "iec-timer",
    0x1F: "iec-counter",
    0x20: "hs-counter",
}

SYNTAX_IDS: dict[int, str] = {
    0x10: "s7any",
    0x13: "pbc-r-id",
    0x15: "alarm-lockfree",
    0x16: "alarm-ind",
    0x19: "alarm-ack",
    0x1A: "alarm-query-req",
    0x1C: "notify-ind",
    0x82: "nck",
    0x83: "nck-metric",
    0x84: "nck-inch",
    0xA2: "drive-es-any",
    0xB0: "db-read",
    0xB2: "1200-sym",
}

# Block types as they appear in block file names ("_0A00001P" = DB 1, passive file system)
BLOCK_TYPES: dict[str, str] = {
    "08": "OB",
    "09": "CMOD",
    "0A": "DB",
    "0B": "SDB",
    "0C": "FC",
    "0D": "SFC",
    "0E": "FB",
    "0F": "SFB",
}
# userdata block functions carry the type as a 2-char ASCII code too ("0A" or "DB"-style)
FILE_SYSTEMS: dict[str, str] = {"P": "passive", "A": "active", "B": "active-and-passive"}

PI_SERVICES: dict[str, str] = {
    "_INSE": "activate-downloaded-block",
    "_DELE": "delete-block",
    "P_PROGRAM": "program-start-stop",
    "_GARB": "compress-memory",
    "_MODU": "copy-ram-to-rom",
    "_N_LOGIN_": "login",
    "_N_LOGOUT": "logout",
    "_N_CANCEL": "cancel-alarm",
    "_N_DASAVE": "copy-ram-to-rom-nc",
    "_N_DIGIOF": "digitizing-off",
    "_N_DIGION": "digitizing-on",
    "_N_DZERO_": "reset-work-offsets",
    "_N_ENDEXT": "end-external-program",
    "_N_F_OPER": "open-file-read-only",
    "_N_OST_OF": "overstore-off",
    "_N_OST_ON": "overstore-on",
    "_N_SCALE_": "change-measurement-system",
    "_N_SETUFR": "activate-user-frame",
    "_N_STRTLK": "set-global-start-disable",
    "_N_STRTUL": "reset-global-start-disable",
    "_N_TMRASS": "reset-active-state",
    "_N_F_DELE": "delete-file",
    "_N_EXTERN": "select-external-program",
    "_N_EXTMOD": "select-external-program-mode",
    "_N_F_DELR": "delete-file-even-without-access-rights",
    "_N_F_XFER": "select-file-for-upload",
    "_N_LOCKE_": "lock-active-file-for-editing",
    "_N_SELECT": "select-program",
    "_N_SRTLOG": "set-start-log",
    "_N_F_CLOS": "close-file",
    "_N_F_OPEN": "open-file",
    "_N_F_SEEK": "position-file-pointer",
    "_N_ASUP__": "assign-interrupt",
    "_N_CHEKDM": "start-uniqueness-check-on-d-numbers",
    "_N_CHKDNO": "check-tool-numbers",
    "_N_CONFIG": "reconfigure-machine-data",
    "_N_CRCEDN": "create-tool-cutting-edge",
    "_N_DELECE": "delete-tool-cutting-edge",
    "_N_CREACE": "create-tool-cutting-edge-2",
    "_N_CREATO": "create-tool",
    "_N_DELETO": "delete-tool",
    "_N_CRTOCE": "generate-tool-with-cutting-edge",
    "_N_DELVAR": "delete-data-block",
    "_N_F_COPY": "copy-file",
    "_N_F_DMDA": "delete-mdi-memory",
    "_N_F_PROT": "assign-file-protection",
    "_N_F_RENA": "rename-file",
    "_N_FINDBL": "activate-search",
    "_N_IBN_SS": "set-setup-switch",
    "_N_MMCSEM": "mmc-semaphore",
    "_N_NCKMOD": "set-nck-mode",
    "_N_NEWPWD": "new-password",
    "_N_SEL_BL": "select-new-block",
    "_N_SETTST": "activate-tools-for-replacement",
    "_N_TMAWCO": "set-active-wear-group",
    "_N_TMCRTC": "create-tool-with-specified-edge",
    "_N_TMCRTO": "create-tool-in-tool-management",
    "_N_TMFDPL": "find-empty-place-for-loading",
    "_N_TMFPBP": "find-empty-place",
    "_N_TMGETT": "determine-t-number",
    "_N_TMMVTL": "load-or-unload-tool",
    "_N_TMPCIT": "set-piece-counter-increment",
    "_N_TMPOSM": "position-magazine",
    "_N_TRESMO": "reset-monitoring-values",
    "_N_TSEARC": "complex-search",
}

# --------------------------------------------------------------------------- userdata
USERDATA_METHODS: dict[int, str] = {0x11: "request", 0x12: "response"}
USERDATA_TYPES: dict[int, str] = {
    0x0: "push",
    0x4: "request",
    0x8: "response",
    0x3: "nc-push",
    0x7: "nc-request",
    0xB: "nc-response",
}

FUNCTION_GROUPS: dict[int, str] = {
    0x0: "mode-transition",
    0x1: "programmer-commands",
    0x2: "cyclic-data",
    0x3: "block-functions",
    0x4: "cpu-functions",
    0x5: "security",
    0x6: "pbc-bsend-brecv",
    0x7: "time-functions",
    0xF: "nc-programming",
}

SUBFUNCTIONS: dict[int, dict[int, str]] = {
    0x0: {
        0x00: "stop",
        0x01: "warm-restart",
        0x02: "run",
        0x03: "hot-restart",
        0x04: "hold",
        0x06: "cold-restart",
        0x09: "run-redundant",
        0x0B: "link-up",
        0x0C: "update",
    },
    0x1: {
        0x01: "request-diag-data-type1",
        0x02: "vartab",
        0x0C: "erase",
        0x0E: "read-diag-data",
        0x0F: "remove-diag-data",
        0x10: "forces",
        0x13: "request-diag-data-type2",
    },
    0x2: {
        0x01: "cyclic-memory",
        0x04: "cyclic-unsubscribe",
        0x05: "cyclic-changed-data",
        0x07: "cyclic-rdrec",
    },
    0x3: {0x01: "list-blocks", 0x02: "list-blocks-of-type", 0x03: "get-block-info"},
    0x4: {
        0x01: "read-szl",
        0x02: "message-service",
        0x03: "diagnostic-message",
        0x05: "alarm8-indication",
        0x06: "notify-indication",
        0x07: "alarm8-lock",
        0x08: "alarm8-unlock",
        0x09: "scan-indication",
        0x0B: "alarm-ack",
        0x0C: "alarm-ack-indication",
        0x0D: "alarm-lock-indication",
        0x0E: "alarm-unlock-indication",
        0x11: "alarm-sq-indication",
        0x12: "alarm-s-indication",
        0x13: "alarm-query",
        0x16: "notify8-indication",
    },
    0x5: {0x01: "plc-password", 0x02: "clean-session"},
    0x6: {0x01: "bsend-brecv"},
    0x7: {0x01: "read-clock", 0x02: "set-clock", 0x03: "read-clock-following", 0x04: "set-clock-2"},
}

# SZL ids (the low 8 bits name the list, the high nibbles the partial-list extract)
SZL_LISTS: dict[int, str] = {
    0x00: "list-of-szl-ids",
    0x11: "module-identification",
    0x12: "cpu-characteristics",
    0x13: "user-memory-areas",
    0x14: "system-areas",
    0x15: "block-types",
    0x16: "priority-classes",
    0x17: "sdb-list",
    0x18: "ipi-list",
    0x19: "module-led-status",
    0x1C: "component-identification",
    0x22: "interrupt-status",
    0x25: "process-image-partitions",
    0x32: "communication-status-data",
    0x33: "diagnostic-stations",
    0x37: "ethernet-details",
    0x74: "module-led-status-2",
    0x91: "module-status",
    0x92: "rack-station-status",
    0x94: "rack-station-status-2",
    0x95: "extended-dp-master-system",
    0x96: "module-status-profinet",
    0xA0: "diagnostic-buffer",
    0xB1: "module-diagnostic-data",
    0xB2: "module-diagnostic-record",
    0xB3: "module-diagnostic-data-by-address",
    0xB4: "dp-slave-diagnostic-data",
}

# SZL 0x0011 records: index -> meaning; SZL 0x001C records: index -> field name
SZL_0011_INDEX: dict[int, str] = {
    0x0001: "module",
    0x0006: "basic-hardware",
    0x0007: "basic-firmware",
    0x0081: "firmware-extension",
    0x0082: "boot-loader",
}
SZL_001C_FIELDS: dict[int, str] = {
    0x0001: "plc_name",
    0x0002: "module_name",
    0x0003: "plant_id",
    0x0004: "copyright",
    0x0005: "serial_number",
    0x0007: "module_type",
    0x0008: "memory_card_serial",
    0x000A: "oem_id",
    0x000B: "location",
}

# --------------------------------------------------------------------------- S7comm-plus
S7PLUS_VERSIONS: dict[int, str] = {
    0x01: "v1",
    0x02: "v2",
    0x03: "v3",
    0xFE: "system-event",
    0xFF: "keep-alive",
}
S7PLUS_OPCODES: dict[int, str] = {
    0x31: "request",
    0x32: "response",
    0x33: "notification",
    0x02: "response2",
}
S7PLUS_FUNCTIONS: dict[int, str] = {
    0x04B1: "error",
    0x04BB: "explore",
    0x04CA: "create-object",
    0x04D4: "delete-object",
    0x04F2: "set-variable",
    0x04FC: "get-variable",
    0x0506: "add-link",
    0x051A: "remove-link",
    0x0524: "get-link",
    0x0542: "set-multi-variables",
    0x054C: "get-multi-variables",
    0x0556: "begin-sequence",
    0x0560: "end-sequence",
    0x056B: "invoke",
    0x057C: "set-var-sub-streamed",
    0x0586: "get-var-sub-streamed",
    0x0590: "get-variables-address",
    0x059A: "abort",
}


def _get(table: dict[int, str], code: int) -> str:
    return table.get(code, f"unknown-{code}")


def rosctr_name(code: int) -> str:
    return _get(ROSCTR, code)


def function_name(code: int) -> str:
    return _get(FUNCTION_CODES, code)


def error_class_name(code: int) -> str:
    return _get(ERROR_CLASSES, code)


def return_code_name(code: int) -> str:
    return _get(RETURN_CODES, code)


def area_name(code: int) -> str:
    return _get(AREAS, code)


def transport_size_name(code: int) -> str:
    return _get(TRANSPORT_SIZES, code)


def syntax_name(code: int) -> str:
    return _get(SYNTAX_IDS, code)


def cotp_pdu_name(code: int) -> str:
    return _get(COTP_PDU_TYPES, code)


def function_group_name(code: int) -> str:
    return _get(FUNCTION_GROUPS, code)


def subfunction_name(group: int, code: int) -> str:
    return SUBFUNCTIONS.get(group, {}).get(code, f"unknown-{code}")


def userdata_type_name(code: int) -> str:
    return _get(USERDATA_TYPES, code)


def szl_list_name(szl_id: int) -> str:
    return SZL_LISTS.get(szl_id & 0xFF, f"unknown-{szl_id & 0xFF}")


def block_type_name(code: str) -> str:
    return BLOCK_TYPES.get(code.upper(), f"unknown-{code}")


def pi_service_name(name: str) -> str:
    return PI_SERVICES.get(name, f"unknown-{name}")


def s7plus_opcode_name(code: int) -> str:
    return _get(S7PLUS_OPCODES, code)


def s7plus_function_name(code: int) -> str:
    return _get(S7PLUS_FUNCTIONS, code)


def s7plus_version_name(code: int) -> str:
    return _get(S7PLUS_VERSIONS, code)
