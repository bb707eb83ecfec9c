"""The Modbus/TCP dissector: frames each direction, pairs responses with requests."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import FramedDissector
from .codes import MEI_TYPES, UMAS_FUNCTIONS, diagnostic_name, exception_name, function_name
from .events import ModbusMalformed, ModbusRequest, ModbusResponse
from .parser import Pdu, adu_length, looks_like_modbus, parse_request, parse_response

if TYPE_CHECKING:
    from ...core.events import EventBatch
    from .fastpath import ModbusBatchPath

MAX_PENDING = 1024  # unanswered requests kept per flow
PENDING_TIMEOUT_NS = 60 * 1_000_000_000


class ModbusDissector(FramedDissector):
    name: ClassVar[str] = "modbus"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({502})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.client_direction = self.client_side()  # requests come from the client
        self.pending: OrderedDict[tuple[int, int], tuple[Pdu, int, int]] = OrderedDict()

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_modbus(data)

    @classmethod
    def batch_path(cls, sink: Callable[[EventBatch], None]) -> ModbusBatchPath:
        """Polling traffic goes through the compiled kernel (see :mod:`.fastpath`)."""
        from .fastpath import ModbusBatchPath

        return ModbusBatchPath(sink)

    def message_length(self, buf: bytes | bytearray) -> int:
        return adu_length(buf)

    def skipped(self, direction: int, nbytes: int, ts_ns: int, frame: int) -> Event:
        return ModbusMalformed(
            ts=ts_ns / 1e9,
            frame=frame,
            reason="bytes that do not frame as MBAP skipped",
            length=nbytes,
            **self.endpoints(direction),
        )

    def message(self, direction: int, adu: bytes, ts_ns: int, frame: int) -> Event:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            if direction == self.client_direction:
                req = parse_request(adu)
                self._remember(req, ts_ns, frame)
                return ModbusRequest(**base, **_common(req))
            key = (adu[0] << 8 | adu[1], adu[6])
            fc = adu[7] & 0x7F if len(adu) > 7 else 0
            found = self.pending.get(key)
            request = None
            if found is not None and found[0].function_code == fc:
                request = found[0]
                del self.pending[key]
            resp = parse_response(adu, request)
        except Malformed as exc:
            self.malformed += 1
            return ModbusMalformed(**base, reason=str(exc), length=len(adu))
        extra: dict[str, Any] = {}
        if resp.exception_code is not None:
            extra["exception_code"] = resp.exception_code
            extra["exception"] = exception_name(resp.exception_code)
        if found is not None and request is not None:
            extra["matched"] = True
            extra["request_frame"] = found[2]
            extra["latency"] = (ts_ns - found[1]) / 1e9
        if resp.objects:
            extra["device_identification"] = dict(resp.objects)
            extra["more_follows"] = resp.more_follows
        return ModbusResponse(**base, **_common(resp), **extra)

    def _remember(self, req: Pdu, ts_ns: int, frame: int) -> None:
        self.pending[(req.transaction_id, req.unit_id)] = (req, ts_ns, frame)
        while self.pending:
            _key, (_old, old_ts, _f) = next(iter(self.pending.items()))
            if len(self.pending) > MAX_PENDING or ts_ns - old_ts > PENDING_TIMEOUT_NS:
                self.pending.popitem(last=False)
            else:
                break


def _common(p: Pdu) -> dict[str, Any]:
    fc = p.function_code & 0x7F
    sub_name = None
    if p.sub_function is not None:
        if fc == 8:
            sub_name = diagnostic_name(p.sub_function)
        elif fc == 90:
            sub_name = UMAS_FUNCTIONS.get(p.sub_function, f"unknown-{p.sub_function}")
        else:
            sub_name = MEI_TYPES.get(p.sub_function, f"unknown-{p.sub_function}")
    return {
        "transaction_id": p.transaction_id,
        "unit_id": p.unit_id,
        "function_code": fc,
        "function": function_name(fc),
        "address": p.address,
        "quantity": p.quantity,
        "sub_function": p.sub_function,
        "sub_function_name": sub_name,
        "write_address": p.write_address,
        "write_quantity": p.write_quantity,
        "values": p.values,
    }
