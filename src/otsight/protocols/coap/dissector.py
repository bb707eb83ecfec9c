"""The CoAP dissector (UDP 5683): one event per message, responses paired with requests.

A piggybacked response travels in the ACK with the request's message id; a separate response
comes later with a new message id and the request's token. Both are paired here: by message id
first, then by token. Empty ACK/RST messages are reported as responses of code ``empty``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector
from .codes import code_name, content_format_name, option_name, type_name
from .parser import CoapPdu, block_option, looks_like_coap, parse_coap, uint

MAX_PENDING = 1024
PENDING_TIMEOUT_NS = 250 * 1_000_000_000  # EXCHANGE_LIFETIME of RFC 7252


class CoapMessage(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "coap"
    version: int
    type: int
    type_name: str  # confirmable | non-confirmable | acknowledgement | reset
    code: int
    code_name: str  # GET, 2.05 Content, empty...
    message_id: int
    token: str  # hex
    uri_path: str | None = None  # "/" + Uri-Path segments joined
    uri_host: str | None = None
    uri_query: tuple[str, ...] | None = None
    content_format: str | None = None
    observe: int | None = None
    block2: tuple[int, bool, int] | None = None  # (number, more, size)
    block1: tuple[int, bool, int] | None = None
    options: tuple[str, ...] = ()  # option names in order
    payload_length: int = 0

    @property
    def action(self) -> str:
        return self.code_name


class CoapRequest(CoapMessage, frozen=True, kw_only=True):
    """A method call (GET, POST, PUT, DELETE, FETCH, PATCH)."""


class CoapResponse(CoapMessage, frozen=True, kw_only=True):
    """A response or an empty ACK/RST; ``matched`` when its request was seen."""

    matched: bool = False
    request_frame: int | None = None
    latency: float | None = None
    request_method: str | None = None
    request_uri_path: str | None = None


class CoapMalformed(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "coap"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _fields(pdu: CoapPdu) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": pdu.version,
        "type": pdu.type,
        "type_name": type_name(pdu.type),
        "code": pdu.code,
        "code_name": code_name(pdu.code),
        "message_id": pdu.message_id,
        "token": pdu.token.hex(),
        "options": tuple(option_name(n) for n, _ in pdu.options),
        "payload_length": pdu.payload_length,
    }
    path: list[str] = []
    query: list[str] = []
    for number, value in pdu.options:
        if number == 11:
            path.append(_text(value))
        elif number == 15:
            query.append(_text(value))
        elif number == 3:
            out["uri_host"] = _text(value)
        elif number == 12:
            out["content_format"] = content_format_name(uint(value))
        elif number == 6:
            out["observe"] = uint(value)
        elif number == 23:
            out["block2"] = block_option(value)
        elif number == 27:
            out["block1"] = block_option(value)
    if path:
        out["uri_path"] = "/" + "/".join(path)
    if query:
        out["uri_query"] = tuple(query)
    return out


class CoapDissector(Dissector):
    name: ClassVar[str] = "coap"
    transport: ClassVar[str] = "udp"
    ports: ClassVar[frozenset[int]] = frozenset({5683})
    max_score: ClassVar[float] = 0.7  # looks_like_coap

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        # (direction of the request, message id) and (direction, token) -> request facts
        self.by_mid: OrderedDict[tuple[int, int], tuple[int, int, str, str | None]] = OrderedDict()
        self.by_token: OrderedDict[tuple[int, str], tuple[int, int, str, str | None]] = (
            OrderedDict()
        )

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_coap(data)

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            pdu = parse_coap(data)
        except Malformed as exc:
            self.malformed += 1
            return (CoapMalformed(**base, reason=str(exc), length=len(data)),)
        fields = _fields(pdu)
        if 1 <= pdu.code <= 31:
            facts = (ts_ns, frame, fields["code_name"], fields.get("uri_path"))
            self.by_mid[(direction, pdu.message_id)] = facts
            if pdu.token:
                self.by_token[(direction, fields["token"])] = facts
            self._expire(ts_ns)
            return (CoapRequest(**base, **fields),)
        other = 1 - direction
        found = None
        if pdu.type in (2, 3):  # ACK/RST answer the message id
            found = self.by_mid.pop((other, pdu.message_id), None)
        if found is None and pdu.code and pdu.token:
            found = self.by_token.get((other, fields["token"]))
        if found is not None:
            fields.update(
                matched=True,
                request_frame=found[1],
                latency=(ts_ns - found[0]) / 1e9,
                request_method=found[2],
                request_uri_path=found[3],
            )
        return (CoapResponse(**base, **fields),)

    def _expire(self, now: int) -> None:
        for table in (self.by_mid, self.by_token):
            while table:
                facts = next(iter(table.values()))
                if len(table) > MAX_PENDING or now - facts[0] > PENDING_TIMEOUT_NS:
                    table.popitem(last=False)
                else:
                    break
