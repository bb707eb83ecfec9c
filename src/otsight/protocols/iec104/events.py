"""IEC 60870-5-104 events: control frames (S and U formats), ASDUs (I format) and input that
does not decode."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class Iec104Apci(Event, frozen=True, kw_only=True):
    """An APDU without a decodable ASDU: S format (acknowledge), U format (STARTDT/STOPDT/TESTFR
    act/con), or an I format whose ASDU is malformed (``asdu_error`` says why)."""

    protocol: ClassVar[str] = "iec104"
    format: str  # "I", "S" or "U"
    send_seq: int | None = None  # N(S), I format
    recv_seq: int | None = None  # N(R), I and S formats
    u_control: int | None = None  # first control octet, U format
    u_function: str | None = None  # startdt-act, startdt-con, stopdt-act, ... testfr-con
    length: int = 4  # the APDU length octet
    asdu_error: str | None = None

    @property
    def action(self) -> str:
        if self.u_function is not None:
            return self.u_function
        return "s-frame" if self.format == "S" else "i-frame-malformed"


class Iec104Asdu(Event, frozen=True, kw_only=True):
    """An I-format APDU and its ASDU. ``ioa`` is the first information object address, ``ioas``
    all of them (up to 127). ``is_command``: a control-direction type (process, system or
    parameter command) sent with a cause that asks (act, deact, req, ...) rather than confirms
    (actcon, deactcon, actterm, unknown-*). For commands ``select`` is the S/E bit (True =
    select, False = execute), ``command_value`` the commanded value (on/off, lower/higher, a
    set-point, the interrogation group, the clock time, ...) and ``command_qualifier`` QU/QL/QOI."""

    protocol: ClassVar[str] = "iec104"
    send_seq: int
    recv_seq: int
    type_id: int
    type_name: str
    category: str  # monitor, control, system, parameter, file
    sq: bool  # structure qualifier: objects are consecutive addresses
    num_objects: int
    cause: int
    cause_name: str
    test: bool
    negative: bool
    originator: int
    common_address: int
    ioa: int | None = None
    ioas: tuple[int, ...] = ()
    objects_complete: bool = True  # False if the information objects are cut short or unknown
    is_command: bool = False
    select: bool | None = None
    command_value: str | int | float | None = None
    command_qualifier: int | None = None
    length: int = 0  # the APDU length octet

    @property
    def action(self) -> str:
        return self.type_name


class Iec104Malformed(Event, frozen=True, kw_only=True):
    """Bytes on an IEC 104 flow that do not frame as APDUs (skipped to resynchronise)."""

    protocol: ClassVar[str] = "iec104"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
