"""Which dissectors exist, and which one gets a flow.

Built-ins are an explicit list; third parties register classes under the ``otsight.dissectors``
entry-point group. A flow goes to the dissector whose ``probe`` of its first payload scores
highest (a score is at most 1), with a bonus when the flow uses one of the dissector's standard
ports; below the threshold nobody claims it. So Modbus on port 5020 is found, and random bytes on
port 502 are not called Modbus.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from ..core.errors import NeedMoreData
from ..core.events import BaseEvent, Event, EventBatch
from ..core.plugins import BatchPath, FlowContext, FrameContext, StreamHandler
from .base import Dissector, FrameDissector

log = logging.getLogger(__name__)

PORT_BONUS = 0.25
MIN_DECISION_BYTES = 8
THRESHOLD = 0.6


def builtin_dissectors() -> list[type[Dissector]]:
    """The dissectors shipped with otsight (imported here, not at package import)."""
    from .bacnet.dissector import BacnetDissector
    from .cleartext.dissector import FtpDissector, TelnetDissector
    from .coap.dissector import CoapDissector
    from .dhcp.dissector import DhcpDissector, Dhcpv6Dissector
    from .dnp3.dissector import Dnp3Dissector, Dnp3UdpDissector
    from .dns.dissector import (
        DnsDissector,
        DnsTcpDissector,
        LlmnrDissector,
        LlmnrTcpDissector,
        MdnsDissector,
        NbnsDissector,
    )
    from .enip.dissector import EnipDissector, EnipUdpDissector
    from .http.dissector import HttpDissector
    from .iec104.dissector import Iec104Dissector
    from .modbus.dissector import ModbusDissector
    from .mqtt.dissector import MqttDissector
    from .opcua.dissector import OpcuaDissector
    from .s7comm.dissector import S7Dissector
    from .snmp.dissector import SnmpDissector
    from .ssdp.dissector import SsdpDissector
    from .ssh.dissector import SshDissector
    from .tls.dissector import TlsDissector

    return [
        ModbusDissector,
        Dnp3Dissector,
        Dnp3UdpDissector,
        S7Dissector,
        EnipDissector,
        EnipUdpDissector,
        BacnetDissector,
        Iec104Dissector,
        OpcuaDissector,
        MqttDissector,
        TlsDissector,
        SshDissector,
        DhcpDissector,
        Dhcpv6Dissector,
        DnsDissector,
        DnsTcpDissector,
        MdnsDissector,
        LlmnrDissector,
        LlmnrTcpDissector,
        NbnsDissector,
        SsdpDissector,
        HttpDissector,
        SnmpDissector,
        CoapDissector,
        TelnetDissector,
        FtpDissector,
    ]


def builtin_frame_dissectors() -> list[type[FrameDissector]]:
    """Link-layer dissectors shipped with otsight."""
    from .arp.dissector import ArpDissector
    from .cdp.dissector import CdpDissector
    from .dcp.dissector import DcpDissector
    from .lldp.dissector import LldpDissector

    return [ArpDissector, LldpDissector, CdpDissector, DcpDissector]


def plugin_dissectors() -> list[type[Dissector]]:
    found: list[type[Dissector]] = []
    for ep in entry_points(group="otsight.dissectors"):
        try:
            cls = ep.load()
        except Exception:
            log.exception("dissector plugin %s failed to load", ep.name)
            continue
        if isinstance(cls, type) and issubclass(cls, Dissector):
            found.append(cls)
        else:
            log.error("dissector plugin %s is not a Dissector subclass", ep.name)
    return found


class _Handler:
    """Adapts a dissector to the engine's StreamHandler contract and forwards its events."""

    __slots__ = ("batch_path", "dissector", "selector")

    def __init__(
        self, dissector: Dissector, selector: DissectorSelector, batch_path: BatchPath | None
    ) -> None:
        self.dissector = dissector
        self.selector = selector
        self.batch_path = batch_path  # the engine may hand the flow to it (core.plugins)

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> bool:
        dissector = self.dissector
        self.selector.emit(dissector.on_data(direction, data, ts_ns, frame))
        return dissector.done

    def on_gap(self, direction: int, nbytes: int, ts_ns: int) -> None:
        self.dissector.on_gap(direction, nbytes)

    def on_end(self, ts_ns: int) -> None:
        self.selector.emit(self.dissector.on_end(ts_ns))


class DissectorSelector:
    """A HandlerFactory: picks the dissector of each flow from its first payload."""

    def __init__(
        self,
        dissectors: Iterable[type[Dissector]],
        sink: Callable[[Event], None],
        threshold: float = THRESHOLD,
    ) -> None:
        self.sink = sink
        self.threshold = threshold
        self.by_transport: dict[str, list[type[Dissector]]] = {"tcp": [], "udp": []}
        for cls in dissectors:
            self.by_transport.setdefault(cls.transport, []).append(cls)
        self.flows: Counter[str] = Counter()  # flows claimed per dissector
        self.events: Counter[str] = Counter()  # events emitted per protocol
        self.probe_errors = 0
        self.batch_paths: dict[type[Dissector], BatchPath] = {}
        # Positions (in by_transport) of the dissectors of each standard port, and probe
        # orders per set of positions on the flow's ports (a handful: cached).
        self._port_ranks: dict[str, dict[int, tuple[int, ...]]] = {}
        for transport, listed in self.by_transport.items():
            ranks: dict[int, tuple[int, ...]] = {}
            for rank, cls in enumerate(listed):
                for port in cls.ports:
                    ranks[port] = (*ranks.get(port, ()), rank)
            self._port_ranks[transport] = ranks
        self._order: dict[
            tuple[str, tuple[int, ...]], tuple[tuple[int, type[Dissector], float, float], ...]
        ] = {}
        self._sink_batch: Callable[[EventBatch], None] | None = getattr(sink, "on_events", None)

    def __call__(
        self, flow: FlowContext, direction: int, first_data: bytes
    ) -> StreamHandler | None:
        transport = "tcp" if flow.proto == 6 else "udp" if flow.proto == 17 else None
        if transport is None:
            return None
        best: type[Dissector] | None = None
        best_score = 0.0
        best_rank = 0
        # Dissectors of the flow's ports first: once one scores more than another could (its
        # max_score, at most 1, plus its port bonus), that one need not be asked. Ties go to
        # the earlier dissector of the list, as if all had been asked in list order.
        for rank, cls, bonus, ceiling in self._candidates(
            transport, flow.orig_port, flow.resp_port
        ):
            if ceiling < best_score or (ceiling == best_score and rank > best_rank):
                continue
            try:
                score = cls.probe(first_data, direction)
            except Exception:
                self.probe_errors += 1
                log.exception("%s.probe failed", cls.__name__)
                continue
            if score <= 0:
                continue
            score = min(score, 1.0) + bonus
            if score > best_score or (score == best_score and rank < best_rank):
                best, best_score, best_rank = cls, score, rank
        if best is None or best_score < self.threshold:
            if len(first_data) < MIN_DECISION_BYTES:
                raise NeedMoreData  # a stray short segment: decide on the next payload
            return None
        self.flows[best.name] += 1
        return _Handler(best(flow), self, self._batch_path(best))

    def _candidates(
        self, transport: str, orig_port: int, resp_port: int
    ) -> tuple[tuple[int, type[Dissector], float, float], ...]:
        """(list position, class, port bonus, highest possible score) with the flow's port
        dissectors first."""
        ports = self._port_ranks.get(transport, {})
        # Keyed by the ranks as found (a handful of distinct tuples): no set built per flow.
        ranks = ports.get(resp_port, ()) + ports.get(orig_port, ())
        order = self._order.get((transport, ranks))
        if order is None:
            on_port = frozenset(ranks)
            listed = list(enumerate(self.by_transport.get(transport, [])))
            order = tuple(
                [(rank, cls, PORT_BONUS, _ceiling(cls) + PORT_BONUS)
                 for rank, cls in listed if rank in on_port]
                + [(rank, cls, 0.0, _ceiling(cls)) for rank, cls in listed if rank not in on_port]
            )
            self._order[(transport, ranks)] = order
        return order

    def send_to(self, sink: Callable[[Event], None]) -> None:
        """Events from now on go to ``sink`` (and its ``on_events``, if it has one)."""
        self.sink = sink
        self._sink_batch = getattr(sink, "on_events", None)

    def _batch_path(self, cls: type[Dissector]) -> BatchPath | None:
        """The class's own batch path (one per selector), never one inherited from a parent."""
        path = self.batch_paths.get(cls)
        if path is None:
            if "batch_path" not in cls.__dict__:
                return None
            path = cls.batch_path(self.emit_batch)
            if path is not None:
                self.batch_paths[cls] = path
        return path

    def emit(self, events: Iterable[Event]) -> None:
        for event in events:
            self.events[event.protocol] += 1
            self.sink(event)

    def emit_batch(self, batch: EventBatch) -> None:
        """Events of a batch path: whole to a sink that takes batches, else one by one."""
        self.events[batch.protocol] += len(batch)
        if self._sink_batch is not None:
            self._sink_batch(batch)
            return
        for event in batch.events():
            self.sink(event)  # type: ignore[arg-type]


def _ceiling(cls: type[Dissector]) -> float:
    return min(max(cls.max_score, 0.0), 1.0)


class FrameDispatcher:
    """A FrameHandler: gives each link-layer frame to the dissectors of its ethertype."""

    def __init__(
        self, dissectors: Iterable[type[FrameDissector]], sink: Callable[[BaseEvent], None]
    ) -> None:
        self.sink = sink
        self.by_type: dict[int, list[FrameDissector]] = {}
        for cls in dissectors:
            instance = cls()
            for ethertype in cls.ethertypes:
                self.by_type.setdefault(ethertype, []).append(instance)
        self.ethertypes = frozenset(self.by_type)
        self.events: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def on_frame(self, data: bytes, ctx: FrameContext) -> None:
        for dissector in self.by_type.get(ctx.ethertype, ()):
            try:
                for event in dissector.on_frame(data, ctx):
                    self.events[event.protocol] += 1
                    self.sink(event)
            except Exception:  # a broken dissector never stops the others: counted, logged
                self.errors[dissector.name] += 1
                if self.errors[dissector.name] <= 3:
                    log.exception("%s failed on frame %d", dissector.name, ctx.frame)
