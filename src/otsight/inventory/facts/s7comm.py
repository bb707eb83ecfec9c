"""S7comm and S7comm-plus: the PLC's SZL identification, and what clients ask of it.

SZL 0x0011 (module identification) gives the order number and the hardware/firmware versions,
SZL 0x001C (component identification) the names and the serial. The order number is the model
a vulnerability advisory names, so it is the model (90); the readable module type
("CPU 315-2 PN/DP") is kept as a second model name (85). The PLC answers, so the facts belong to
the sender of the read-szl response.
"""

from __future__ import annotations

from ...protocols.s7comm.events import S7Connection, S7PlusMessage, S7Request, S7UserData
from ..model import Fact
from ._common import NONE, Collector, Handler, one

SOURCE = "s7comm/szl"
IDENTIFICATION = 90
SECOND_NAME = 85

# module_identification key (as the dissector names it) -> (attribute, reliability)
SZL_FIELDS: dict[str, tuple[str, int]] = {
    "order_number": ("model", IDENTIFICATION),
    "module_type": ("model", SECOND_NAME),
    "firmware_version": ("firmware", IDENTIFICATION),
    "hardware_version": ("hardware_version", IDENTIFICATION),
    "serial_number": ("serial", IDENTIFICATION),
    "plc_name": ("device_name", IDENTIFICATION),
    "module_name": ("application", IDENTIFICATION),
}

JOB_CATEGORIES: dict[str, str] = {
    "read-var": "read",
    "write-var": "write",
    "request-download": "program",
    "download-block": "program",
    "download-ended": "program",
    "start-upload": "program",
    "upload": "program",
    "end-upload": "program",
    "plc-stop": "control",
    "setup-communication": "session",
}
# plc-control (0x28) does what its PI service names.
PI_CATEGORIES: dict[str, str] = {
    "_INSE": "program",  # activate a downloaded block
    "_DELE": "program",  # delete a block
    "_MODU": "program",  # copy RAM to ROM
    "P_PROGRAM": "control",  # start / stop the program
    "_GARB": "control",  # compress memory
    "_N_LOGIN_": "login",
    "_N_LOGOUT": "login",
}

# Userdata requests: by function group, refined by sub-function.
GROUP_CATEGORIES: dict[str, str] = {
    "mode-transition": "control",
    "programmer-commands": "diagnostic",
    "cyclic-data": "subscribe",
    "block-functions": "diagnostic",
    "cpu-functions": "other",
    "security": "login",
    "pbc-bsend-brecv": "other",
    "time-functions": "read",
    "nc-programming": "program",
}
SUBFUNCTION_CATEGORIES: dict[str, str] = {
    "vartab": "read",
    "forces": "write",
    "erase": "program",
    "read-szl": "diagnostic",
    "message-service": "subscribe",
    "alarm-query": "read",
    "alarm-ack": "write",
    "clean-session": "session",
    "set-clock": "configure",
    "set-clock-2": "configure",
}

PLUS_CATEGORIES: dict[str, str] = {
    "get-variable": "read",
    "get-multi-variables": "read",
    "get-var-sub-streamed": "read",
    "get-variables-address": "read",
    "get-link": "read",
    "explore": "browse",
    "set-variable": "write",
    "set-multi-variables": "write",
    "set-var-sub-streamed": "write",
    "create-object": "session",  # the first request of a connection creates its session
    "delete-object": "session",
}


def job(event: S7Request) -> tuple[Fact, ...]:
    function = event.function or ""
    if function == "plc-control":
        category = PI_CATEGORIES.get(event.pi_service or "", "control")
    else:
        category = JOB_CATEGORIES.get(function, "other")
    return one(event, category)


def userdata(event: S7UserData) -> tuple[Fact, ...]:
    if event.method == "request":
        category = SUBFUNCTION_CATEGORIES.get(event.subfunction_name) or GROUP_CATEGORIES.get(
            event.function_group_name, "other"
        )
        return one(event, category)
    ident = event.module_identification
    if event.method != "response" or not ident:
        return NONE
    facts = Collector(event)
    for key, value in ident.items():
        target = SZL_FIELDS.get(key)
        if target is not None:
            facts.observe(target[0], value, SOURCE, target[1], ip=event.src_ip)
    return facts.result()


def connection(event: S7Connection) -> tuple[Fact, ...]:
    return one(event, "session") if event.pdu_type == "connection-request" else NONE


def plus(event: S7PlusMessage) -> tuple[Fact, ...]:
    if event.opcode_name != "request":
        return NONE
    return one(event, PLUS_CATEGORIES.get(event.function or "", "other"))


HANDLERS: dict[type, Handler] = {
    S7Request: job,
    S7UserData: userdata,
    S7Connection: connection,
    S7PlusMessage: plus,
}
