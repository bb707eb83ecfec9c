"""The IEC 60870-5-104 dissector: frames each direction into APDUs, decodes their ASDUs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector, StreamBuffer
from .codes import CONFIRMATION_CAUSES, category, cause_name, type_name, u_function_name
from .events import Iec104Apci, Iec104Asdu, Iec104Malformed
from .parser import apdu_length, looks_like_iec104, parse_apci, parse_asdu


class Iec104Dissector(Dissector):
    """IEC 60870-5-104 over TCP (port 2404)."""

    name: ClassVar[str] = "iec104"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({2404})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (StreamBuffer(), StreamBuffer())
        self.apdus = 0

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_iec104(data)

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.buffers[direction].reset()

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        buf = self.buffers[direction]
        buf.feed(data)
        return self._drain(buf, direction, ts_ns, frame)

    def _drain(self, buf: StreamBuffer, direction: int, ts_ns: int, frame: int) -> Iterator[Event]:
        skipped = buf.skipped
        for apdu in buf.messages(apdu_length):
            yield self._apdu(direction, apdu, ts_ns, frame)
        if buf.skipped != skipped:
            self.malformed += 1
            yield Iec104Malformed(
                ts=ts_ns / 1e9,
                frame=frame,
                reason="bytes that do not frame as APDUs skipped",
                length=buf.skipped - skipped,
                **self.endpoints(direction),
            )

    def _apdu(self, direction: int, apdu: bytes, ts_ns: int, frame: int) -> Event:
        self.apdus += 1
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        apci = parse_apci(apdu)
        if apci.format == "U":
            assert apci.u_control is not None
            return Iec104Apci(
                **base,
                format="U",
                u_control=apci.u_control,
                u_function=u_function_name(apci.u_control),
                length=apci.length,
            )
        if apci.format == "S":
            return Iec104Apci(**base, format="S", recv_seq=apci.recv_seq, length=apci.length)
        assert apci.send_seq is not None
        assert apci.recv_seq is not None
        try:
            asdu = parse_asdu(apdu[6:])
        except Malformed as exc:
            self.malformed += 1
            return Iec104Apci(
                **base,
                format="I",
                send_seq=apci.send_seq,
                recv_seq=apci.recv_seq,
                length=apci.length,
                asdu_error=str(exc),
            )
        cat = category(asdu.type_id)
        return Iec104Asdu(
            **base,
            send_seq=apci.send_seq,
            recv_seq=apci.recv_seq,
            type_id=asdu.type_id,
            type_name=type_name(asdu.type_id),
            category=cat,
            sq=asdu.sq,
            num_objects=asdu.num_objects,
            cause=asdu.cause,
            cause_name=cause_name(asdu.cause),
            test=asdu.test,
            negative=asdu.negative,
            originator=asdu.originator,
            common_address=asdu.common_address,
            ioa=asdu.ioas[0] if asdu.ioas else None,
            ioas=asdu.ioas,
            objects_complete=asdu.objects_complete,
            is_command=cat in ("control", "system", "parameter")
            and asdu.cause not in CONFIRMATION_CAUSES,
            select=asdu.select,
            command_value=asdu.command_value,
            command_qualifier=asdu.command_qualifier,
            length=apci.length,
        )
