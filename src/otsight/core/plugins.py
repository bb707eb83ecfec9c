"""Contracts between the stream core and the protocol layer (sans-IO).

The engine owns sockets, files and clocks; a handler only ever receives bytes with their
capture time and direction, so the same protocol code serves pcaps, live capture and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ..decode.flows import FlowColumns
    from ..decode.view import BatchView
    from .events import BaseEvent, EventBatch

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

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> bool | None:
        """``data`` continues the direction's stream (or is one UDP datagram).

        A true result means the handler is done with the flow's payload (e.g. a TLS session
        past its cleartext handshake): the engine then stops handing it over, which spares a
        Python call per segment of bulk encrypted traffic; ``on_end`` still follows."""

    def on_gap(self, direction: int, nbytes: int, ts_ns: int) -> None:
        """``nbytes`` of the direction's stream were never captured; the next data follows them."""

    def on_end(self, ts_ns: int) -> None:
        """The flow ended (closed, idle, evicted or end of input)."""


@dataclass(frozen=True, slots=True)
class PayloadRun:
    """In-order payload of many packets of flows on a batch path, as columns (packet order).

    Payload ``k`` is ``buf[start[k] : start[k] + length[k]]``; it continues its direction's
    stream exactly like the ``data`` of :meth:`StreamHandler.on_data`. ``usable`` is False where
    the bytes are not in ``buf`` (a reassembled IP fragment): such payload must be refused.
    """

    buf: npt.NDArray[np.uint8]
    start: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]
    ts_ns: npt.NDArray[np.int64]
    frame: npt.NDArray[np.int64]
    slot: npt.NDArray[np.int64]  # the flow's slot in the flow table
    direction: npt.NDArray[np.int8]  # FROM_ORIGINATOR or FROM_RESPONDER
    usable: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.start.shape[0])


class BatchPath(Protocol):
    """Compiled handling of regular traffic for the flows of one dissector (e.g. Modbus polls).

    A handler may offer one as its ``batch_path`` attribute. The engine then asks the path to
    :meth:`claim` the flow between runs; while claimed, the flow's payload goes to :meth:`run`
    in bulk instead of ``on_data``. Whatever the path refuses, and anything else the flow does
    (out-of-order data, gaps, its end), first :meth:`release` s the flow back to its handler,
    whose state the path has kept up to date, so results never depend on which path ran.
    """

    def claim(self, slot: int, handler: StreamHandler) -> bool:
        """Take over the flow if its handler's state allows it now (e.g. no partial message)."""

    def release(self, slot: int) -> None:
        """Hand the flow's state back to its handler; the handler gets the flow's next data."""

    def run(self, payload: PayloadRun) -> npt.NDArray[np.bool_]:
        """Consume payload of claimed flows; True where consumed. Once a flow's payload is
        refused, every later payload of that flow in the run must be refused too (the engine
        gives those to the handler, in order)."""


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

    Within a batch it receives the batch's events, then the batch itself, then the flows that
    ended; ``finish`` comes once after the last input. Each flow's events come in packet order;
    events from a batch path (e.g. Modbus polling) arrive as an :class:`EventBatch` ahead of the
    other events of the same stretch of packets. An observer may implement
    ``on_events(batch: EventBatch) -> None`` to take such batches whole (e.g. to count or
    serialise them without building event objects); without it, it gets each event of the
    batch through ``on_event``. An observer may also implement ``wants_event(cls: type) -> bool``
    (see :class:`SelectiveObserver`) to be spared the single events of classes it ignores;
    without it, it gets every event. Errors are contained by the pipeline (logged and counted
    per observer), so one broken stage never stops the others.
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


class BatchObserver(Observer, Protocol):
    """An observer that takes event batches whole (see :class:`Observer`)."""

    def on_events(self, batch: EventBatch) -> None:
        """Events of a batch path, in order (``len(batch)`` of them)."""


class SelectiveObserver(Observer, Protocol):
    """An observer that names the event classes it wants (see :class:`Observer`)."""

    def wants_event(self, cls: type[BaseEvent]) -> bool:
        """Whether events of ``cls`` should reach ``on_event``; asked once per class (the
        answer must not change), so a False spares a call per event of that class."""
