"""Which registers or points a request reads or writes: (unit, table, first address, count,
written values), per protocol.

Modbus (unit id; coils, discrete inputs, holding and input registers), S7comm read/write-var
items (memory area or data block, byte addresses), IEC 104 commands (common address; the
information object address) and BACnet property reads and writes (object type; instance).
Other protocols give none: their operations are still learned per edge. ``analog`` says the
written values are quantities whose range means something (a setpoint), unlike coil states
or command codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.events import BaseEvent
from ...protocols.bacnet.events import BacnetMessage
from ...protocols.iec104.events import Iec104Asdu
from ...protocols.modbus.events import ModbusRequest
from ...protocols.s7comm.events import S7Request


@dataclass(slots=True)
class PointAccess:
    """One register/point range a request touches (immutable by convention; see Request)."""

    unit: int
    table: str
    address: int
    count: int
    write: bool
    values: tuple[float, ...] = ()
    analog: bool = False

    @property
    def last(self) -> int:
        return self.address + max(self.count, 1) - 1


COILS, DISCRETE, HOLDING, INPUT = "coils", "discrete-inputs", "holding-registers", "input-registers"
MODBUS_READS = {1: COILS, 2: DISCRETE, 3: HOLDING, 4: INPUT}
MODBUS_WRITES = {5: COILS, 6: HOLDING, 15: COILS, 16: HOLDING}


def modbus_points(e: ModbusRequest) -> tuple[PointAccess, ...]:
    fc, unit = e.function_code, e.unit_id
    if e.address is None:
        return ()
    count = e.quantity or 1
    table = MODBUS_READS.get(fc)
    if table is not None:
        return (PointAccess(unit, table, e.address, count, False),)
    table = MODBUS_WRITES.get(fc)
    if table is not None:
        values = tuple(float(v) for v in e.values or ())
        return (PointAccess(unit, table, e.address, count, True, values, table == HOLDING),)
    if fc == 22:  # mask write: the masks are no value
        return (PointAccess(unit, HOLDING, e.address, 1, True),)
    if fc == 23:  # read/write multiple registers
        out = [PointAccess(unit, HOLDING, e.address, count, False)]
        if e.write_address is not None:
            values = tuple(float(v) for v in e.values or ())
            out.append(PointAccess(unit, HOLDING, e.write_address, e.write_quantity or 1, True,
                                   values, True))
        return tuple(out)
    return ()


S7_READ_VAR, S7_WRITE_VAR = 0x04, 0x05


def s7_points(e: S7Request) -> tuple[PointAccess, ...]:
    if e.function_code not in (S7_READ_VAR, S7_WRITE_VAR) or not e.items:
        return ()
    write = e.function_code == S7_WRITE_VAR
    out = []
    for item in e.items:
        area, address = item.get("area"), item.get("address")
        if not isinstance(area, str) or not isinstance(address, int):
            continue
        db = item.get("db_number")
        table = f"DB{db}" if area.upper().startswith("DB") and isinstance(db, int) else area
        length = item.get("length")
        out.append(PointAccess(0, table, address, length if isinstance(length, int) else 1, write))
    return tuple(out)


def iec104_points(e: Iec104Asdu) -> tuple[PointAccess, ...]:
    if not e.is_command or e.category not in ("control", "parameter"):
        return ()
    ioas = e.ioas or ((e.ioa,) if e.ioa is not None else ())
    value = e.command_value
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    values = (float(value),) if numeric else ()  # type: ignore[arg-type]
    analog = numeric and (e.category == "parameter" or "_SE_" in e.type_name)
    return tuple(
        PointAccess(e.common_address, e.type_name, ioa, 1, True, values, analog) for ioa in ioas
    )


BACNET_READS = frozenset({"read-property", "read-property-multiple"})
BACNET_WRITES = frozenset({"write-property", "write-property-multiple"})


def bacnet_points(e: BacnetMessage) -> tuple[PointAccess, ...]:
    if e.apdu_type != 0 or e.object_instance is None or e.object_type_name is None:
        return ()
    if e.service in BACNET_READS:
        return (PointAccess(0, e.object_type_name, e.object_instance, 1, False),)
    if e.service in BACNET_WRITES:
        value = e.value
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        values = (float(value),) if numeric else ()  # type: ignore[arg-type]
        analog = numeric and e.object_type_name.startswith("analog")
        return (PointAccess(0, e.object_type_name, e.object_instance, 1, True, values, analog),)
    return ()


def points_of(event: BaseEvent) -> tuple[PointAccess, ...]:
    """The registers/points ``event`` (a request) touches; empty when unknown."""
    if isinstance(event, ModbusRequest):
        return modbus_points(event)
    if isinstance(event, S7Request):
        return s7_points(event)
    if isinstance(event, Iec104Asdu):
        return iec104_points(event)
    if isinstance(event, BacnetMessage):
        return bacnet_points(event)
    return ()


def signature(points: tuple[PointAccess, ...]) -> str:
    """What a polling loop reads or writes, to tell apart loops of one operation."""
    if not points:
        return ""
    p = points[0]
    return f"{p.unit}:{p.table}:{p.address}+{p.count}"


def operation_label(event: BaseEvent, operation: str) -> str:
    """How to name the operation in a sentence: "modbus FC 16 (write-multiple-registers)"."""
    if isinstance(event, ModbusRequest):
        return f"FC {event.function_code} ({operation})"
    return operation
