"""DNP3: what a master asks of an outstation. DNP3 reveals no identity strings here (device
attributes, group 0, are not decoded by the dissector).

Responses, unsolicited responses and link frames give no Activity: the master/outstation roles
come from requests only, and an unsolicited report must not make the master look like a server.
Application confirms (FC 0) acknowledge responses and are not counted either.
"""

from __future__ import annotations

from ...protocols.dnp3.events import Dnp3Request
from ..model import Fact
from ._common import NONE, Handler, one

CROB_GROUP = 12  # control relay output block: trips, closes, pulses
OPERATE_FUNCTIONS = frozenset({3, 4, 5, 6})  # select, operate, direct operate (no ack)

CATEGORIES: dict[int, str] = {
    1: "read",
    2: "write",
    7: "control",  # immediate freeze (counters)
    8: "control",
    9: "control",
    10: "control",
    11: "control",
    12: "control",
    13: "control",  # cold restart
    14: "control",  # warm restart
    15: "control",  # initialize data
    16: "control",  # initialize application
    17: "control",  # start application
    18: "control",  # stop application
    19: "configure",  # save configuration
    20: "configure",  # enable unsolicited
    21: "configure",  # disable unsolicited
    22: "configure",  # assign class
    23: "other",  # delay measurement (time sync)
    24: "other",  # record current time
    25: "program",  # file transfer: open, close, delete, info, authenticate, abort
    26: "program",
    27: "program",
    28: "program",
    29: "program",
    30: "program",
    31: "configure",  # activate configuration
    32: "login",  # secure authentication
    33: "login",
}


def request(event: Dnp3Request) -> tuple[Fact, ...]:
    fc = event.function_code
    if fc == 0:
        return NONE
    if fc in OPERATE_FUNCTIONS:
        # Commands to relay outputs are control; to analog outputs (group 41) set-points.
        groups = {obj[0] for obj in event.objects}
        category = "control" if CROB_GROUP in groups or not groups else "write"
        return one(event, category)
    return one(event, CATEGORIES.get(fc, "other"))


HANDLERS: dict[type, Handler] = {Dnp3Request: request}
