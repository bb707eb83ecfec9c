"""Modbus events: one per request and one per response, paired by transaction and unit id."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class ModbusMessage(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "modbus"
    transaction_id: int
    unit_id: int
    function_code: int
    function: str
    address: int | None = None  # starting register/coil (0-based, as on the wire)
    quantity: int | None = None
    sub_function: int | None = None  # diagnostics (FC 8) sub-function, or MEI type (FC 43)
    sub_function_name: str | None = None
    write_address: int | None = None  # FC 23's write part
    write_quantity: int | None = None
    values: tuple[int, ...] | None = None  # register values or coil bits carried

    @property
    def action(self) -> str:
        return self.function


class ModbusRequest(ModbusMessage, frozen=True, kw_only=True):
    """A request from a client (master) to a server (slave)."""


class ModbusResponse(ModbusMessage, frozen=True, kw_only=True):
    """A response; ``matched`` if its request was seen (then ``request_frame``/``latency``)."""

    exception_code: int | None = None
    exception: str | None = None
    matched: bool = False
    request_frame: int | None = None
    latency: float | None = None
    device_identification: dict[str, str] | None = None  # FC 43/14 objects by name
    more_follows: bool | None = None


class ModbusMalformed(Event, frozen=True, kw_only=True):
    """Bytes on a Modbus flow that are not a valid ADU (counted, with a reason)."""

    protocol: ClassVar[str] = "modbus"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
