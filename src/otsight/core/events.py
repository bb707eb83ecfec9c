"""Events: what the protocol layer tells the rest of otsight.

Every event is a frozen, keyword-only ``msgspec.Struct`` carrying the capture time of the packet
that completed it, the flow it belongs to and its endpoints, oriented as the message travelled.
Subclasses add the protocol's fields with spelled-out snake_case names and declare their
ECS-style names once (:meth:`Event.ecs`), so every sink writes the same schema.

Why Struct and not a frozen dataclass: a capture makes hundreds of thousands of events, and a
Struct is built in C (about 0.2 us against 2.5 us for a frozen, slotted dataclass of the same
fields) and its class in about 0.1 ms against 1.5 ms (there are some 90 event classes, all
created at start-up). Equality, hashing, ``repr`` and pickling behave as a dataclass's do.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import msgspec
import numpy as np
import numpy.typing as npt


class BaseEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What every event has: the protocol, the capture time and the frame that completed it.

    Subclasses repeat ``frozen=True, kw_only=True``: msgspec applies ``kw_only`` per class (a
    class without it would take its own fields positionally), and mypy reads ``frozen`` per
    class. ``gc=False``: an event holds values, tuples and dicts of values, never itself, so it
    can make no reference cycle; leaving events out of the cycle collector's walk saves its time
    on big captures.
    """

    protocol: ClassVar[str] = "unknown"  # ``event.module``: the protocol slug
    # ``event.action`` of every event of a class whose operation is fixed ("malformed",
    # "client-hello"); a class whose operation depends on its fields overrides ``action``.
    action_name: ClassVar[str] = ""
    ts: float  # capture time, epoch seconds
    frame: int = 0  # frame number of the packet that completed the message (0 if unknown)

    @property
    def action(self) -> str:
        """``event.action``: the operation, e.g. ``read-holding-registers``.

        The class's ``action_name`` when it declares one, else the class name.
        """
        return self.action_name or type(self).__name__

    def fields(self) -> dict[str, Any]:
        """The protocol-specific fields (everything the base classes do not define)."""
        return {name: getattr(self, name) for name in _specific_names(type(self))}

    def ecs(self) -> dict[str, Any]:
        """One JSON-ready document with ECS names; protocol fields under ``<protocol>.*``."""
        cls = type(self)
        doc: dict[str, Any] = {
            "@timestamp": utc_stamp(self.ts),
            "event": {
                "module": self.protocol,
                "dataset": _DATASETS.get(cls) or _dataset(cls),
                "action": self.action,
            },
            "otsight": {"frame": self.frame, "ts": self.ts},
        }
        self._ecs_endpoints(doc)
        specific = {}
        for name in _NAMES.get(cls) or _specific_names(cls):
            value = getattr(self, name)
            if value is not None:
                specific[name] = _jsonable(value) if isinstance(value, _CONVERTED) else value
        if specific:
            doc[self.protocol] = specific
        return doc

    def _ecs_endpoints(self, doc: dict[str, Any]) -> None:
        """Add who talked to whom (subclasses know how)."""


class Event(BaseEvent, frozen=True, kw_only=True):
    """An event of an IP flow (TCP stream or UDP datagrams), oriented as the message travelled."""

    flow_id: int
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    transport: str  # "tcp" | "udp"

    def _ecs_endpoints(self, doc: dict[str, Any]) -> None:
        doc["source"] = {"ip": self.src_ip, "port": self.src_port}
        doc["destination"] = {"ip": self.dst_ip, "port": self.dst_port}
        doc["network"] = {"transport": self.transport, "protocol": self.protocol}
        doc["otsight"]["flow_id"] = self.flow_id


class FrameEvent(BaseEvent, frozen=True, kw_only=True):
    """An event of a link-layer frame outside IP flows (ARP, LLDP, CDP, Profinet DCP)."""

    src_mac: str
    dst_mac: str
    vlan: int | None = None

    def _ecs_endpoints(self, doc: dict[str, Any]) -> None:
        doc["source"] = {"mac": self.src_mac}
        doc["destination"] = {"mac": self.dst_mac}
        doc["network"] = {"protocol": self.protocol}
        if self.vlan:
            doc["network"]["vlan"] = {"id": self.vlan}


class EventBatch:
    """Many events of one protocol, held as columns and turned into objects only on demand.

    A compiled fast path (e.g. Modbus polling) produces its events this way: counting them, or
    writing them (:meth:`ecs_docs`), need not build one object per message. Subclasses
    implement :meth:`_materialise` and may override :meth:`ecs_docs` with a columnar version
    that yields the same documents as the events' :meth:`BaseEvent.ecs`.
    """

    protocol: str = "unknown"
    # The event classes the batch may hold (what a consumer routes on without building them).
    event_types: tuple[type[BaseEvent], ...] = ()

    def __init__(self) -> None:
        self._events: Sequence[BaseEvent] | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def __iter__(self) -> Iterator[BaseEvent]:
        return iter(self.events())

    def events(self) -> Sequence[BaseEvent]:
        """The events as objects, in order (built once, then cached)."""
        if self._events is None:
            self._events = self._materialise()
        return self._events

    def _materialise(self) -> Sequence[BaseEvent]:
        raise NotImplementedError

    @classmethod
    def merged(cls, batches: Sequence[EventBatch]) -> EventBatch | None:
        """One batch of the events of ``batches`` (all of this class) in packet order, or None
        if the class cannot join batches (a sharded run then hands their events over one by
        one: pipeline.shards)."""
        return None

    def summary(self) -> EventBatch:
        """The events that say all a consumer needs that does not look at every repeated
        message (polling reads after the first): the whole batch unless a subclass knows
        better."""
        return self

    def ecs_docs(self, shared: bool = False) -> Iterable[dict[str, Any]]:
        """One ECS document per event, in order (as ``e.ecs() for e in self``).

        With ``shared``, documents may share nested parts that are the same for many of them
        (e.g. the endpoints of a flow): for a writer that serialises them at once, never for
        code that changes documents.
        """
        return (e.ecs() for e in self.events())


_SECONDS: dict[int, str] = {}
_MAX_SECONDS_CACHED = 4096
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59


def utc_stamp(ts: float) -> str:
    """``ts`` as ISO 8601 UTC with microseconds and a ``Z`` (``2026-01-01T00:00:05.250000Z``).

    The same text as ``datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")``
    (whose microseconds are the fraction rounded half-to-even), at a fraction of the cost: the
    date and time of each second are formatted once. Writing events calls this once per event.
    """
    if not 0 <= ts < _LAST_SECOND:
        stamp = _dt.datetime.fromtimestamp(ts, tz=_dt.UTC)
        return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
    frac, whole = math.modf(ts)
    second = int(whole)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        second += 1
    prefix = _SECONDS.get(second)
    if prefix is None:
        if len(_SECONDS) >= _MAX_SECONDS_CACHED:
            _SECONDS.clear()
        stamp = _dt.datetime.fromtimestamp(second, tz=_dt.UTC)
        prefix = _SECONDS[second] = stamp.isoformat(timespec="seconds").replace("+00:00", "")
    return f"{prefix}.{micros:06d}Z"


def utc_stamps(ts_ns: npt.NDArray[np.int64]) -> list[str]:
    """:func:`utc_stamp` of ``ts_ns / 1e9`` for a whole column at once (same text)."""
    ts = ts_ns / 1e9
    if ts.size == 0 or not (ts.min() >= 0 and ts.max() < _LAST_SECOND):
        return [utc_stamp(t) for t in ts.tolist()]
    frac, whole = np.modf(ts)
    micros = np.rint(frac * 1e6).astype(np.int64)  # half to even, as datetime rounds
    seconds = whole.astype(np.int64)
    carry = micros >= 1_000_000
    micros[carry] -= 1_000_000
    seconds[carry] += 1
    stamps = np.datetime_as_string((seconds * 1_000_000 + micros).astype("datetime64[us]"))
    return [f"{stamp}Z" for stamp in stamps.tolist()]


_NAMES: dict[type, tuple[str, ...]] = {}
_KINDS: dict[type, str] = {}
_DATASETS: dict[type, str] = {}
_CONVERTED = (bytes, dict)  # values _jsonable rewrites (hex strings, string keys)


def _dataset(cls: type[BaseEvent]) -> str:
    """``event.dataset``: ``modbus.modbus_request`` (cached per class)."""
    dataset = _DATASETS[cls] = f"{cls.protocol}.{_kind(cls)}"
    return dataset


def _specific_names(cls: type[BaseEvent]) -> tuple[str, ...]:
    """Field names a subclass adds to Event (cached per class: asked once per event)."""
    names = _NAMES.get(cls)
    if names is None:
        base = {*BaseEvent.__struct_fields__, *Event.__struct_fields__}
        base.update(FrameEvent.__struct_fields__)
        names = tuple(name for name in cls.__struct_fields__ if name not in base)
        _NAMES[cls] = names
    return names


def _kind(cls: type[BaseEvent]) -> str:
    """``ModbusRequest`` -> ``modbus_request`` (cached per class)."""
    kind = _KINDS.get(cls)
    if kind is None:
        name = cls.__name__
        out = [name[0].lower()]
        for ch in name[1:]:
            out.append("_" + ch.lower() if ch.isupper() else ch)
        kind = _KINDS[cls] = "".join(out)
    return kind


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
