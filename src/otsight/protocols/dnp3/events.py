"""DNP3 events: application requests and responses (paired by addresses and application
sequence), link frames that carry no application data, and malformed input."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class Dnp3Message(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "dnp3"
    source_address: int  # DNP3 link address of the sender
    destination_address: int
    function_code: int
    function: str
    sequence: int  # application sequence (0-15)
    fir: bool = True
    fin: bool = True
    con: bool = False
    uns: bool = False
    # (group, variation, qualifier, count) per object header, in order
    objects: tuple[tuple[int, int, int, int], ...] = ()
    object_names: tuple[str, ...] = ()  # distinct object names, in order of first use
    objects_complete: bool = True  # False if object data could not be walked to the end
    link_function: int = 4  # link function of the frame(s) that carried it
    segments: int = 1  # transport segments reassembled
    length: int = 0  # application fragment octets

    @property
    def action(self) -> str:
        return self.function


class Dnp3Request(Dnp3Message, frozen=True, kw_only=True):
    """A fragment from a master (function codes below 129)."""


class Dnp3Response(Dnp3Message, frozen=True, kw_only=True):
    """An outstation's response or unsolicited response; ``matched`` if its request was seen
    (then ``request_frame``, ``request_function`` and ``latency``)."""

    iin: int = 0  # IIN1 << 8 | IIN2
    iin_flags: tuple[str, ...] = ()
    unsolicited: bool = False
    matched: bool = False
    request_frame: int | None = None
    request_function: str | None = None
    latency: float | None = None


class Dnp3LinkFrame(Event, frozen=True, kw_only=True):
    """A link frame without application data (link reset/status/test, ACK/NACK, or a
    transport segment that does not complete a fragment is NOT reported here)."""

    protocol: ClassVar[str] = "dnp3"
    source_address: int
    destination_address: int
    from_master: bool  # DIR bit
    primary: bool  # PRM bit
    fcb: bool
    fcv: bool  # FCV when primary, DFC when secondary
    link_function_code: int
    link_function: str

    @property
    def action(self) -> str:
        return f"link-{self.link_function}"


class Dnp3Malformed(Event, frozen=True, kw_only=True):
    """Bytes on a DNP3 flow that do not decode (bad CRCs, garbage, broken fragments)."""

    protocol: ClassVar[str] = "dnp3"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
