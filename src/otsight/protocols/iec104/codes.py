"""IEC 60870-5-101/104 code tables (IEC 60870-5-101 clause 7.2, IEC 60870-5-104 clause 5)."""

from __future__ import annotations

# U-format control octet -> function name
U_FUNCTIONS: dict[int, str] = {
    0x07: "startdt-act",
    0x0B: "startdt-con",
    0x13: "stopdt-act",
    0x23: "stopdt-con",
    0x43: "testfr-act",
    0x83: "testfr-con",
}

# type identification -> (name, information element octets without the IOA; None = variable)
TYPES: dict[int, tuple[str, int | None]] = {
    1: ("M_SP_NA_1", 1),
    2: ("M_SP_TA_1", 4),
    3: ("M_DP_NA_1", 1),
    4: ("M_DP_TA_1", 4),
    5: ("M_ST_NA_1", 2),
    6: ("M_ST_TA_1", 5),
    7: ("M_BO_NA_1", 5),
    8: ("M_BO_TA_1", 8),
    9: ("M_ME_NA_1", 3),
    10: ("M_ME_TA_1", 6),
    11: ("M_ME_NB_1", 3),
    12: ("M_ME_TB_1", 6),
    13: ("M_ME_NC_1", 5),
    14: ("M_ME_TC_1", 8),
    15: ("M_IT_NA_1", 5),
    16: ("M_IT_TA_1", 8),
    17: ("M_EP_TA_1", 6),
    18: ("M_EP_TB_1", 7),
    19: ("M_EP_TC_1", 7),
    20: ("M_PS_NA_1", 5),
    21: ("M_ME_ND_1", 2),
    30: ("M_SP_TB_1", 8),
    31: ("M_DP_TB_1", 8),
    32: ("M_ST_TB_1", 9),
    33: ("M_BO_TB_1", 12),
    34: ("M_ME_TD_1", 10),
    35: ("M_ME_TE_1", 10),
    36: ("M_ME_TF_1", 12),
    37: ("M_IT_TB_1", 12),
    38: ("M_EP_TD_1", 10),
    39: ("M_EP_TE_1", 11),
    40: ("M_EP_TF_1", 11),
    45: ("C_SC_NA_1", 1),
    46: ("C_DC_NA_1", 1),
    47: ("C_RC_NA_1", 1),
    48: ("C_SE_NA_1", 3),
    49: ("C_SE_NB_1", 3),
    50: ("C_SE_NC_1", 5),
    51: ("C_BO_NA_1", 4),
    58: ("C_SC_TA_1", 8),
    59: ("C_DC_TA_1", 8),
    60: ("C_RC_TA_1", 8),
    61: ("C_SE_TA_1", 10),
    62: ("C_SE_TB_1", 10),
    63: ("C_SE_TC_1", 12),
    64: ("C_BO_TA_1", 11),
    70: ("M_EI_NA_1", 1),
    100: ("C_IC_NA_1", 1),
    101: ("C_CI_NA_1", 1),
    102: ("C_RD_NA_1", 0),
    103: ("C_CS_NA_1", 7),
    104: ("C_TS_NA_1", 2),
    105: ("C_RP_NA_1", 1),
    106: ("C_CD_NA_1", 2),
    107: ("C_TS_TA_1", 9),
    110: ("P_ME_NA_1", 3),
    111: ("P_ME_NB_1", 3),
    112: ("P_ME_NC_1", 5),
    113: ("P_AC_NA_1", 1),
    120: ("F_FR_NA_1", 6),
    121: ("F_SR_NA_1", 7),
    122: ("F_SC_NA_1", 4),
    123: ("F_LS_NA_1", 5),
    124: ("F_AF_NA_1", 4),
    125: ("F_SG_NA_1", None),
    126: ("F_DR_TA_1", 13),
    127: ("F_SC_NB_1", 16),
}

CAUSES: dict[int, str] = {
    1: "per/cyc",
    2: "back",
    3: "spont",
    4: "init",
    5: "req",
    6: "act",
    7: "actcon",
    8: "deact",
    9: "deactcon",
    10: "actterm",
    11: "retrem",
    12: "retloc",
    13: "file",
    20: "inrogen",
    **{20 + g: f"inro{g}" for g in range(1, 17)},
    37: "reqcogen",
    **{37 + g: f"reqco{g}" for g in range(1, 5)},
    44: "unknown-type",
    45: "unknown-cause",
    46: "unknown-asdu-address",
    47: "unknown-ioa",
}

# Causes that confirm or refuse rather than ask: a control-direction type sent with them is a
# reply from the controlled station, not a command.
CONFIRMATION_CAUSES = frozenset({7, 9, 10, 44, 45, 46, 47})

# Commands whose information element carries a select/execute bit (S/E, bit 8 of the last octet
# of the command qualifier) and which qualifier octet it is in (offset in the element).
SELECT_EXECUTE_OFFSET: dict[int, int] = {
    45: 0,
    46: 0,
    47: 0,
    58: 0,
    59: 0,
    60: 0,
    48: 2,
    49: 2,
    50: 4,
    61: 2,
    62: 2,
    63: 4,
}

DOUBLE_COMMAND = {0: "not-permitted-0", 1: "off", 2: "on", 3: "not-permitted-3"}
REGULATING_STEP = {0: "not-permitted-0", 1: "lower", 2: "higher", 3: "not-permitted-3"}
RESET_PROCESS = {0: "not-used", 1: "general-reset", 2: "reset-time-tagged-events"}


def type_name(type_id: int) -> str:
    entry = TYPES.get(type_id)
    return entry[0] if entry else f"unknown-{type_id}"


def cause_name(cause: int) -> str:
    return CAUSES.get(cause, f"unknown-{cause}")


def u_function_name(control: int) -> str:
    return U_FUNCTIONS.get(control, f"unknown-{control:#04x}")


def category(type_id: int) -> str:
    """monitor, control (process commands), system, parameter or file (by type range)."""
    if type_id < 45:
        return "monitor"
    if type_id < 70:
        return "control"
    if type_id < 100:
        return "monitor"  # 70 end of initialisation
    if type_id < 110:
        return "system"
    if type_id < 120:
        return "parameter"
    return "file"


def qualifier_of_interrogation(qoi: int) -> str:
    if qoi == 20:
        return "station"
    if 21 <= qoi <= 36:
        return f"group-{qoi - 20}"
    return f"unknown-{qoi}"
