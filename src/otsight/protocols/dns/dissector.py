"""DNS-family dissectors: DNS (UDP and TCP 53), mDNS (5353), LLMNR (5355), NBNS (137)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ...core.errors import Malformed, NeedMoreData
from ...core.events import Event
from ...core.plugins import FROM_ORIGINATOR, FROM_RESPONDER, FlowContext
from ..base import Dissector, StreamBuffer
from .codes import opcode_name, rcode_name
from .events import DnsMalformed, DnsMessage, LlmnrMessage, MdnsMessage, NbnsMessage
from .parser import parse, plausibility


def txt_pairs(records: Iterable[dict[str, Any]]) -> dict[str, str] | None:
    """DNS-SD key=value strings of every TXT record (first value of a key wins)."""
    pairs: dict[str, str] = {}
    for r in records:
        for s in r.get("txt", ()):
            key, sep, value = s.partition("=")
            if key and key not in pairs:
                pairs[key] = value if sep else ""
    return pairs or None


# flow_id, src_ip, src_port, dst_ip, dst_port, transport
_Side = tuple[int, str, int, str, int, str]


def _side(endpoints: Mapping[str, Any]) -> _Side:
    """The endpoint fields of one direction (``Dissector.endpoints``) as a tuple."""
    return (
        endpoints["flow_id"],
        endpoints["src_ip"],
        endpoints["src_port"],
        endpoints["dst_ip"],
        endpoints["dst_port"],
        endpoints["transport"],
    )


class DnsDissector(Dissector):
    """Plain DNS over UDP; the base of the family (each datagram is one message)."""

    name: ClassVar[str] = "dns"
    transport: ClassVar[str] = "udp"
    ports: ClassVar[frozenset[int]] = frozenset({53})
    # plausibility() tops out at 0.62; the family's other members cap theirs at 0.55
    max_score: ClassVar[float] = 0.62
    event_class: ClassVar[type[DnsMessage]] = DnsMessage
    nbns: ClassVar[bool] = False
    mdns: ClassVar[bool] = False

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        score = plausibility(data, nbns=cls.nbns, any_opcode=cls is not DnsDissector)
        # the generic class wins ties off the family's ports only when fully sure
        return score if cls is DnsDissector else min(score, 0.55)

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        # The endpoint fields of each direction, looked up once: every datagram needs them.
        self.sides = (_side(self.endpoints(FROM_ORIGINATOR)), _side(self.endpoints(FROM_RESPONDER)))

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        return (self.message(direction, data, ts_ns, frame),)

    def message(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Event:
        nbns = self.nbns
        try:
            msg = parse(data, nbns=nbns, mdns=self.mdns)
        except (Malformed, NeedMoreData) as exc:  # (rare: built the plain way)
            self.malformed += 1
            return DnsMalformed(
                ts=ts_ns / 1e9,
                frame=frame,
                **self.endpoints(direction),
                family=self.name,
                reason=str(exc) or "short",
                length=len(data),
            )
        # Every field is passed by name, none with ``**``, which would build a dict of them all
        # first: this runs once per datagram, and building the event is much of its cost.
        flow_id, src_ip, src_port, dst_ip, dst_port, transport = self.sides[direction]
        if msg.error is not None:
            self.malformed += 1
        flags = msg.flags
        opcode = msg.opcode
        rcode = msg.rcode
        answers, authority, additional = msg.answers, msg.authority, msg.additional
        return self.event_class(
            ts=ts_ns / 1e9,
            frame=frame,
            flow_id=flow_id,
            src_ip=src_ip,
            src_port=src_port,
            dst_ip=dst_ip,
            dst_port=dst_port,
            transport=transport,
            transaction_id=msg.transaction_id,
            is_response=msg.is_response,
            opcode=opcode,
            opcode_name=opcode_name(opcode, nbns),
            rcode=rcode,
            rcode_name=rcode_name(rcode),
            flags=flags,
            authoritative=bool(flags & 0x0400),
            truncated=bool(flags & 0x0200),
            questions=tuple(msg.questions),
            answers=tuple(answers),
            authority=tuple(authority),
            additional=tuple(additional),
            # a query has no records, so no TXT strings: skip the walk
            txt=txt_pairs(answers + authority + additional)
            if answers or authority or additional
            else None,
            error=msg.error,
        )


class MdnsDissector(DnsDissector):
    name: ClassVar[str] = "mdns"
    ports: ClassVar[frozenset[int]] = frozenset({5353})
    max_score: ClassVar[float] = 0.55
    event_class: ClassVar[type[DnsMessage]] = MdnsMessage
    mdns: ClassVar[bool] = True


class LlmnrDissector(DnsDissector):
    name: ClassVar[str] = "llmnr"
    ports: ClassVar[frozenset[int]] = frozenset({5355})
    max_score: ClassVar[float] = 0.55
    event_class: ClassVar[type[DnsMessage]] = LlmnrMessage


class NbnsDissector(DnsDissector):
    name: ClassVar[str] = "nbns"
    ports: ClassVar[frozenset[int]] = frozenset({137})
    max_score: ClassVar[float] = 0.55
    event_class: ClassVar[type[DnsMessage]] = NbnsMessage
    nbns: ClassVar[bool] = True


def _tcp_length(buf: bytearray) -> int:
    if len(buf) < 2:
        raise NeedMoreData("length prefix")
    n = buf[0] << 8 | buf[1]
    if n < 12:
        raise Malformed("DNS message shorter than its header")
    return 2 + n


class DnsTcpDissector(DnsDissector):
    """DNS over TCP: each message is prefixed by its 2-byte length (RFC 1035 4.2.2)."""

    transport: ClassVar[str] = "tcp"

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (StreamBuffer(), StreamBuffer())

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        if len(data) < 14:
            return 0.0
        n = data[0] << 8 | data[1]
        if n < 12 or n > len(data) - 2:
            return 0.0
        score = plausibility(data[2 : 2 + n], any_opcode=cls is not DnsTcpDissector)
        return score if cls is DnsTcpDissector else min(score, 0.55)

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.buffers[direction].reset()

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        buf = self.buffers[direction]
        buf.feed(data)
        skipped = buf.skipped
        for raw in buf.messages(_tcp_length):
            yield self.message(direction, raw[2:], ts_ns, frame)
        if buf.skipped != skipped:
            self.malformed += 1


class LlmnrTcpDissector(DnsTcpDissector):
    """LLMNR over TCP (RFC 4795 2.4: used when a UDP response is truncated)."""

    name: ClassVar[str] = "llmnr"
    ports: ClassVar[frozenset[int]] = frozenset({5355})
    max_score: ClassVar[float] = 0.55
    event_class: ClassVar[type[DnsMessage]] = LlmnrMessage
