"""The dissector contract and the helpers every dissector shares.

A dissector is created per flow once it has been chosen for that flow, then fed each
direction's reassembled bytes (TCP) or datagrams (UDP). It never reads files, sockets or
clocks: time arrives with the bytes. ``probe`` scores the first payload of a flow so that a
protocol is found by content on any port and not claimed on its standard port when the bytes
do not match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from ..core.errors import Malformed, NeedMoreData
from ..core.events import BaseEvent, Event, EventBatch
from ..core.plugins import FROM_ORIGINATOR, BatchPath, FlowContext, FrameContext

__all__ = ["Dissector", "FrameDissector", "Malformed", "NeedMoreData", "StreamBuffer"]


class Dissector:
    """Base class of dissectors: subclasses set the class attributes and override ``on_data``."""

    name: ClassVar[str] = "base"  # slug, also the ``event.module`` of its events
    transport: ClassVar[str] = "tcp"  # "tcp" or "udp"
    ports: ClassVar[frozenset[int]] = frozenset()  # standard ports: a hint, never proof
    # The most ``probe`` ever returns. A class that never claims full certainty says so, and
    # the selector then skips its probe once another class already scored more than that
    # could (every UDP flow is offered to every UDP dissector). tests/protocols/test_probes.py
    # holds each class to its bound.
    max_score: ClassVar[float] = 1.0
    def __init__(self, flow: FlowContext) -> None:
        self.flow = flow
        self.malformed = 0  # messages that could not be parsed (counted, skipped)
        # Set once nothing more can be learnt from the flow's bytes (all further payload is
        # encrypted): the engine stops delivering it. Never set by a dissector that could
        # still report something.
        self.done = False
        self._endpoints: tuple[dict[str, Any], dict[str, Any]] | None = None

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        """How sure (0..1) that ``data``, the first payload of a flow, is this protocol."""
        return 0.0

    @classmethod
    def batch_path(cls, sink: Callable[[EventBatch], None]) -> BatchPath | None:
        """The compiled path for this class's regular traffic (:class:`BatchPath`), sending
        its event batches to ``sink``; None if there is none. Only a class that defines this
        itself gets a path: a subclass that parses differently must not inherit the kernel."""
        return None

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        """Consume bytes (stream continuation or one datagram); yield the events they complete."""
        return ()

    def on_gap(self, direction: int, nbytes: int) -> None:
        """Bytes were lost in ``direction``: drop partial messages and resynchronise."""

    def on_end(self, ts_ns: int) -> Iterable[Event]:
        """The flow ended: yield events still pending (e.g. requests never answered)."""
        return ()

    # ------------------------------------------------------------------ helpers
    def client_side(self) -> int:
        """The direction the client sends in: from the side not on one of the standard ports,
        else from the originator (a capture may start after the handshake)."""
        f = self.flow
        if f.orig_port in self.ports and f.resp_port not in self.ports:
            return 1 - FROM_ORIGINATOR
        return FROM_ORIGINATOR

    def endpoints(self, direction: int) -> Mapping[str, Any]:
        """Base event fields for a message travelling in ``direction`` (built once per flow:
        events are built with ``**self.endpoints(direction)``, never by changing it)."""
        if self._endpoints is None:
            f = self.flow
            self._endpoints = (
                _endpoints(f.flow_id, f.orig_ip, f.orig_port, f.resp_ip, f.resp_port,
                           self.transport),
                _endpoints(f.flow_id, f.resp_ip, f.resp_port, f.orig_ip, f.orig_port,
                           self.transport),
            )
        return self._endpoints[0 if direction == FROM_ORIGINATOR else 1]


def _endpoints(
    flow_id: int, src: str, sport: int, dst: str, dport: int, transport: str
) -> dict[str, Any]:
    return {
        "flow_id": flow_id,
        "src_ip": src,
        "src_port": sport,
        "dst_ip": dst,
        "dst_port": dport,
        "transport": transport,
    }


class StreamBuffer:
    """Accumulates one direction of a TCP stream and cuts it into messages.

    ``take(length_of)`` yields complete messages; ``length_of(buffer)`` returns the length of
    the message at the start of the buffer, raises :class:`NeedMoreData` if it cannot tell yet,
    or :class:`Malformed` if the bytes cannot start a message (then one byte is skipped, which
    a caller may count).
    """

    MAX_BUFFER = 1 << 20

    def __init__(self) -> None:
        self.data = bytearray()
        self.skipped = 0

    def feed(self, data: bytes) -> None:
        self.data += data
        if len(self.data) > self.MAX_BUFFER:  # a message that never completes: resynchronise
            self.skipped += len(self.data)
            self.data.clear()

    def reset(self) -> None:
        self.data.clear()

    def messages(self, length_of: Any) -> Iterable[bytes]:
        """Complete messages, in order. Bytes that cannot start a message are skipped one at a
        time and counted in ``skipped`` (resynchronisation after garbage or a gap)."""
        while self.data:
            try:
                n = length_of(self.data)
            except NeedMoreData:
                return
            except Malformed:
                self.skipped += 1
                del self.data[:1]
                continue
            if n <= 0:
                raise ValueError("message length must be positive")
            if len(self.data) < n:
                return
            msg = bytes(self.data[:n])
            del self.data[:n]
            yield msg


class FrameDissector:
    """Base class of link-layer dissectors (frames outside IP flows: ARP, LLDP, CDP, DCP).

    One instance serves a whole run, so it may keep state across frames (e.g. pairing).
    """

    name: ClassVar[str] = "frame"
    ethertypes: ClassVar[frozenset[int]] = frozenset()  # or SNAP protocol ids of LLC frames

    def __init__(self) -> None:
        self.malformed = 0

    def on_frame(self, data: bytes, ctx: FrameContext) -> Iterable[BaseEvent]:
        """Yield the events of one frame (``data[ctx.offset:]`` is its payload)."""
        return ()

    @staticmethod
    def endpoints(ctx: FrameContext) -> dict[str, Any]:
        """Base event fields of a frame event."""
        return {
            "ts": ctx.ts_ns / 1e9,
            "frame": ctx.frame,
            "src_mac": ctx.src_mac,
            "dst_mac": ctx.dst_mac,
            "vlan": ctx.vlan or None,
        }


class FramedDissector(Dissector):
    """A TCP dissector whose messages carry their own length (MBAP, UA-TCP, MQTT, TPKT...).

    Subclasses say how long the message at the start of a buffer is, how to turn one message
    into an event, and which event reports skipped bytes; buffering per direction, resync after
    gaps and the malformed accounting are done once, here.
    """

    framing: ClassVar[str] = "messages"  # named in the malformed event's reason

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (StreamBuffer(), StreamBuffer())

    def message_length(self, buf: bytes | bytearray) -> int:
        """Length of the message at the start of ``buf``; NeedMoreData or Malformed."""
        raise NotImplementedError

    def message(self, direction: int, msg: bytes, ts_ns: int, frame: int) -> Event:
        """The event of one whole message."""
        raise NotImplementedError

    def skipped(self, direction: int, nbytes: int, ts_ns: int, frame: int) -> Event:
        """The event reporting ``nbytes`` that could not start a message."""
        raise NotImplementedError

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.buffers[direction].reset()

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        buf = self.buffers[direction]
        buf.feed(data)
        before = buf.skipped
        for msg in buf.messages(self.message_length):
            yield self.message(direction, msg, ts_ns, frame)
        if buf.skipped != before:
            self.malformed += 1
            yield self.skipped(direction, buf.skipped - before, ts_ns, frame)


class DatagramDissector(Dissector):
    """A UDP dissector where each datagram is one message (DHCP, SSDP...).

    Subclasses parse a datagram and build its event; counting and reporting datagrams that do
    not parse is done once, here.
    """

    transport: ClassVar[str] = "udp"

    def parse(self, data: bytes) -> Any:
        """The parsed datagram; raises NeedMoreData or Malformed."""
        raise NotImplementedError

    def message(self, base: dict[str, Any], parsed: Any) -> Event:
        """The event of one parsed datagram (``base`` holds time, frame and endpoints)."""
        raise NotImplementedError

    def malformed_event(self, base: dict[str, Any], reason: str, length: int) -> Event:
        """The event of a datagram that does not parse."""
        raise NotImplementedError

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            parsed = self.parse(data)
        except (Malformed, NeedMoreData) as exc:
            self.malformed += 1
            yield self.malformed_event(base, str(exc), len(data))
            return
        if getattr(parsed, "malformed_options", 0):
            self.malformed += 1
        yield self.message(base, parsed)
