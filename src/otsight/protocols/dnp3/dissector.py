"""The DNP3 dissector: frames link frames, checks CRCs, reassembles transport segments into
application fragments per direction and address pair, pairs responses with requests."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector, StreamBuffer
from .codes import (
    NO_RESPONSE_FUNCTIONS,
    RESPONSE_FUNCTIONS,
    function_name,
    iin_flags,
    link_function_name,
    object_name,
)
from .events import Dnp3LinkFrame, Dnp3Malformed, Dnp3Request, Dnp3Response
from .parser import (
    LinkFrame,
    frame_length,
    looks_like_dnp3,
    parse_fragment,
    parse_link_frame,
    parse_transport,
)

MAX_PENDING = 256  # unanswered requests kept per flow
PENDING_TIMEOUT_NS = 60 * 1_000_000_000
MAX_FRAGMENT = 65536  # reassembly bound (the standard's fragments are at most 2048 octets)
MAX_REASSEMBLIES = 64  # address pairs reassembled at once per flow


class _Reassembly:
    __slots__ = ("data", "link_function", "next_seq", "segments")

    def __init__(self, payload: bytes, seq: int, link_function: int) -> None:
        self.data = bytearray(payload)
        self.next_seq = (seq + 1) & 0x3F
        self.segments = 1
        self.link_function = link_function


class Dnp3Dissector(Dissector):
    """DNP3 over TCP (port 20000)."""

    name: ClassVar[str] = "dnp3"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({20000})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (StreamBuffer(), StreamBuffer())
        # (direction, source, destination) -> fragment being reassembled
        self.reassembly: dict[tuple[int, int, int], _Reassembly] = {}
        # (master, outstation, sequence) -> (function code, ts_ns, frame)
        self.pending: OrderedDict[tuple[int, int, int], tuple[int, int, int]] = OrderedDict()
        self.link_frames = 0
        self.bad_crc = 0  # data blocks with a CRC error
        self.transport_drops = 0  # segments out of sequence or without a first segment
        self.fragments = 0

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_dnp3(data)

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.buffers[direction].reset()
        for key in [k for k in self.reassembly if k[0] == direction]:
            del self.reassembly[key]

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        buf = self.buffers[direction]
        buf.feed(data)
        yield from self._drain(buf, direction, ts_ns, frame)

    def _drain(self, buf: StreamBuffer, direction: int, ts_ns: int, frame: int) -> Iterator[Event]:
        skipped = buf.skipped
        for raw in buf.messages(frame_length):
            yield from self._link(direction, raw, ts_ns, frame)
        if buf.skipped != skipped:
            self.malformed += 1
            yield Dnp3Malformed(
                ts=ts_ns / 1e9,
                frame=frame,
                reason="bytes that do not frame as DNP3 link frames skipped",
                length=buf.skipped - skipped,
                **self.endpoints(direction),
            )

    def _base(self, direction: int, ts_ns: int, frame: int) -> dict[str, Any]:
        return {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}

    def _link(self, direction: int, raw: bytes, ts_ns: int, frame: int) -> Iterator[Event]:
        self.link_frames += 1
        link = parse_link_frame(raw)
        if link.bad_crc_blocks:
            self.bad_crc += link.bad_crc_blocks
            self.malformed += 1
            yield Dnp3Malformed(
                **self._base(direction, ts_ns, frame),
                reason=f"{link.bad_crc_blocks} link data block(s) with a CRC error",
                length=len(raw),
            )
            return
        if not link.carries_user_data:
            yield Dnp3LinkFrame(
                **self._base(direction, ts_ns, frame),
                source_address=link.source,
                destination_address=link.destination,
                from_master=link.direction,
                primary=link.primary,
                fcb=link.fcb,
                fcv=link.fcv,
                link_function_code=link.function,
                link_function=link_function_name(link.primary, link.function),
            )
            return
        yield from self._transport(direction, link, ts_ns, frame)

    def _transport(
        self, direction: int, link: LinkFrame, ts_ns: int, frame: int
    ) -> Iterator[Event]:
        seg = parse_transport(link.user_data)
        key = (direction, link.source, link.destination)
        if seg.fir:
            if key in self.reassembly:
                self.transport_drops += 1  # a fragment never finished
            if len(self.reassembly) >= MAX_REASSEMBLIES and key not in self.reassembly:
                self.reassembly.pop(next(iter(self.reassembly)))
            current = _Reassembly(seg.payload, seg.sequence, link.function)
            self.reassembly[key] = current
        else:
            found = self.reassembly.get(key)
            if found is None or seg.sequence != found.next_seq:
                self.transport_drops += 1
                self.reassembly.pop(key, None)
                return
            current = found
            current.data += seg.payload
            current.next_seq = (seg.sequence + 1) & 0x3F
            current.segments += 1
            if len(current.data) > MAX_FRAGMENT:
                self.transport_drops += 1
                del self.reassembly[key]
                return
        if not seg.fin:
            return
        del self.reassembly[key]
        yield self._fragment(direction, link, current, ts_ns, frame)

    def _fragment(
        self, direction: int, link: LinkFrame, current: _Reassembly, ts_ns: int, frame: int
    ) -> Event:
        base = self._base(direction, ts_ns, frame)
        data = bytes(current.data)
        try:
            frag = parse_fragment(data)
        except Malformed as exc:
            self.malformed += 1
            return Dnp3Malformed(**base, reason=str(exc), length=len(data))
        self.fragments += 1
        names: list[str] = []
        for g, v, _q, _c in frag.objects:
            name = object_name(g, v)
            if name not in names:
                names.append(name)
        fc = frag.function_code
        common: dict[str, Any] = {
            "source_address": link.source,
            "destination_address": link.destination,
            "function_code": fc,
            "function": function_name(fc),
            "sequence": frag.sequence,
            "fir": frag.fir,
            "fin": frag.fin,
            "con": frag.con,
            "uns": frag.uns,
            "objects": tuple(frag.objects),
            "object_names": tuple(names),
            "objects_complete": frag.objects_complete,
            "link_function": current.link_function,
            "segments": current.segments,
            "length": len(data),
        }
        if fc not in RESPONSE_FUNCTIONS:
            if fc not in NO_RESPONSE_FUNCTIONS:
                self._remember((link.source, link.destination, frag.sequence), fc, ts_ns, frame)
            return Dnp3Request(**base, **common)
        iin = frag.iin or 0
        extra: dict[str, Any] = {"iin": iin, "iin_flags": iin_flags(iin)}
        if fc == 130:
            extra["unsolicited"] = True
        else:
            found = self.pending.pop((link.destination, link.source, frag.sequence), None)
            if found is not None:
                req_fc, req_ts, req_frame = found
                extra["matched"] = True
                extra["request_frame"] = req_frame
                extra["request_function"] = function_name(req_fc)
                extra["latency"] = (ts_ns - req_ts) / 1e9
        return Dnp3Response(**base, **common, **extra)

    def _remember(self, key: tuple[int, int, int], fc: int, ts_ns: int, frame: int) -> None:
        self.pending.pop(key, None)
        self.pending[key] = (fc, ts_ns, frame)
        while self.pending:
            _key, (_fc, old_ts, _f) = next(iter(self.pending.items()))
            if len(self.pending) > MAX_PENDING or ts_ns - old_ts > PENDING_TIMEOUT_NS:
                self.pending.popitem(last=False)
            else:
                break


class Dnp3UdpDissector(Dnp3Dissector):
    """DNP3 over UDP (port 20000): each datagram holds whole link frames."""

    transport: ClassVar[str] = "udp"

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        buf = StreamBuffer()
        buf.feed(data)
        yield from self._drain(buf, direction, ts_ns, frame)
        if buf.data:
            self.malformed += 1
            yield Dnp3Malformed(
                **self._base(direction, ts_ns, frame),
                reason="datagram ends inside a link frame",
                length=len(buf.data),
            )
