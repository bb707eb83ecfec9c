"""A PLC: a pymodbus Modbus/TCP server over a :class:`~otsight.lab.process.TankProcess`.

The register image is regenerated from the process on every access (pymodbus's SimDevice
action hook), so values change over time; FC 6/16 writes to holding registers go into the
process (a changed setpoint changes the pump's behaviour).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

from ..process import COIL_COUNT, DISCRETE_COUNT, HOLDING_COUNT, INPUT_COUNT, TankProcess

log = logging.getLogger(__name__)


class PlcLogic:
    """Keeps the process in step with wall time and mirrors it into the register blocks."""

    def __init__(self, seed: int) -> None:
        self.process = TankProcess(seed)
        self._last = time.monotonic()

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        now = time.monotonic()
        self.process.advance(now - self._last)
        self._last = now
        if function_code in (6, 16, 23) and set_values is not None:
            self.process.write_holding(address, [int(v) for v in set_values])
        image: list[int]
        if function_code in (3, 6, 16, 22, 23):
            image = list(self.process.holding)
        elif function_code == 4:
            image = self.process.input_registers()
        elif function_code in (1, 5, 15):
            image = _pack(self.process.coils())
        elif function_code == 2:
            image = _pack(self.process.discrete_inputs())
        else:
            return None
        for i, value in enumerate(image):
            if 0 <= i - start_address < len(registers):
                registers[i - start_address] = value
        return None


class ListenOnly:
    """Honours Modbus diagnostics FC 8 sub-function 4 (Force Listen Only Mode) like a device.

    pymodbus answers FC 8/4 and keeps answering afterwards; a real device goes silent until
    FC 8/1 (Restart Communications Option). Outgoing frames are dropped while silent.
    """

    def __init__(self) -> None:
        self.silent = False
        self._clear_after_send = False

    def on_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending and pdu.function_code == 8:
            sub = getattr(pdu, "sub_function_code", None)
            if sub == 4:
                self.silent = True
            elif sub == 1 and self.silent:
                self._clear_after_send = True
        return pdu

    def on_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending or not self.silent:
            return data
        if self._clear_after_send:
            self.silent = self._clear_after_send = False
        return b""


def _pack(bits: list[bool]) -> list[int]:
    """Bits as pymodbus's bit blocks store them: 16 to a register."""
    padded = bits + [False] * (-len(bits) % 16)
    return list(SimUtils.bitsToRegisters(padded))


def _identity(spec: dict[str, Any]) -> ModbusDeviceIdentification:
    ident = spec["identity"]
    return ModbusDeviceIdentification(  # type: ignore[no-untyped-call]
        info_name={
            "VendorName": ident["vendor"],
            "ProductCode": ident["product_code"],
            "MajorMinorRevision": ident["revision"],
            "VendorUrl": ident.get("vendor_url", ""),
            "ProductName": ident.get("product_name", ""),
            "ModelName": ident.get("model_name", ""),
            "UserApplicationName": ident.get("user_application_name", ""),
        }
    )


async def serve(spec: dict[str, Any]) -> None:
    logic = PlcLogic(int(spec.get("seed", 0)))
    blocks = (
        [SimData(0, values=[False] * COIL_COUNT, datatype=DataType.BITS)],
        [SimData(0, values=[False] * DISCRETE_COUNT, datatype=DataType.BITS)],
        [SimData(0, count=HOLDING_COUNT, values=0, datatype=DataType.REGISTERS)],
        [SimData(0, count=INPUT_COUNT, values=0, datatype=DataType.REGISTERS)],
    )
    device = SimDevice(int(spec.get("unit_id", 1)), simdata=blocks, action=logic.action)
    listen_only = ListenOnly()
    server = ModbusTcpServer(
        device,
        identity=_identity(spec),
        address=(spec["ip"], int(spec.get("port", 502))),
        trace_pdu=listen_only.on_pdu,
        trace_packet=listen_only.on_packet,
    )
    await server.serve_forever(background=True)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await asyncio.Event().wait()
