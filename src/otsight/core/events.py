"""Events: what the protocol layer tells the rest of otsight.

Every event is a frozen dataclass carrying the capture time of the packet that completed it,
the flow it belongs to and its endpoints, oriented as the message travelled. Subclasses add the
protocol's fields with spelled-out snake_case names and declare their ECS-style names once
(:meth:`Event.ecs`), so every sink writes the same schema.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseEvent:
    """What every event has: the protocol, the capture time and the frame that completed it."""

    protocol: ClassVar[str] = "unknown"  # ``event.module``: the protocol slug
    ts: float  # capture time, epoch seconds
    frame: int = 0  # frame number of the packet that completed the message (0 if unknown)

    @property
    def action(self) -> str:
        """``event.action``: the operation, e.g. ``read-holding-registers``."""
        return type(self).__name__

    def fields(self) -> dict[str, Any]:
        """The protocol-specific fields (everything the base classes do not define)."""
        return {name: getattr(self, name) for name in _specific_names(type(self))}

    def ecs(self) -> dict[str, Any]:
        """One JSON-ready document with ECS names; protocol fields under ``<protocol>.*``."""
        stamp = _dt.datetime.fromtimestamp(self.ts, tz=_dt.UTC)
        doc: dict[str, Any] = {
            "@timestamp": stamp.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "event": {
                "module": self.protocol,
                "dataset": f"{self.protocol}.{_kind(type(self))}",
                "action": self.action,
            },
            "otsight": {"frame": self.frame, "ts": self.ts},
        }
        self._ecs_endpoints(doc)
        specific = {}
        for name in _specific_names(type(self)):
            value = getattr(self, name)
            if value is not None:
                specific[name] = _jsonable(value) if isinstance(value, bytes | dict) else value
        if specific:
            doc[self.protocol] = specific
        return doc

    def _ecs_endpoints(self, doc: dict[str, Any]) -> None:
        """Add who talked to whom (subclasses know how)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(BaseEvent):
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


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameEvent(BaseEvent):
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


_NAMES: dict[type, tuple[str, ...]] = {}
_KINDS: dict[type, str] = {}


def _specific_names(cls: type[BaseEvent]) -> tuple[str, ...]:
    """Field names a subclass adds to Event (cached per class: asked once per event)."""
    names = _NAMES.get(cls)
    if names is None:
        base = {
            f.name for k in (BaseEvent, Event, FrameEvent) for f in dataclasses.fields(k)
        }
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in base)
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
