"""OT command rules: engineering and state-changing commands, and masters never seen before.

``ot-commands`` flags every request of :mod:`ot_catalog` (PLC stop/start, program download
and upload, firmware, configuration changes, restarts, DNP3 application/file functions, Modbus
diagnostics and listen-only, BACnet reinitialize and DCC, IEC 104 reset process), whoever sends
it: these are rare in operation and each one changes what the plant does.

``unknown-master`` learns, per server and protocol, the clients that talk to it during a
warm-up that starts with the server's first request (packet time). After the warm-up, a write
from a client not learned is an unauthorised command (T0855) and an identification request from
one is remote system information discovery (T0888). Clients first seen after the warm-up are
not learned: every write of theirs is reported (the deduplicator folds the repeats) until the
learned baseline (next increment) or an analyst accepts them; ``PeerBaseline`` is that hook.

Both take compiled Modbus batches whole (``on_event_batch``): they read the function codes and
endpoints off the columns and build events only for the rows that can raise an alert, with the
same alerts, in the same order, and the same learning as event by event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ...alerts.model import Alert
from ...core.events import BaseEvent, Event, EventBatch
from ...protocols.modbus.batch import ModbusBatch
from ...protocols.modbus.events import ModbusRequest
from ...protocols.modbus.kernel import REQUEST
from ..alerting import event_alert, protocol_name
from ..base import Detector, DetectorOptions
from .ot_catalog import (
    COMMAND_EVENTS,
    MODBUS_COMMAND_CODES,
    MODBUS_WRITE_OR_IDENTIFY_CODES,
    REQUEST_EVENTS,
    command_of,
    is_identification,
    is_request,
)
from .ot_catalog import is_write as catalog_is_write


class OtCommandOptions(DetectorOptions):
    ignore_kinds: frozenset[str] = Field(
        default=frozenset(), description="alert kinds not to raise (e.g. modbus-diagnostics)"
    )


class OtCommandDetector(Detector[OtCommandOptions]):
    """Engineering and state-changing commands on OT protocols."""

    name: ClassVar[str] = "ot-commands"
    description: ClassVar[str] = (
        "PLC stop/start, program download/upload, firmware, configuration, restarts, "
        "diagnostics and other state-changing OT commands"
    )
    Options = OtCommandOptions
    event_types = COMMAND_EVENTS
    sees_every_poll = False  # commands are never plain reads
    batch_types: ClassVar[tuple[type[EventBatch], ...]] = (ModbusBatch,)

    def on_event_batch(
        self, batch: EventBatch, summary: bool = False
    ) -> Iterator[tuple[int, Alert]]:
        """Only requests whose function code can be a command are built and judged (the
        summary keeps every request that is not a read: a batch without any needs none)."""
        if not isinstance(batch, ModbusBatch):
            yield from super().on_event_batch(batch, summary)
            return
        rows = _modbus_requests_with(batch, MODBUS_COMMAND_CODES)
        if not rows.shape[0]:
            return
        if summary:
            batch = batch.summary()
            rows = _modbus_requests_with(batch, MODBUS_COMMAND_CODES)
        for row, event in zip(rows.tolist(), batch.events_at(rows), strict=True):
            for alert in self.on_event(event):
                yield row, alert

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        cmd = command_of(event)
        if cmd is None or cmd.kind in self.options.ignore_kinds:
            return ()
        if not isinstance(event, Event):
            return ()
        actor, target = (event.dst_ip, event.src_ip) if cmd.reverse else (
            event.src_ip, event.dst_ip
        )
        protocol = protocol_name(type(event).protocol)
        title = f"{cmd.title[0].upper()}{cmd.title[1:]} sent by {actor} to {target} ({protocol})"
        explanation = (
            f"{actor} sent {protocol} '{event.action}' to {target}"
            + (f" ({cmd.detail})" if cmd.detail else "")
            + f": {cmd.why}."
        )
        return (
            event_alert(
                self.name, cmd.kind, event, severity=cmd.severity, title=title,
                explanation=explanation, technique_id=cmd.technique_id, detail=cmd.detail,
                reverse=cmd.reverse,
            ),
        )


def _modbus_requests_with(batch: ModbusBatch, codes: frozenset[int]) -> npt.NDArray[np.int64]:
    """Rows of the requests of ``batch`` with one of the function ``codes`` (a few)."""
    fc = batch.columns["fc"]
    found = np.zeros(fc.shape, np.bool_)
    for code in codes:  # (cheaper than np.isin for a few codes)
        found |= fc == code
    if not found.any():
        return np.flatnonzero(found)
    return np.flatnonzero(found & (batch.columns["kind"] == REQUEST))


class PeerBaseline(Protocol):
    """What the learned baseline will answer: is ``client`` a known master of ``server``?
    None: the baseline has no opinion (still learning), the warm-up decides."""

    def knows(self, server: str, client: str, protocol: str) -> bool | None: ...


class UnknownMasterOptions(DetectorOptions):
    warmup_s: float = Field(
        default=5.0,
        ge=0.0,
        description="seconds of packet time after a server's first request during which every "
        "client of it is learned as a known master (a few polling cycles)",
    )
    max_servers: int = Field(default=100_000, ge=1, description="memory bound")
    max_clients_per_server: int = Field(default=1024, ge=1, description="memory bound")
    report_identification: bool = Field(
        default=True, description="also report identification requests from unknown clients"
    )


class _Server:
    __slots__ = ("first_ts", "known")

    def __init__(self, first_ts: float, client: str) -> None:
        self.first_ts = first_ts
        self.known = {client}


class UnknownMasterDetector(Detector[UnknownMasterOptions]):
    """Writes (and identification requests) from clients a server never had."""

    name: ClassVar[str] = "unknown-master"
    description: ClassVar[str] = (
        "writes and identification requests from a master never seen talking to that server"
    )
    Options = UnknownMasterOptions
    event_types = REQUEST_EVENTS
    sees_every_poll = False  # reads only teach who polls whom: the first of a batch says it
    batch_types: ClassVar[tuple[type[EventBatch], ...]] = (ModbusBatch,)

    def __init__(
        self, options: UnknownMasterOptions | None = None, baseline: PeerBaseline | None = None
    ) -> None:
        super().__init__(options)
        self.baseline = baseline
        self._servers: dict[tuple[str, str], _Server] = {}
        self.dropped = 0  # servers or clients not tracked because a memory bound was reached

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        if not isinstance(event, Event) or not is_request(event):
            return ()
        slug = type(event).protocol
        if self._known(event.dst_ip, event.src_ip, slug, event.ts):
            return ()
        return self._unknown(event, slug)

    def on_event_batch(
        self, batch: EventBatch, summary: bool = False
    ) -> Iterator[tuple[int, Alert]]:
        """Each request is learned from in order, as an event would be, but from the columns:
        a flow direction whose client its server already knows teaches nothing more and is
        passed over (without a baseline, known clients stay known), and an event is built only
        for an unknown client's write or identification request. The summary keeps requests of
        every flow direction that sends any: when the whole batch has none to learn from, it
        has none either."""
        if not isinstance(batch, ModbusBatch):
            yield from super().on_event_batch(batch, summary)
            return
        slug = ModbusRequest.protocol
        peers = self._peers(batch, slug)
        if not peers:
            return  # (the usual batch: polling among known peers)
        if summary:
            batch = batch.summary()
        c = batch.columns
        rows = np.flatnonzero(c["kind"] == REQUEST)
        sides = c["flow"][rows] * 2 + c["direction"][rows]
        keep = np.zeros(2 * len(batch.endpoints), np.bool_)
        keep[list(peers)] = True
        keep = keep[sides]
        rows, sides = rows[keep], sides[keep]
        notable = []
        for row, side, ts_ns, fc in zip(rows.tolist(), sides.tolist(),
                                         c["ts_ns"][rows].tolist(), c["fc"][rows].tolist(),
                                         strict=True):
            server, client = peers[side]
            # (ts as the event would have it)
            if not self._known(server, client, slug, ts_ns / 1e9) and (
                fc in MODBUS_WRITE_OR_IDENTIFY_CODES
            ):
                notable.append(row)
        picked = np.array(notable, np.int64)
        for row, event in zip(notable, batch.events_at(picked), strict=True):
            for alert in self._unknown(event, slug):
                yield row, alert

    def _peers(self, batch: ModbusBatch, slug: str) -> dict[int, tuple[str, str]]:
        """(server, client) of each flow direction (``2 * flow + direction``) that sends
        requests in ``batch``, but those whose server knows the client already."""
        c = batch.columns
        endpoints = batch.endpoints
        requests = np.bincount(  # per flow direction (counting is cheaper than a gather)
            c["flow"] * 2 + c["direction"], c["kind"] == REQUEST, 2 * len(endpoints))
        peers = {}
        servers = None if self.baseline is not None else self._servers
        for side in np.flatnonzero(requests).tolist():
            ends = endpoints[side >> 1][side & 1]
            server, client = ends["dst_ip"], ends["src_ip"]
            if servers is not None:
                state = servers.get((server, slug))
                if state is not None and client in state.known:
                    continue  # known stays known: nothing to learn, nothing to report
            peers[side] = (server, client)
        return peers

    def _unknown(self, event: Event, slug: str) -> tuple[Alert, ...]:
        """What a request from a client its server does not know raises."""
        if catalog_is_write(event):
            return (self._write_alert(event, protocol_name(slug)),)
        if self.options.report_identification and is_identification(event):
            return (self._identification_alert(event, protocol_name(slug)),)
        return ()

    def _known(self, server: str, client: str, protocol: str, ts: float) -> bool:
        if self.baseline is not None:
            verdict = self.baseline.knows(server, client, protocol)
            if verdict is not None:
                return verdict
        key = (server, protocol)
        state = self._servers.get(key)
        if state is None:
            if len(self._servers) >= self.options.max_servers:
                self.dropped += 1
                return True
            self._servers[key] = _Server(ts, client)
            return True
        if client in state.known:
            return True
        if ts - state.first_ts <= self.options.warmup_s:
            if len(state.known) < self.options.max_clients_per_server:
                state.known.add(client)
            else:
                self.dropped += 1
            return True
        return False

    def _write_alert(self, event: Event, protocol: str) -> Alert:
        what = _describe(event)
        return event_alert(
            self.name, "unknown-master-write", event, severity="high",
            title=f"{protocol} write to {event.dst_ip} from {event.src_ip}, "
            "a master never seen before",
            explanation=(
                f"{event.src_ip} sent {protocol} '{event.action}'{what} to {event.dst_ip}, which "
                "had other masters but never this one: a rogue master (T0848) changing process "
                "values or outputs."
            ),
            technique_id="T0855", detail=what.strip(" ()"),
        )

    def _identification_alert(self, event: Event, protocol: str) -> Alert:
        return event_alert(
            self.name, "unknown-client-discovery", event, severity="medium",
            title=f"{protocol} device identification of {event.dst_ip} by {event.src_ip}, "
            "a client never seen before",
            explanation=(
                f"{event.src_ip} asked {event.dst_ip} who it is ({protocol} '{event.action}'), "
                "never having talked to it: vendor, model and firmware are what an attacker "
                "looks up before choosing an exploit."
            ),
            technique_id="T0888", detail=event.action,
        )


def _describe(event: Event) -> str:
    """A short " (address 2 = 100)" for writes whose target is known."""
    address = getattr(event, "address", None)
    values = getattr(event, "values", None)
    if isinstance(address, int):
        shown = ""
        if isinstance(values, tuple) and values:
            shown = " = " + ",".join(str(v) for v in values[:8]) + (
                "..." if len(values) > 8 else ""
            )
        return f" (address {address}{shown})"
    return ""
