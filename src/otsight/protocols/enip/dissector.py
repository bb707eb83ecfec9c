"""The EtherNet/IP dissectors (TCP and UDP 44818): encapsulation, CPF items, CIP messages.

Replies are paired with requests by sender context (unconnected messages, send-rr-data) or by
connection id and sequence count (connected messages, send-unit-data; the reply's T->O
connection id is mapped back to the request's O->T id through the Forward Open seen earlier,
and by sequence count alone when the Forward Open was not captured).
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...core.errors import Malformed, NeedMoreData
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector, StreamBuffer
from .codes import (
    MULTIPLE_SERVICE_PACKET,
    UNCONNECTED_SEND,
    class_name,
    command_name,
    device_type_name,
    encap_status_name,
    service_name,
    status_name,
    vendor_name,
)
from .events import CipRequest, CipResponse, EnipListIdentity, EnipMalformed, EnipMessage
from .parser import (
    HEADER_LEN,
    CipMessage,
    CipPath,
    EncapHeader,
    encap_length,
    looks_like_enip,
    parse_cip,
    parse_cpf,
    parse_header,
    parse_identity,
)

MAX_PENDING = 1024  # unanswered requests kept per flow
PENDING_TIMEOUT_NS = 60 * 1_000_000_000
CPF_COMMANDS = frozenset({0x0004, 0x0063, 0x0064})
DATA_COMMANDS = frozenset({0x006F, 0x0070})

PendingKey = tuple[Any, ...]


class _Pending:
    __slots__ = ("frame", "msg", "ts_ns")

    def __init__(self, msg: CipMessage, ts_ns: int, frame: int) -> None:
        self.msg = msg
        self.ts_ns = ts_ns
        self.frame = frame


class EnipDissector(Dissector):
    """EtherNet/IP over TCP (explicit messaging, sessions)."""

    name: ClassVar[str] = "enip"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({44818})
    datagram: ClassVar[bool] = False

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (StreamBuffer(), StreamBuffer())
        self.pending: OrderedDict[PendingKey, _Pending] = OrderedDict()
        self.by_sequence: dict[int, PendingKey] = {}
        self.connections: dict[int, int] = {}  # T->O connection id -> O->T connection id
        self.connection_paths: dict[int, str] = {}  # connection id -> Forward Open path

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_enip(data, datagram=cls.datagram)

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.buffers[direction].reset()

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        if self.datagram:
            yield from self._datagram(direction, data, ts_ns, frame)
            return
        buf = self.buffers[direction]
        buf.feed(data)
        skipped = buf.skipped
        for msg in buf.messages(encap_length):
            yield from self._message(direction, msg, ts_ns, frame)
        if buf.skipped != skipped:
            self.malformed += 1
            yield EnipMalformed(
                ts=ts_ns / 1e9,
                frame=frame,
                reason="bytes that do not frame as EtherNet/IP encapsulation skipped",
                length=buf.skipped - skipped,
                **self.endpoints(direction),
            )

    def _datagram(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterator[Event]:
        try:
            n = encap_length(data)
            if n > len(data):
                raise Malformed(f"encapsulation length {n} exceeds datagram of {len(data)}")
        except (Malformed, NeedMoreData) as exc:
            self.malformed += 1
            yield EnipMalformed(
                ts=ts_ns / 1e9,
                frame=frame,
                reason=str(exc) or "datagram too short",
                length=len(data),
                **self.endpoints(direction),
            )
            return
        yield from self._message(direction, data[:n], ts_ns, frame)

    # ------------------------------------------------------------------ one message
    def _message(self, direction: int, msg: bytes, ts_ns: int, frame: int) -> Iterator[Event]:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            header = parse_header(msg)
        except NeedMoreData:
            self.malformed += 1
            yield EnipMalformed(**base, reason="short encapsulation header", length=len(msg))
            return
        body = msg[HEADER_LEN : HEADER_LEN + header.length]
        items = None
        error: str | None = None
        if header.length and (header.command in CPF_COMMANDS or header.command in DATA_COMMANDS):
            try:
                items = parse_cpf(body[6:] if header.command in DATA_COMMANDS else body)
            except Malformed as exc:
                error = str(exc)
        connection_id = sequence = None
        cip_bytes: bytes | None = None
        for item in items or ():
            if item.type_id == 0x00A1 and len(item.data) >= 4:
                (connection_id,) = struct.unpack_from("<I", item.data, 0)
            elif item.type_id == 0x00B1 and len(item.data) >= 2:
                (sequence,) = struct.unpack_from("<H", item.data, 0)
                cip_bytes = item.data[2:]
            elif item.type_id == 0x00B2:
                cip_bytes = item.data
        yield EnipMessage(
            **base,
            command=header.command,
            command_name=command_name(header.command),
            length=header.length,
            session_handle=header.session,
            status=header.status,
            status_name=encap_status_name(header.status),
            sender_context=header.context.hex(),
            options=header.options,
            items=tuple(i.type_id for i in items) if items is not None else None,
            connection_id=connection_id,
            sequence=sequence,
        )
        if error is not None:
            self.malformed += 1
            yield EnipMalformed(**base, reason=error, length=len(msg))
            return
        if header.command == 0x0063 and items:
            for item in items:
                if item.type_id != 0x000C:
                    continue
                try:
                    yield _identity_event(base, item.data)
                except Malformed as exc:
                    self.malformed += 1
                    yield EnipMalformed(**base, reason=str(exc), length=len(item.data))
        if cip_bytes and header.command in DATA_COMMANDS:
            try:
                cip = parse_cip(cip_bytes)
            except Malformed as exc:
                self.malformed += 1
                yield EnipMalformed(**base, reason=f"CIP: {exc}", length=len(cip_bytes))
                return
            yield from self._cip(header, cip, connection_id, sequence, base, ts_ns, frame)

    # ------------------------------------------------------------------ CIP
    def _cip(
        self,
        header: EncapHeader,
        cip: CipMessage,
        connection_id: int | None,
        sequence: int | None,
        base: dict[str, Any],
        ts_ns: int,
        frame: int,
    ) -> Iterator[Event]:
        context = header.context.hex() if header.command == 0x006F else None
        extra: dict[str, Any] = {
            **base,
            "session_handle": header.session,
            "sender_context": context,
            "connection_id": connection_id,
            "sequence": sequence,
        }
        if connection_id is not None and connection_id in self.connection_paths:
            extra["connection_path"] = self.connection_paths[connection_id]
        if header.command == 0x006F:
            key: PendingKey = ("u", header.context)
        else:
            key = ("c", connection_id, sequence)
        if not cip.response:
            self._remember(key, sequence if header.command == 0x0070 else None, cip, ts_ns, frame)
            yield from _request_events(cip, extra, None)
            return
        found = self._take(key, connection_id, sequence if header.command == 0x0070 else None)
        request: CipMessage | None = None
        match: dict[str, Any] = {}
        if found is not None:
            request = _counterpart(found.msg, cip)
            if request is not None:
                match = {
                    "matched": True,
                    "request_frame": found.frame,
                    "latency": (ts_ns - found.ts_ns) / 1e9,
                }
        fo = cip.forward_open
        if fo is not None:
            self._open(fo.ot_connection_id, fo.to_connection_id, request)
        parent = (
            service_name(UNCONNECTED_SEND, 0x06)
            if found is not None and request is not None and request is not found.msg
            else None
        )
        yield from _response_events(cip, request, extra, match, parent)

    def _open(self, ot_id: int, to_id: int, request: CipMessage | None) -> None:
        """A Forward Open succeeded: remember the id pair and the connection's target path."""
        if len(self.connections) >= MAX_PENDING:
            self.connections.clear()
            self.connection_paths.clear()
        self.connections[to_id] = ot_id
        fo = request.forward_open if request is not None else None
        if fo is not None and fo.connection_path is not None:
            text = fo.connection_path.text()
            if text:
                self.connection_paths[ot_id] = text
                self.connection_paths[to_id] = text

    def _remember(
        self, key: PendingKey, sequence: int | None, msg: CipMessage, ts_ns: int, frame: int
    ) -> None:
        self.pending[key] = _Pending(msg, ts_ns, frame)
        self.pending.move_to_end(key)
        if sequence is not None:
            self.by_sequence[sequence] = key
        while self.pending:
            old_key, old = next(iter(self.pending.items()))
            if len(self.pending) > MAX_PENDING or ts_ns - old.ts_ns > PENDING_TIMEOUT_NS:
                self.pending.popitem(last=False)
                if old_key[0] == "c" and self.by_sequence.get(old_key[2]) == old_key:
                    del self.by_sequence[old_key[2]]
            else:
                break

    def _take(
        self, key: PendingKey, connection_id: int | None, sequence: int | None
    ) -> _Pending | None:
        if key[0] == "c":
            ot = self.connections.get(connection_id) if connection_id is not None else None
            if ot is not None:
                key = ("c", ot, sequence)
            elif sequence is not None and sequence in self.by_sequence:
                key = self.by_sequence[sequence]
            if sequence is not None and self.by_sequence.get(sequence) == key:
                del self.by_sequence[sequence]
        return self.pending.pop(key, None)


class EnipUdpDissector(EnipDissector):
    """EtherNet/IP over UDP 44818 (ListIdentity discovery, broadcast or unicast)."""

    name: ClassVar[str] = "enip"
    transport: ClassVar[str] = "udp"
    ports: ClassVar[frozenset[int]] = frozenset({44818})
    datagram: ClassVar[bool] = True


# --------------------------------------------------------------------------- event building


def _identity_event(base: dict[str, Any], data: bytes) -> EnipListIdentity:
    ident = parse_identity(data)
    return EnipListIdentity(
        **base,
        encapsulation_version=ident.encapsulation_version,
        socket_address=ident.socket_address,
        socket_port=ident.socket_port,
        vendor_id=ident.vendor_id,
        vendor=vendor_name(ident.vendor_id),
        device_type=ident.device_type,
        device_type_name=device_type_name(ident.device_type),
        product_code=ident.product_code,
        revision=f"{ident.revision_major}.{ident.revision_minor}",
        revision_major=ident.revision_major,
        revision_minor=ident.revision_minor,
        status=ident.status,
        serial_number=f"{ident.serial_number:08x}",
        product_name=ident.product_name,
        state=ident.state,
    )


def _counterpart(request: CipMessage, response: CipMessage) -> CipMessage | None:
    """The request ``response`` answers: itself, or the request embedded in an
    unconnected-send (whose successful reply is the embedded request's reply)."""
    if request.service == response.service:
        return request
    if request.service == UNCONNECTED_SEND and request.embedded:
        inner = request.embedded[0]
        if inner.service == response.service:
            return inner
        return _counterpart(inner, response)
    return None


def _path_fields(path: CipPath | None, service: int) -> dict[str, Any]:
    if path is None:
        return {"service": service_name(service)}
    return {
        "service": service_name(service, path.class_id, bool(path.symbols)),
        "class_id": path.class_id,
        "class_name": class_name(path.class_id),
        "instance": path.instance,
        "attribute": path.attribute,
        "symbol": path.symbol,
        "path": path.text() or None,
    }


def _forward_open_fields(msg: CipMessage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fo = msg.forward_open
    if fo is not None:
        out.update(
            ot_connection_id=fo.ot_connection_id,
            to_connection_id=fo.to_connection_id,
            connection_serial=fo.connection_serial,
            originator_vendor_id=fo.originator_vendor_id,
            originator_serial=fo.originator_serial,
        )
        if fo.ot_rpi is not None:
            out.update(ot_rpi=fo.ot_rpi, to_rpi=fo.to_rpi)
        if fo.ot_api is not None:
            out.update(ot_api=fo.ot_api, to_api=fo.to_api)
    elif msg.connection_serial is not None:
        out["connection_serial"] = msg.connection_serial
    if msg.route is not None:
        out["route"] = msg.route.text() or None
    return out


def _request_events(
    msg: CipMessage, extra: dict[str, Any], parent: str | None
) -> Iterator[CipRequest]:
    fields = _path_fields(msg.path, msg.service)
    yield CipRequest(
        **extra,
        **fields,
        service_code=msg.service,
        attributes=msg.attribute_list or None,
        parent_service=parent,
        **_forward_open_fields(msg),
    )
    for inner in msg.embedded:
        yield from _request_events(inner, extra, fields["service"])


def _response_events(
    msg: CipMessage,
    request: CipMessage | None,
    extra: dict[str, Any],
    match: dict[str, Any],
    parent: str | None,
) -> Iterator[CipResponse]:
    path = request.path if request is not None else None
    fields = _path_fields(path, msg.service)
    assert msg.general_status is not None
    yield CipResponse(
        **extra,
        **fields,
        **match,
        service_code=msg.service,
        general_status=msg.general_status,
        status=status_name(msg.general_status),
        extended_status=msg.extended_status or None,
        attributes=(request.attribute_list or None) if request is not None else None,
        parent_service=parent,
        **_forward_open_fields(msg),
    )
    if msg.service == MULTIPLE_SERVICE_PACKET:
        inner_requests = request.embedded if request is not None else []
        for i, inner in enumerate(msg.embedded):
            inner_req = inner_requests[i] if i < len(inner_requests) else None
            if inner_req is not None and inner_req.service != inner.service:
                inner_req = None
            yield from _response_events(inner, inner_req, extra, match, fields["service"])
