"""The slow half of TCP reassembly: out-of-order buffering, gap decisions, snapped segments.

The compiled fast path (:mod:`flowkernel`) delivers in-order data and drops pure
retransmissions. Everything else comes here, one packet at a time, with the direction's
state in the flow columns. A hole is declared a gap (capture loss) as soon as the receiver's
ACKs prove it received bytes we never saw, or when the buffer limit is reached; the data
after the hole is then delivered with a gap notice, so parsers can resynchronise.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from .flowkernel import seqdiff
from .flows import FlowState

MAX_BUFFERED_BYTES = 1 << 20
MAX_BUFFERED_SEGMENTS = 256

Deliver = Callable[[int, int, bytes, int, int], None]  # slot, side, data, ts_ns, frame
Gap = Callable[[int, int, int, int], None]  # slot, side, nbytes, ts_ns


@dataclass(slots=True)
class _Segment:
    seq: int
    data: bytes
    wire: int  # sequence space the segment covers (> len(data) when snapped)
    ts: int  # capture time and frame of the packet that carried it
    frame: int


class TcpSlowPath:
    """Out-of-order buffers per (slot, side) and the rules that drain them."""

    def __init__(self, state: FlowState, deliver: Deliver, gap: Gap) -> None:
        self.state = state
        self.deliver = deliver
        self.gap = gap
        self.buffers: dict[tuple[int, int], list[_Segment]] = {}
        self.buffered_bytes: dict[tuple[int, int], int] = {}
        self.forced_gaps = 0

    def segment(
        self, s: int, b: int, seq: int, data: bytes, wire: int, ts: int, frame: int = 0
    ) -> None:
        """Handle one data-bearing segment whose data starts at ``seq``.

        Delivered data carries the capture time (and frame) at which it became complete:
        its own packet's, or a later one's when it had to wait for a retransmission to fill
        the hole before it. Data that waited for a hole later found lost keeps its own time.
        """
        st = self.state
        nxt = int(st.next_seq[s, b])
        if nxt < 0:
            nxt = seq
            st.next_seq[s, b] = seq
        if seqdiff(seq, nxt) > 0:
            st.ooo[s, b] += 1
        key = (s, b)
        buf = self.buffers.setdefault(key, [])
        # Keep the buffer sorted by distance from next_seq (wrap-safe ordering).
        dist = [seqdiff(x.seq, nxt) for x in buf]
        pos = bisect.bisect_right(dist, seqdiff(seq, nxt))
        buf.insert(pos, _Segment(seq, data, wire, ts, frame))
        self.buffered_bytes[key] = self.buffered_bytes.get(key, 0) + len(data)
        self._drain(s, b, ts, frame)

    def acked(self, s: int, b: int, ts: int) -> None:
        """The peer of side ``b`` sent a new ACK: holes it proves lost are declared now."""
        if (s, b) in self.buffers:
            self._drain(s, b, ts, 0, ready=False)

    def _drain(self, s: int, b: int, ts: int, frame: int, ready: bool = True) -> None:
        """Deliver what is in order. ``ts``/``frame`` are those of the packet that triggered
        the drain; while ``ready``, data before the head arrived with that packet, so nothing
        delivered now can be older than it."""
        st = self.state
        key = (s, b)
        buf = self.buffers.get(key, [])
        fill_ts, fill_frame = (ts, frame) if ready else (0, 0)
        while buf:
            nxt = int(st.next_seq[s, b])
            head = buf[0]
            d = seqdiff(head.seq, nxt)
            if d > 0:
                if not self._hole_is_loss(s, b, head.seq, key):
                    break
                st.gaps[s, b] += d
                self.gap(s, b, d, ts)
                st.next_seq[s, b] = head.seq
                fill_ts, fill_frame = 0, 0  # lost bytes hold nothing up
                continue
            buf.pop(0)
            self.buffered_bytes[key] -= len(head.data)
            end = seqdiff(head.seq + head.wire, nxt)
            if end <= 0:
                st.retrans[s, b] += len(head.data)
                continue
            skip = -d
            if skip:
                st.overlaps[s, b] += 1
                st.retrans[s, b] += min(skip, len(head.data))
            fresh = head.data[skip:] if skip < len(head.data) else b""
            if fresh:
                if head.ts >= fill_ts:
                    fill_ts, fill_frame = head.ts, head.frame
                self.deliver(s, b, fresh, fill_ts, fill_frame)
                st.delivered[s, b] += len(fresh)
            missing = head.wire - max(skip, len(head.data))
            if missing > 0:  # snapped segment: the tail was never captured
                st.gaps[s, b] += missing
                self.gap(s, b, missing, ts)
            st.next_seq[s, b] = (head.seq + head.wire) & 0xFFFFFFFF
        st.pending[s, b] = 1 if buf else 0
        if not buf:
            self.buffers.pop(key, None)
            self.buffered_bytes.pop(key, None)

    def _hole_is_loss(self, s: int, b: int, head_seq: int, key: tuple[int, int]) -> bool:
        """True when waiting longer for the missing bytes is pointless."""
        peer_ack = int(self.state.max_ack[s, 1 - b])
        if peer_ack >= 0 and seqdiff(peer_ack, head_seq) >= 0:
            return True  # the receiver acknowledged every byte of the hole: we lost them
        buf = self.buffers[key]
        if len(buf) > MAX_BUFFERED_SEGMENTS or self.buffered_bytes[key] > MAX_BUFFERED_BYTES:
            self.forced_gaps += 1
            return True
        return False

    def flush(self, s: int, ts: int) -> None:
        """The flow ends: deliver what is buffered, declaring the remaining holes as gaps."""
        for b in (0, 1):
            key = (s, b)
            buf = self.buffers.get(key)
            while buf:
                nxt = int(self.state.next_seq[s, b])
                d = seqdiff(buf[0].seq, nxt)
                if d > 0:
                    self.state.gaps[s, b] += d
                    self.gap(s, b, d, ts)
                    self.state.next_seq[s, b] = buf[0].seq
                self._drain(s, b, ts, 0, ready=False)
                buf = self.buffers.get(key)
            self.state.pending[s, b] = 0
