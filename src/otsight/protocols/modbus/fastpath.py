"""The batch path of Modbus/TCP: polling flows handled by the compiled kernel, in bulk.

Most Modbus traffic is a master polling the same registers over and over, one ADU per
segment. Once a flow's dissector holds no partial ADU and few unanswered requests, the flow is
claimed: its state moves into a "lane" (rows of small arrays) and the kernel parses and pairs
its messages for a whole run of packets at a time, handing them on as one
:class:`ModbusBatch`. Anything the kernel refuses hands the flow (and its pending requests)
back to :class:`ModbusDissector`, so both paths give the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ...core.events import EventBatch
from ...core.plugins import PayloadRun, StreamHandler
from .batch import ModbusBatch
from .dissector import PENDING_TIMEOUT_NS, ModbusDissector
from .kernel import NONE, modbus_kernel
from .parser import MAX_VALUES, Pdu

LANE_FUNCTIONS = frozenset({1, 2, 3, 4, 5, 6, 15, 16})  # what kernel.py parses whole
LANE_PENDING = 8  # unanswered requests a lane holds; a flow with more stays in the dissector
# (polling masters keep one or two outstanding; 8 per lane keeps 10,000 lanes at about 5 MB)
MIN_ADU = 8


class ModbusBatchPath:
    """Lanes of claimed Modbus flows and the runs of the kernel over them."""

    def __init__(self, sink: Callable[[EventBatch], None]) -> None:
        self.sink = sink
        self.lanes = 0
        self.free: list[int] = []
        self.slot_lane = np.full(0, NONE, dtype=np.int64)
        self.dissectors: list[ModbusDissector | None] = []
        self.endpoints: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.client_dir = np.zeros(0, dtype=np.int8)
        self.pend_n = np.zeros(0, dtype=np.int64)
        shape = (0, LANE_PENDING)
        self.pend_tid = np.zeros(shape, dtype=np.int64)
        self.pend_unit = np.zeros(shape, dtype=np.int64)
        self.pend_fc = np.zeros(shape, dtype=np.int64)
        self.pend_addr = np.zeros(shape, dtype=np.int64)
        self.pend_qty = np.zeros(shape, dtype=np.int64)
        self.pend_ts = np.zeros(shape, dtype=np.int64)
        self.pend_frame = np.zeros(shape, dtype=np.int64)
        self.claims = 0
        self.releases = 0
        self.messages = 0  # events produced by the kernel

    # ------------------------------------------------------------------ lanes
    def claim(self, slot: int, handler: StreamHandler) -> bool:
        dissector = getattr(handler, "dissector", None)
        if not isinstance(dissector, ModbusDissector) or any(b.data for b in dissector.buffers):
            return False  # a partial ADU is waiting for its rest: the dissector keeps the flow
        if len(dissector.pending) > LANE_PENDING:
            return False
        if any(pdu.function_code not in LANE_FUNCTIONS for pdu, _, _ in dissector.pending.values()):
            # A request the kernel does not model (UMAS, diagnostics, device identification)
            # is waiting: its answer needs the request's sub-function, which a lane does not
            # keep. The dissector keeps the flow until it is answered.
            return False
        lane = self._new_lane()
        if slot >= self.slot_lane.shape[0]:
            grown = np.full(max(slot + 1, 2 * self.slot_lane.shape[0], 64), NONE, np.int64)
            grown[: self.slot_lane.shape[0]] = self.slot_lane
            self.slot_lane = grown
        self.slot_lane[slot] = lane
        self.dissectors[lane] = dissector
        self.endpoints[lane] = (dict(dissector.endpoints(0)), dict(dissector.endpoints(1)))
        self.client_dir[lane] = dissector.client_direction
        for j, ((tid, unit), (pdu, ts_ns, frame)) in enumerate(dissector.pending.items()):
            self.pend_tid[lane, j] = tid
            self.pend_unit[lane, j] = unit
            self.pend_fc[lane, j] = pdu.function_code
            self.pend_addr[lane, j] = NONE if pdu.address is None else pdu.address
            self.pend_qty[lane, j] = NONE if pdu.quantity is None else pdu.quantity
            self.pend_ts[lane, j] = ts_ns
            self.pend_frame[lane, j] = frame
        self.pend_n[lane] = len(dissector.pending)
        self.claims += 1
        return True

    def release(self, slot: int) -> None:
        lane = int(self.slot_lane[slot])
        if lane == NONE:
            return
        self.slot_lane[slot] = NONE
        dissector = self.dissectors[lane]
        assert dissector is not None
        pending = dissector.pending
        pending.clear()
        rows = zip(
            *(a[lane, : int(self.pend_n[lane])].tolist() for a in (
                self.pend_tid, self.pend_unit, self.pend_fc, self.pend_addr, self.pend_qty,
                self.pend_ts, self.pend_frame)),
            strict=True,
        )
        for tid, unit, fc, addr, qty, ts_ns, frame in rows:
            # The response side only reads the request's function code, address and quantity.
            pdu = Pdu(tid, unit, fc, address=None if addr == NONE else addr,
                      quantity=None if qty == NONE else qty)
            pending[(tid, unit)] = (pdu, ts_ns, frame)
        self.dissectors[lane] = None
        self.free.append(lane)
        self.releases += 1

    def _new_lane(self) -> int:
        if self.free:
            return self.free.pop()
        lane = self.lanes
        self.lanes += 1
        if lane >= self.pend_n.shape[0]:
            size = max(8, 2 * self.pend_n.shape[0])
            self.client_dir = _grow(self.client_dir, size)
            self.pend_n = _grow(self.pend_n, size)
            for name in ("pend_tid", "pend_unit", "pend_fc", "pend_addr", "pend_qty",
                         "pend_ts", "pend_frame"):
                setattr(self, name, _grow(getattr(self, name), size))
        self.dissectors.append(None)
        self.endpoints.append(({}, {}))
        return lane

    # ------------------------------------------------------------------ runs
    def run(self, payload: PayloadRun) -> npt.NDArray[np.bool_]:
        n = len(payload)
        accepted = np.zeros(n, dtype=np.bool_)
        if n == 0:
            return accepted
        lanes = self.slot_lane[payload.slot]
        if (lanes < 0).any():
            raise ValueError("payload of a flow this path has not claimed")
        rows = int(payload.length.sum()) // MIN_ADU + 1
        out: dict[str, npt.NDArray[Any]] = {
            "pkt": np.empty(rows, np.int64),
            "kind": np.empty(rows, np.int8),
            "tid": np.empty(rows, np.int64),
            "unit": np.empty(rows, np.int64),
            "fc": np.empty(rows, np.int64),
            "addr": np.empty(rows, np.int64),
            "qty": np.empty(rows, np.int64),
            "exc": np.empty(rows, np.int64),
            "matched": np.empty(rows, np.bool_),
            "req_frame": np.empty(rows, np.int64),
            "latency_ns": np.empty(rows, np.int64),
            "val_start": np.empty(rows, np.int64),
            "val_len": np.empty(rows, np.int64),
        }
        values = np.empty(min(8 * int(payload.length.sum()), rows * MAX_VALUES), np.uint16)
        nrow, nval = modbus_kernel(
            payload.buf, payload.start, payload.length, payload.ts_ns, payload.frame, lanes,
            payload.direction, payload.usable, self.client_dir,
            np.zeros(self.client_dir.shape[0], dtype=np.bool_),
            self.pend_n, self.pend_tid, self.pend_unit, self.pend_fc, self.pend_addr,
            self.pend_qty, self.pend_ts, self.pend_frame, PENDING_TIMEOUT_NS,
            accepted, out["pkt"], out["kind"], out["tid"], out["unit"], out["fc"], out["addr"],
            out["qty"], out["exc"], out["matched"], out["req_frame"], out["latency_ns"],
            out["val_start"], out["val_len"], values,
        )
        if nrow:
            self.messages += nrow
            self.sink(self._batch(payload, lanes, out, int(nrow), values[: int(nval)].copy()))
        return accepted

    def _batch(
        self,
        payload: PayloadRun,
        lanes: npt.NDArray[np.int64],
        out: dict[str, npt.NDArray[Any]],
        nrow: int,
        values: npt.NDArray[np.uint16],
    ) -> ModbusBatch:
        pkt = out.pop("pkt")[:nrow]
        columns = {name: col[:nrow].copy() for name, col in out.items()}
        row_lanes = lanes[pkt]
        present = np.zeros(self.client_dir.shape[0], dtype=np.bool_)
        present[row_lanes] = True
        uniq = np.flatnonzero(present)  # the lanes of this batch, numbered in lane order
        number = np.zeros(present.shape[0], dtype=np.int64)
        number[uniq] = np.arange(uniq.shape[0])
        flow = number[row_lanes]
        columns["ts_ns"] = payload.ts_ns[pkt]
        columns["frame"] = payload.frame[pkt]
        columns["flow"] = flow.astype(np.int64)
        columns["direction"] = payload.direction[pkt]
        endpoints = [self.endpoints[lane] for lane in uniq.tolist()]
        return ModbusBatch(columns, values, endpoints)


def _grow(a: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    grown = np.zeros((size, *a.shape[1:]), dtype=a.dtype)
    grown[: a.shape[0]] = a
    return grown
