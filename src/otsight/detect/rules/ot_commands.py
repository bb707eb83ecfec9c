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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Protocol

from pydantic import Field

from ...alerts.model import Alert
from ...core.events import BaseEvent, Event
from ..alerting import event_alert, protocol_name
from ..base import Detector, DetectorOptions
from .ot_catalog import COMMAND_EVENTS, REQUEST_EVENTS, command_of, is_identification, is_request
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
