"""Contracts between the stream core and the protocol layer (sans-IO).

The engine owns sockets, files and clocks; a handler only ever receives bytes with their
capture time and direction, so the same protocol code serves pcaps, live capture and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..decode.flows import FlowColumns
    from ..decode.view import BatchView
    from .events import BaseEvent

FROM_ORIGINATOR = 0
FROM_RESPONDER = 1


@dataclass(frozen=True, slots=True)
class FlowContext:
    """What a handler knows about its flow; oriented originator -> responder."""

    flow_id: int
    proto: int
    orig_ip: str
    orig_port: int
    resp_ip: str
    resp_port: int


class StreamHandler(Protocol):
    """Receives one flow's payload in order: TCP reassembled per direction, UDP per datagram."""

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> None:
        """``data`` continues the direction's stream (or is one UDP datagram)."""

    def on_gap(self, direction: int, nbytes: int, ts_ns: int) -> None:
        """``nbytes`` of the direction's stream were never captured; the next data follows them."""

    def on_end(self, ts_ns: int) -> None:
        """The flow ended (closed, idle, evicted or end of input)."""


class HandlerFactory(Protocol):
    """Chooses a handler from the first payload of a flow (content first, port as a hint)."""

    def __call__(
        self, flow: FlowContext, direction: int, first_data: bytes
    ) -> StreamHandler | None:
        """Return a handler for the flow, or None to ignore its payload from now on.

        Raise :class:`~otsight.core.errors.NeedMoreData` when ``first_data`` is too short to
        decide: the engine asks again with the flow's next payload (a few times at most).
        """


@dataclass(frozen=True, slots=True)
class FrameContext:
    """A link-layer frame outside IP flows (ARP, LLDP, CDP, Profinet DCP...), as decoded."""

    ts_ns: int
    frame: int  # 1-based frame number in its source
    src_mac: str
    dst_mac: str
    vlan: int  # outer 802.1Q VLAN id, 0 if untagged
    ethertype: int  # the ethertype, or the SNAP protocol id of an LLC/SNAP frame (0: plain LLC)
    offset: int  # where the payload after the link-layer headers starts in the frame bytes
    llc: bool  # an 802.3/LLC frame rather than Ethernet II


class FrameHandler(Protocol):
    """Receives the frames whose ethertype (or SNAP protocol id) it asked for."""

    ethertypes: frozenset[int]

    def on_frame(self, data: bytes, ctx: FrameContext) -> None:
        """``data`` is the whole captured frame."""


class Observer(Protocol):
    """A stage after the protocol layer (inventory, detection, sinks).

    Within a batch it receives the batch's events in packet order, then the batch itself, then
    the flows that ended; ``finish`` comes once after the last input. Errors are contained by
    the pipeline (logged and counted per observer), so one broken stage never stops the others.
    """

    name: str

    def on_event(self, event: BaseEvent) -> None:
        """One protocol event, at its capture time."""

    def on_batch(self, view: BatchView) -> None:
        """Every packet of a processed batch as decoded columns."""

    def on_flows(self, flows: FlowColumns) -> None:
        """Flows that ended (closed, idle, evicted or end of input)."""

    def finish(self) -> None:
        """No more input."""
