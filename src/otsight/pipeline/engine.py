"""The packet engine: decode, fragments, flows and TCP reassembly for a stream of batches.

Batch-first by design: per batch, a handful of compiled kernels and numpy operations do the
per-packet work; Python runs only for what is rare and rich (new flows, out-of-order TCP,
fragments, handler calls). Packet time drives every timeout, so replaying a capture gives
identical results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..capture.batch import FrameBatch
from ..core.errors import NeedMoreData
from ..core.plugins import (
    BatchPath,
    FlowContext,
    FrameContext,
    FrameHandler,
    HandlerFactory,
    PayloadRun,
    StreamHandler,
)
from ..core.types import mac_to_str
from ..decode.flowkernel import DONE, RST, SPLIT, SYN, flow_kernel
from ..decode.flows import END_EOF, FlowColumns, FlowRecord, FlowTable, Timeouts
from ..decode.fragments import Reassembler
from ..decode.kernel import decode_batch
from ..decode.keys import FlowKeys, flow_eligible
from ..decode.table import L3_ARP, L3_LLC, L3_OTHER, PacketTable
from ..decode.tcp import TcpSlowPath
from ..decode.view import BatchView

log = logging.getLogger(__name__)

MAX_DECISION_TRIES = 8
MAX_HELD_BYTES = 4096
MAX_LOGGED_PER_ERROR = 3
CONSUMER_UNDECIDED = 0
CONSUMER_ACTIVE = 1
CONSUMER_NONE = 2
CONSUMER_BATCH = 3  # claimed by its handler's batch path (compiled, many packets per call)


@dataclass(slots=True)
class EngineConfig:
    max_flows: int = 500_000
    timeouts: Timeouts = field(default_factory=Timeouts)
    fragment_timeout: float = 30.0


@dataclass(slots=True)
class EngineStats:
    packets: int = 0
    handler_errors: int = 0
    flows_started: int = 0
    flows_ended: int = 0
    batch_payloads: int = 0  # payloads consumed by batch paths
    batch_refused: int = 0  # payloads of claimed flows a batch path gave back to the handler


class Engine:
    """Feeds batches through decoding and flow tracking; reports flows and payload."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        handler_factory: HandlerFactory | None = None,
        on_flow_end: Callable[[FlowRecord], None] | None = None,
        on_flows_end: Callable[[FlowColumns], None] | None = None,
        on_batch: Callable[[BatchView], None] | None = None,
        frame_handler: FrameHandler | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.flows = FlowTable(self.config.max_flows, self.config.timeouts)
        self.flows.on_end = self._end_flows
        self.fragments = Reassembler(self.config.fragment_timeout)
        self.handler_factory = handler_factory
        self.on_flow_end = on_flow_end
        self.on_flows_end = on_flows_end
        self.on_batch = on_batch
        self.frame_handler = frame_handler
        self._frame_types = (
            np.array(sorted(frame_handler.ethertypes), dtype=np.uint16)
            if frame_handler is not None
            else None
        )
        self._frames: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self.handlers: dict[int, StreamHandler] = {}
        # What becomes of each slot's payload (CONSUMER_*): one byte per slot, read one at a
        # time as ``_states[s]`` (a plain int, cheaper than a numpy scalar) and many at a time
        # through ``consumer``, a numpy view of the same bytes.
        self._states = bytearray()
        self.consumer = np.frombuffer(self._states, dtype=np.uint8)
        # Batch paths offered by handlers; path_of[slot] is 1 + the index of the flow's path.
        self.paths: list[BatchPath] = []
        self.path_of = np.zeros(0, dtype=np.uint8)
        self._claimable: set[int] = set()  # slots whose handler's path may claim them
        self.tcp = TcpSlowPath(self.flows.state, self._deliver_slow, self._gap)
        # Which flows this engine dissects (by flow id): None for all. A sharded run
        # (pipeline.shards) runs one engine per process over the same input, each with its
        # own share of the flows.
        self.owns: Callable[[int], bool] | None = None
        # Where the engine is in the input, the same in every process that reads it: (batch,
        # packet index, stage, end call, flow within the call). Everything a handler emits
        # happens at one position, so a sharded run can put its processes' events back in
        # the order one process would have made them (pipeline.shards). Stages at a packet:
        # flows ended there, then batch paths of the range it starts, then its payload, then
        # the TCP slow path; a batch's idle flows end at index len(batch).
        self.position = [0, 0, 0, 0, 0]
        self._end_calls = 0
        self.stats = EngineStats()
        self.now_ns = 0
        self._cur: tuple[FrameBatch, PacketTable, dict[int, bytes]] | None = None
        self._undecided: dict[int, int] = {}
        # Payload seen while the flow was undecided: replayed to the handler once chosen.
        self._held: dict[int, list[tuple[int, bytes, int, int]]] = {}
        self._logged_errors: dict[str, int] = {}  # slot -> payloads seen without a decision
        # Gaps declared before the flow's first data chose a handler: replayed to the handler.
        self._early_gaps: dict[int, list[tuple[int, int, int]]] = {}

    # ------------------------------------------------------------------ batches
    def process(self, batch: FrameBatch) -> None:
        n = len(batch)
        if n == 0:
            return
        self.stats.packets += n
        position = self.position
        position[0] += 1
        position[1] = -1  # flows evicted while the batch's flows are assigned
        position[2] = 0
        table = decode_batch(batch)
        overrides: dict[int, bytes] = {}
        frag_idx = np.nonzero(table.frag)[0]
        for fi in frag_idx:
            rebuilt = self.fragments.feed(batch, table, int(fi))
            if rebuilt is not None:
                overrides[int(fi)] = rebuilt
        keys = FlowKeys(table, flow_eligible(table))
        slots = self.flows.assign(keys)
        self._ensure_consumer_capacity()
        side = keys.from_b.astype(np.int64)
        out_off = np.zeros(n, dtype=np.int32)
        out_len = np.zeros(n, dtype=np.int32)
        self._cur = (batch, table, overrides)
        self._frames = self._frame_indices(table)
        st = self.flows.state
        seq = table.seq.astype(np.int64)
        ack = table.ack.astype(np.int64)
        flags = table.tcp_flags.astype(np.int64)
        proto = table.proto
        wirelen = batch.wirelen.astype(np.int64)
        pl_len = table.pl_len.astype(np.int64)
        pl_wire = table.pl_wire.astype(np.int64)
        close_ns = int(self.config.timeouts.tcp_closed * 1e9)
        # Flows that ended mid-batch to let a new one take their key (SPLIT), for the view:
        # (packet index, slot, id of the ended flow).
        splits: list[tuple[int, int, int]] = []
        start = 0
        while start < n:
            code, stop = flow_kernel(
                start,
                slots,
                side,
                batch.ts_ns,
                wirelen,
                proto,
                flags,
                seq,
                ack,
                pl_len,
                pl_wire,
                st.first_ts,
                st.last_ts,
                st.timeout,
                close_ns,
                st.pkts,
                st.wire_bytes,
                st.pl_bytes,
                st.orig,
                st.flow_id,
                self.flows.ids,
                st.flags_seen,
                st.closed,
                st.next_seq,
                st.max_ack,
                st.pending,
                st.delivered,
                st.retrans,
                st.overlaps,
                out_off,
                out_len,
            )
            self._dispatch(start, stop, slots, side, out_off, out_len)
            if code == DONE:
                break
            i = int(stop)
            s = int(slots[i])
            position[1] = i
            if code == SPLIT:
                position[2] = 0
                reason = self.flows.end_reason(s, int(batch.ts_ns[i]))
                h = self.flows.hash_of(s)
                key = self.flows.key_of(s)
                # Earlier packets of the ending flow keep its id (the new flow may reuse slot s).
                splits.append((i, s, int(st.flow_id[s])))
                self._end_flow(s, reason)
                new = self.flows.new_flow(h, key)
                self._ensure_consumer_capacity()
                if new != s:  # (the slot just freed is the one reused: this is rare)
                    rest = slots[i:]
                    rest[rest == s] = new
                start = i
                continue
            # SLOW: a TCP segment the fast path cannot place, or an ACK the peer's buffered
            # data waits for.
            position[2] = 3
            b = int(side[i])
            f = int(flags[i])
            ts = int(batch.ts_ns[i])
            if st.pending[s, 1 - b]:
                self.tcp.acked(s, 1 - b, ts)
            if (pl_len[i] > 0 or pl_wire[i] > 0) and not f & RST:
                dseq = int(seq[i]) + (1 if f & SYN else 0)
                data = self._payload(i)
                self.tcp.segment(
                    s, b, dseq & 0xFFFFFFFF, data, int(pl_wire[i]), ts, batch.first_frame + i
                )
            start = i + 1
        self.stats.flows_started = self.flows.next_flow_id - 1
        self.now_ns = max(self.now_ns, int(batch.ts_ns.max()))
        if self.on_batch is not None:
            ids = self._flow_ids(slots)
            if splits:
                ended = ended_flow_ids(slots, splits)
                ids = np.where(ended != 0, ended, ids)
            self.on_batch(BatchView(batch, table, slots, ids))
        self._cur = None
        position[1] = n
        position[2] = 0
        self._expire()

    def _flow_ids(self, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        ids = np.zeros(slots.shape[0], dtype=np.int64)
        has = slots >= 0
        ids[has] = self.flows.state.flow_id[slots[has]]
        return ids

    def finish(self) -> None:
        """End every live flow (end of input), in flow id order."""
        slots = self._by_flow_id(self.flows.live_slots())
        self.position[:3] = [self.position[0] + 1, 0, 0]
        self._end_flows(slots, END_EOF)

    # ------------------------------------------------------------------ flows
    def _by_flow_id(self, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return slots[np.argsort(self.flows.state.flow_id[slots], kind="stable")]

    def _expire(self) -> None:
        slots = self._by_flow_id(self.flows.idle_slots(self.now_ns))
        if slots.size:
            self._end_flows(slots, self.flows.end_reasons(slots, self.now_ns))

    def _end_flow(self, s: int, reason: str) -> None:
        self._end_flows(np.array([s], dtype=np.int64), reason)

    def _end_flows(self, slots: npt.NDArray[np.int64], reason: str | list[str]) -> None:
        """End flows: flush their TCP buffers and handlers, then report and free them."""
        if slots.size == 0:
            return
        st = self.flows.state
        position = self.position
        self._end_calls += 1
        position[3] = self._end_calls
        if self.tcp.buffers or self.handlers or self._early_gaps or self._undecided:
            for j, s in enumerate(slots.tolist()):
                position[4] = j
                last_ts = int(st.last_ts[s])
                if self.tcp.buffers:
                    self.tcp.flush(s, last_ts)  # packet time of the flow itself
                if self._states[s] == CONSUMER_BATCH:
                    self._release(s)
                self._claimable.discard(s)
                handler = self.handlers.pop(s, None)
                if handler is not None:
                    self._call(handler.on_end, last_ts)
                self._early_gaps.pop(s, None)
                self._undecided.pop(s, None)
                self._held.pop(s, None)
        in_range = slots[slots < self.consumer.shape[0]]
        if self.handler_factory is not None:
            self.consumer[in_range] = CONSUMER_UNDECIDED
            self.path_of[in_range] = 0
        reasons = [reason] * int(slots.size) if isinstance(reason, str) else reason
        ended = self.flows.columns(slots, reasons)
        self.stats.flows_ended += len(ended)
        self.flows.release(slots)
        position[4] = int(slots.size)  # reported after every handler of the call ended
        if self.on_flows_end is not None:
            self.on_flows_end(ended)
        if self.on_flow_end is not None:
            for record in ended.records():
                self.on_flow_end(record)
        position[3] = position[4] = 0

    def _ensure_consumer_capacity(self) -> None:
        cap = self.flows.state.capacity
        if len(self._states) < cap:
            if self.handler_factory is None:
                grown = bytearray([CONSUMER_NONE]) * cap
            else:
                grown = bytearray(cap)
                grown[: len(self._states)] = self._states
            self._states = grown
            self.consumer = np.frombuffer(grown, dtype=np.uint8)
            paths = np.zeros(cap, dtype=np.uint8)
            paths[: self.path_of.shape[0]] = self.path_of
            self.path_of = paths

    # ------------------------------------------------------------------ payload
    def _payload(self, i: int) -> bytes:
        assert self._cur is not None
        batch, table, overrides = self._cur
        if i in overrides:
            return overrides[i]
        start = int(batch.offset[i]) + int(table.pl_off[i])
        return bytes(batch.buf[start : start + int(table.pl_len[i])])

    def _frame_indices(self, table: PacketTable) -> npt.NDArray[np.intp]:
        """Packets outside IP flows that the frame handler asked for, in packet order."""
        if self._frame_types is None:
            return np.zeros(0, dtype=np.intp)
        link = (table.l3 == L3_ARP) | (table.l3 == L3_OTHER) | (table.l3 == L3_LLC)
        return np.nonzero(link & np.isin(table.ethertype, self._frame_types))[0]

    def _dispatch(
        self,
        start: int,
        stop: int,
        slots: npt.NDArray[np.int64],
        side: npt.NDArray[np.int64],
        out_off: npt.NDArray[np.int32],
        out_len: npt.NDArray[np.int32],
    ) -> None:
        """Hand payload (and link-layer frames) of packets ``start..stop-1`` over, in order."""
        if stop <= start:
            return
        frames = self._frames[(self._frames >= start) & (self._frames < stop)]
        flows: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        if self.handler_factory is not None:
            seg_len = out_len[start:stop]
            seg_slots = slots[start:stop]
            want = (seg_len > 0) & (seg_slots >= 0)
            if want.any():
                consumer = self.consumer[np.where(seg_slots >= 0, seg_slots, 0)]
                want &= consumer != CONSUMER_NONE
                flows = np.nonzero(want)[0] + start
                if self.paths and flows.size:
                    self.position[1:3] = [start, 1]  # ahead of the range's other payload
                    flows = self._run_paths(flows, consumer[flows - start], slots, side,
                                            out_off, out_len)
        if frames.size or flows.size:
            self._dispatch_python(flows, frames, slots, side, out_off, out_len)
        if self._claimable:
            self._claim()

    def _run_paths(
        self,
        flows: npt.NDArray[np.intp],
        consumer: npt.NDArray[np.uint8],
        slots: npt.NDArray[np.int64],
        side: npt.NDArray[np.int64],
        out_off: npt.NDArray[np.int32],
        out_len: npt.NDArray[np.int32],
    ) -> npt.NDArray[np.intp]:
        """Give payload of claimed flows to their batch paths (ahead of the range's other
        payload); returns the packets left for the handlers, in packet order."""
        on_path = consumer == CONSUMER_BATCH
        if not on_path.any():
            return flows
        assert self._cur is not None
        batch, table, overrides = self._cur
        idx = flows[on_path]
        s = slots[idx]
        orig = self.flows.state.orig[s]
        direction = (side[idx] != np.where(orig >= 0, orig, 0)).astype(np.int8)
        usable = np.ones(idx.size, dtype=np.bool_)
        if overrides:
            usable = ~np.isin(idx, np.fromiter(overrides, dtype=np.intp, count=len(overrides)))
        run = PayloadRun(
            buf=batch.buf,
            start=batch.offset[idx] + table.pl_off[idx].astype(np.int64) + out_off[idx],
            length=out_len[idx].astype(np.int64),
            ts_ns=batch.ts_ns[idx],
            frame=idx.astype(np.int64) + batch.first_frame,
            slot=s,
            direction=direction,
            usable=usable,
        )
        taken = np.zeros(idx.size, dtype=np.bool_)
        owner = self.path_of[s]
        for k in np.unique(owner).tolist():
            mine = owner == k
            part = run if mine.all() else _select(run, mine)
            try:
                taken[mine] = self.paths[k - 1].run(part)
            except Exception:
                self.stats.handler_errors += 1
                log.exception("batch path %s failed", type(self.paths[k - 1]).__name__)
        self.stats.batch_payloads += int(taken.sum())
        self.stats.batch_refused += int(idx.size - taken.sum())
        keep = np.ones(flows.size, dtype=np.bool_)
        keep[np.nonzero(on_path)[0][taken]] = False
        return flows[keep]

    def _claim(self) -> None:
        """Offer flows whose handler has a batch path to it (between ranges, never inside)."""
        for s in list(self._claimable):
            handler = self.handlers.get(s)
            k = int(self.path_of[s])
            if handler is None or k == 0 or self._states[s] != CONSUMER_ACTIVE:
                self._claimable.discard(s)
                continue
            try:
                claimed = self.paths[k - 1].claim(s, handler)
            except Exception:
                self.stats.handler_errors += 1
                log.exception("batch path %s failed to claim", type(self.paths[k - 1]).__name__)
                self._claimable.discard(s)
                continue
            if claimed:
                self._states[s] = CONSUMER_BATCH
                self._claimable.discard(s)

    def _release(self, s: int) -> None:
        """The flow goes back to its handler (which then gets its data); claimable again."""
        k = int(self.path_of[s])
        self._states[s] = CONSUMER_ACTIVE
        self._claimable.add(s)
        try:
            self.paths[k - 1].release(s)
        except Exception:
            self.stats.handler_errors += 1
            log.exception("batch path %s failed to release", type(self.paths[k - 1]).__name__)

    def _dispatch_python(
        self,
        flows: npt.NDArray[np.intp],
        frames: npt.NDArray[np.intp],
        slots: npt.NDArray[np.int64],
        side: npt.NDArray[np.int64],
        out_off: npt.NDArray[np.int32],
        out_len: npt.NDArray[np.int32],
    ) -> None:
        """Payload to handlers and frames to the frame handler, one call each, in order.

        The per-packet columns are gathered once for the whole range (a payload costs a
        slice of the batch buffer and one handler call, nothing more)."""
        assert self._cur is not None
        batch, table, overrides = self._cur
        if frames.size:
            order = np.concatenate([flows, frames])
            by_packet = np.argsort(order, kind="stable")
            order = order[by_packet]
            is_frame = (by_packet >= flows.size).tolist()
        else:
            order = flows
            is_frame = [False] * flows.size
        s_all = slots[order]
        orig = self.flows.state.orig[np.where(s_all >= 0, s_all, 0)]
        direction = (side[order] != np.where(orig >= 0, orig, 0)).tolist()
        starts = batch.offset[order] + table.pl_off[order] + out_off[order]
        stops = (starts + out_len[order]).tolist()
        times = batch.ts_ns[order].tolist()
        frame_no = (order + batch.first_frame).tolist()
        buf = batch.buf.data  # a memoryview: slicing it copies nothing until bytes()
        deliver = self._deliver_direction
        states = self._states  # not replaced while a range is dispatched
        handlers = self.handlers
        position = self.position
        position[2] = 2
        for i, frame_only, s, d, a, b, ts, frame in zip(
            order.tolist(), is_frame, s_all.tolist(), direction, starts.tolist(), stops, times,
            frame_no, strict=True,
        ):
            position[1] = i
            if frame_only:
                self._deliver_frame(batch, table, i)
                continue
            state = states[s]
            if state == CONSUMER_NONE:  # e.g. a handler said it was done earlier in the range
                continue
            if i in overrides:  # a reassembled IP fragment: its payload is not in the buffer
                off = int(out_off[i])
                data = self._payload(i)[off : off + b - a]
            else:
                data = bytes(buf[a:b])
            if state == CONSUMER_ACTIVE:
                # The common case inline (one Python call per payload saved): as in
                # _deliver_direction, a true result means the handler is done with the flow.
                active = handlers.get(s)
                if active is not None:
                    try:
                        if active.on_data(d, data, ts, frame):
                            states[s] = CONSUMER_NONE
                    except Exception as exc:
                        self._failed(exc, active.on_data)
                    continue
            deliver(s, d, data, ts, frame)  # undecided, on a batch path, or no handler

    def _deliver_frame(self, batch: FrameBatch, table: PacketTable, i: int) -> None:
        assert self.frame_handler is not None
        ctx = FrameContext(
            ts_ns=int(batch.ts_ns[i]),
            frame=batch.first_frame + i,
            src_mac=mac_to_str(int(table.src_mac[i])),
            dst_mac=mac_to_str(int(table.dst_mac[i])),
            vlan=int(table.vlan[i]),
            ethertype=int(table.ethertype[i]),
            offset=int(table.l3_off[i]),
            llc=bool(table.l3[i] == L3_LLC),
        )
        self._call(self.frame_handler.on_frame, batch.frame(i), ctx)

    def _direction(self, s: int, b: int) -> int:
        o = int(self.flows.state.orig[s])
        return 0 if b == (o if o >= 0 else 0) else 1

    def _deliver(self, s: int, b: int, data: bytes, ts: int, frame: int) -> None:
        self._deliver_direction(s, self._direction(s, b), data, ts, frame)

    def _deliver_direction(self, s: int, direction: int, data: bytes, ts: int, frame: int) -> None:
        state = self._states[s]
        if state == CONSUMER_ACTIVE:  # the common case first: a handler is waiting
            active = self.handlers.get(s)
            if active is not None:
                try:
                    if active.on_data(direction, data, ts, frame):
                        self._states[s] = CONSUMER_NONE  # done: no more payload for it
                except Exception as exc:
                    self._failed(exc, active.on_data)
            return
        if state == CONSUMER_NONE:
            return
        if state == CONSUMER_UNDECIDED:
            assert self.handler_factory is not None
            if self.owns is not None and not self.owns(int(self.flows.state.flow_id[s])):
                self._states[s] = CONSUMER_NONE  # another process's flow
                return
            orig_ip, orig_port, resp_ip, resp_port = self.flows.describe(s)
            ctx = FlowContext(
                int(self.flows.state.flow_id[s]),
                int(self.flows.state.proto[s]),
                orig_ip,
                orig_port,
                resp_ip,
                resp_port,
            )
            # Most flows decide on their first payload: nothing held, nothing to join.
            held = self._held.get(s, []) if self._held else []
            # Probe with what this direction already sent while undecided, then this payload.
            probe = (
                b"".join([d for hd, d, _t, _f in held if hd == direction] + [data])
                if held
                else data
            )
            try:
                handler = self.handler_factory(ctx, direction, probe)
            except NeedMoreData:
                # Too little to decide (a stray byte, a message cut across segments): keep
                # the bytes and ask again with the next payload, a few times at most.
                tries = self._undecided.get(s, 0) + 1
                if tries < MAX_DECISION_TRIES and len(probe) < MAX_HELD_BYTES:
                    self._undecided[s] = tries
                    self._held.setdefault(s, []).append((direction, data, ts, frame))
                    return
                handler = None
            except Exception:
                self.stats.handler_errors += 1
                log.exception("handler factory failed on flow %d", ctx.flow_id)
                handler = None
            early = self._early_gaps.pop(s, []) if self._early_gaps else []
            if held:
                del self._held[s]
            if self._undecided:
                self._undecided.pop(s, None)
            if handler is None:
                self._states[s] = CONSUMER_NONE
                return
            self.handlers[s] = handler
            self._states[s] = CONSUMER_ACTIVE
            self._offer_path(s, handler)
            for gap_direction, nbytes, gap_ts in early:
                self._call(handler.on_gap, gap_direction, nbytes, gap_ts)
            for held_direction, held_data, held_ts, held_frame in held:
                self._call(handler.on_data, held_direction, held_data, held_ts, held_frame)
        elif state == CONSUMER_BATCH:
            self._release(s)
        handler_obj = self.handlers.get(s)
        if handler_obj is not None and self._call(handler_obj.on_data, direction, data, ts, frame):
            self._states[s] = CONSUMER_NONE

    def _offer_path(self, s: int, handler: StreamHandler) -> None:
        path: BatchPath | None = getattr(handler, "batch_path", None)
        if path is None:
            return
        k = next((i for i, known in enumerate(self.paths) if known is path), -1)
        if k < 0:
            if len(self.paths) >= 255:  # path_of is one byte; more paths are not offered
                return
            self.paths.append(path)
            k = len(self.paths) - 1
        self.path_of[s] = k + 1
        self._claimable.add(s)

    def _deliver_slow(self, s: int, b: int, data: bytes, ts: int, frame: int) -> None:
        if self.handler_factory is None:
            return
        self._deliver(s, b, data, ts, frame)

    def _gap(self, s: int, b: int, nbytes: int, ts: int) -> None:
        if len(self._states) > s and self._states[s] == CONSUMER_BATCH:
            self._release(s)
        handler = self.handlers.get(s)
        if handler is not None:
            if self._states[s] != CONSUMER_NONE:  # NONE with a handler: it said it is done
                self._call(handler.on_gap, self._direction(s, b), nbytes, ts)
        elif (
            self.handler_factory is not None
            and self._states[s] == CONSUMER_UNDECIDED
            and (self.owns is None or self.owns(int(self.flows.state.flow_id[s])))
        ):
            self._early_gaps.setdefault(s, []).append((self._direction(s, b), nbytes, ts))

    def _call(self, fn: Callable[..., object], *args: object) -> object:
        """A broken handler never stops the engine: its error is counted and logged (the
        first few times per error type, so a handler failing on every message cannot flood
        the log). Returns what ``fn`` returned (None if it failed)."""
        try:
            return fn(*args)
        except Exception as exc:
            self._failed(exc, fn)
            return None

    def _failed(self, exc: Exception, fn: Callable[..., object]) -> None:
        """Count (and log, the first few times) a handler's error; called inside ``except``."""
        self.stats.handler_errors += 1
        key = f"{type(exc).__name__} in {getattr(fn, '__qualname__', fn)}"
        seen = self._logged_errors.get(key, 0)
        self._logged_errors[key] = seen + 1
        if seen < MAX_LOGGED_PER_ERROR:
            log.exception("stream handler failed (%s)", key)
        elif seen == MAX_LOGGED_PER_ERROR:
            log.error("%s keeps failing; further occurrences are only counted", key)


def _select(run: PayloadRun, mask: npt.NDArray[np.bool_]) -> PayloadRun:
    return PayloadRun(
        buf=run.buf,
        start=run.start[mask],
        length=run.length[mask],
        ts_ns=run.ts_ns[mask],
        frame=run.frame[mask],
        slot=run.slot[mask],
        direction=run.direction[mask],
        usable=run.usable[mask],
    )


def ended_flow_ids(
    slots: npt.NDArray[np.int64], splits: list[tuple[int, int, int]]
) -> npt.NDArray[np.int64]:
    """The id of the flow each packet belonged to when its flow ended mid-batch (0 if it did
    not): a packet gets the id of the first split of its slot after it.

    ``splits`` are (packet index, slot, ended flow's id) in the order they happened. One
    sorted search for the whole batch, where marking each split's earlier packets as it
    happens walked the batch once per split (hundreds per million packets).
    """
    n = slots.shape[0]
    at, slot, ids = (np.array(column, dtype=np.int64) for column in zip(*splits, strict=True))
    stride = n + 1
    keys = slot * stride + at  # by slot, then packet index
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    ids = ids[order]
    # The first split after each packet: same slot, larger index (side right: not at it).
    found = np.searchsorted(keys, slots * stride + np.arange(n, dtype=np.int64), side="right")
    hit = found < keys.size
    found = np.minimum(found, keys.size - 1)
    hit &= keys[found] // stride == slots  # slots of -1 (no flow) never match
    ended = np.zeros(n, dtype=np.int64)
    ended[hit] = ids[found[hit]]
    return ended
