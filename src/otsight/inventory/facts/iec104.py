"""IEC 60870-5-104: commands of the controlling station and its STARTDT/STOPDT.

Only ASDUs the dissector marks as commands (a control-direction type sent with a cause that
asks) are Activities; monitor-direction data and confirmations (actcon, actterm) are the
controlled station's answers. TESTFR is a keep-alive either side may send: not counted.
"""

from __future__ import annotations

from ...protocols.iec104.events import Iec104Apci, Iec104Asdu
from ..model import Fact
from ._common import NONE, Handler, one

# type id -> category (the C_*, P_* and F_* types of the control direction)
CATEGORIES: dict[int, str] = {
    **dict.fromkeys((45, 46, 47, 58, 59, 60), "control"),  # single, double, regulating step
    **dict.fromkeys((48, 49, 50, 61, 62, 63), "write"),  # set-points
    **dict.fromkeys((51, 64), "write"),  # bitstring of 32 bits
    100: "read",  # general interrogation
    101: "read",  # counter interrogation
    102: "read",  # read command
    103: "configure",  # clock synchronisation
    104: "diagnostic",  # test command
    107: "diagnostic",
    105: "control",  # reset process
    106: "other",  # delay acquisition
    **dict.fromkeys((110, 111, 112, 113), "configure"),  # parameters of measured values
}
SESSION_FUNCTIONS = frozenset({"startdt-act", "stopdt-act"})


def asdu(event: Iec104Asdu) -> tuple[Fact, ...]:
    if not event.is_command:
        return NONE
    return one(event, CATEGORIES.get(event.type_id, "other"))


def apci(event: Iec104Apci) -> tuple[Fact, ...]:
    return one(event, "session") if event.u_function in SESSION_FUNCTIONS else NONE


HANDLERS: dict[type, Handler] = {Iec104Asdu: asdu, Iec104Apci: apci}
