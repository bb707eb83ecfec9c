"""Modbus events of the compiled path, as columns; objects or ECS documents on demand.

Counting polls needs no objects, and writing them needs no objects either: :meth:`ecs_docs`
builds the same documents as :meth:`ModbusRequest.ecs` straight from the columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ...core.events import EventBatch, utc_stamps
from .codes import exception_name, function_name
from .events import ModbusMessage, ModbusRequest, ModbusResponse
from .kernel import NONE, REQUEST

I64 = npt.NDArray[np.int64]
Endpoints = dict[str, Any]  # Dissector.endpoints(direction): flow_id, addresses, ports


class ModbusBatch(EventBatch):
    """Requests and responses in packet order (per row: one ADU)."""

    protocol = "modbus"
    event_types = (ModbusRequest, ModbusResponse)

    def __init__(
        self,
        columns: dict[str, npt.NDArray[Any]],
        values: npt.NDArray[np.uint16],
        endpoints: list[tuple[Endpoints, Endpoints]],
    ) -> None:
        super().__init__()
        self.columns = columns  # kind ts_ns frame flow direction tid unit fc addr qty exc
        self.values = values  # matched req_frame latency_ns val_start val_len (see kernel)
        self.endpoints = endpoints  # per flow index: the endpoints of direction 0 and 1
        self._summary: ModbusBatch | None = None

    def __len__(self) -> int:
        return int(self.columns["kind"].shape[0])

    def subset(self, rows: npt.NDArray[np.int64]) -> ModbusBatch:
        """The given rows only, in order, with their own register values (endpoints are
        shared): a summary of a few rows must not drag the whole batch's values along."""
        columns = {name: col[rows] for name, col in self.columns.items()}
        length = columns["val_len"]
        present = length != NONE
        if not present.any():  # no register values (reads): nothing to gather or renumber
            return ModbusBatch(columns, self.values[:0], self.endpoints)
        counts = np.where(present, length, 0)
        starts = np.cumsum(counts) - counts  # where each row's values go in the new array
        total = int(counts.sum())
        gather = np.repeat(columns["val_start"] - starts, counts) + np.arange(total)
        columns["val_start"] = np.where(present, starts, columns["val_start"]).astype(
            columns["val_start"].dtype
        )
        return ModbusBatch(columns, self.values[gather], self.endpoints)

    @classmethod
    def merged(cls, batches: Sequence[EventBatch]) -> ModbusBatch:
        """The rows of several batches in packet order, as one path's run would have made
        them: each flow keeps its own endpoints and each row its own register values."""
        parts = [b for b in batches if isinstance(b, ModbusBatch)]
        if len(parts) != len(batches):
            raise TypeError("only Modbus batches merge into a Modbus batch")
        columns: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in parts[0].columns}
        endpoints: list[tuple[Endpoints, Endpoints]] = []
        values_seen = 0
        for part in parts:
            for name, col in part.columns.items():
                if name == "flow":  # indices into the joined endpoints
                    shifted = col + len(endpoints)
                elif name == "val_start":  # offsets into the joined values
                    shifted = np.where(part.columns["val_len"] != NONE, col + values_seen, col)
                else:
                    shifted = col
                columns[name].append(shifted)
            endpoints += part.endpoints
            values_seen += int(part.values.shape[0])
        joined = {name: np.concatenate(cols) for name, cols in columns.items()}
        order = np.argsort(joined["frame"], kind="stable")  # each part is in packet order
        return ModbusBatch(
            {name: col[order].astype(cols[0].dtype) for (name, col), cols in
             zip(joined.items(), columns.values(), strict=True)},
            np.concatenate([part.values for part in parts]),
            endpoints,
        )

    def polling_summary(self) -> npt.NDArray[np.int64]:
        """Rows that say all a rule needs of polling: every request that is not a plain read
        (FC 1-4), and the first read request of each flow direction in the batch (who polls
        whom). Responses are left out."""
        c = self.columns
        req = c["kind"] == REQUEST
        fc = c["fc"]
        reads = req & (fc >= 1) & (fc <= 4)
        keep = req ^ reads  # the requests that are not reads
        idx = np.flatnonzero(reads)
        if idx.shape[0]:
            # first read per flow direction: flows index ``endpoints``, so a small table
            # takes the place of a sort
            n = int(req.shape[0])
            first = np.full(2 * len(self.endpoints), n, np.int64)
            np.minimum.at(first, c["flow"][idx] * 2 + c["direction"][idx], idx)
            keep[first[first < n]] = True
        return np.flatnonzero(keep)

    def summary(self) -> ModbusBatch:
        """The rows of :meth:`polling_summary` (built once: several consumers may ask)."""
        if self._summary is None:
            self._summary = self.subset(self.polling_summary())
        return self._summary

    def events_at(self, rows: npt.NDArray[np.int64]) -> Sequence[ModbusMessage]:
        """``[self.events()[r] for r in rows]``, building the events of those rows only (a
        detector that reads the columns needs objects for the few rows it reports)."""
        if self._events is not None:
            events = self._events
            return [events[r] for r in rows.tolist()]
        if not rows.shape[0]:
            return []
        return self.subset(rows)._materialise()

    def _rows(self) -> tuple[list[Any], ...]:
        c = self.columns
        names = ("kind", "ts_ns", "frame", "flow", "direction", "tid", "unit", "fc", "addr",
                 "qty", "exc", "matched", "req_frame", "latency_ns", "val_start", "val_len")
        return tuple(c[name].tolist() for name in names)

    def _materialise(self) -> Sequence[ModbusMessage]:
        out: list[ModbusMessage] = []
        values = self.values.tolist()
        names: dict[int, str] = {}
        for (kind, ts_ns, frame, flow, direction, tid, unit, fc, addr, qty, exc, matched,
             req_frame, latency_ns, val_start, val_len) in zip(*self._rows(), strict=True):
            name = names.get(fc)
            if name is None:
                name = names[fc] = function_name(fc)
            fields: dict[str, Any] = {
                "ts": ts_ns / 1e9,
                "frame": frame,
                **self.endpoints[flow][direction],
                "transaction_id": tid,
                "unit_id": unit,
                "function_code": fc,
                "function": name,
                "address": None if addr == NONE else addr,
                "quantity": None if qty == NONE else qty,
                "values": None if val_len == NONE else tuple(values[val_start:val_start + val_len]),
            }
            if kind == REQUEST:
                out.append(ModbusRequest(**fields))
                continue
            if exc != NONE:
                fields["exception_code"] = exc
                fields["exception"] = exception_name(exc)
            if matched:
                fields["matched"] = True
                fields["request_frame"] = req_frame
                fields["latency"] = latency_ns / 1e9
            out.append(ModbusResponse(**fields))
        return out

    def ecs_docs(self, shared: bool = False) -> Iterator[dict[str, Any]]:
        """The documents ``e.ecs() for e in self`` gives, without building the events.

        With ``shared``, the parts that only depend on the flow, its direction and the
        function (``event``, ``source``, ``destination``, ``network``) are one object each.
        """
        values = self.values.tolist()
        stamps = utc_stamps(self.columns["ts_ns"])
        events: dict[tuple[int, int], dict[str, str]] = {}
        places: dict[tuple[int, int], tuple[dict[str, Any], ...]] = {}
        for (stamp, kind, ts_ns, frame, flow, direction, tid, unit, fc, addr, qty, exc,
             matched, req_frame, latency_ns, val_start, val_len) in zip(
                 stamps, *self._rows(), strict=True):
            event = events.get((kind, fc))
            if event is None:
                event = events[(kind, fc)] = {
                    "module": "modbus",
                    "dataset": "modbus.modbus_request" if kind == REQUEST
                    else "modbus.modbus_response",
                    "action": function_name(fc),
                }
            place = places.get((flow, direction))
            if place is None:
                ep = self.endpoints[flow][direction]
                place = places[(flow, direction)] = (
                    {"ip": ep["src_ip"], "port": ep["src_port"]},
                    {"ip": ep["dst_ip"], "port": ep["dst_port"]},
                    {"transport": ep["transport"], "protocol": "modbus"},
                    ep,
                )
            source, destination, network, ep = place
            if not shared:
                event, source, destination, network = (
                    dict(event), dict(source), dict(destination), dict(network))
            ts = ts_ns / 1e9
            specific: dict[str, Any] = {
                "transaction_id": tid,
                "unit_id": unit,
                "function_code": fc,
                "function": event["action"],
            }
            if addr != NONE:
                specific["address"] = addr
            if qty != NONE:
                specific["quantity"] = qty
            if val_len != NONE:
                specific["values"] = tuple(values[val_start:val_start + val_len])
            if kind != REQUEST:
                if exc != NONE:
                    specific["exception_code"] = exc
                    specific["exception"] = exception_name(exc)
                specific["matched"] = bool(matched)
                if matched:
                    specific["request_frame"] = req_frame
                    specific["latency"] = latency_ns / 1e9
            yield {
                "@timestamp": stamp,
                "event": event,
                "otsight": {"frame": frame, "ts": ts, "flow_id": ep["flow_id"]},
                "source": source,
                "destination": destination,
                "network": network,
                "modbus": specific,
            }
