"""facts_of: one table, subclasses resolved to their nearest listed base, every event class of
the protocol layer accounted for (a new class must be given a handler or listed here)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar

import otsight.protocols
from otsight.core.events import BaseEvent, Event, FrameEvent
from otsight.inventory.facts import HANDLERS, facts_of
from otsight.inventory.model import Activity
from otsight.protocols.modbus.events import ModbusRequest

# Event classes that reveal nothing the inventory keeps, and why.
NO_FACTS = {
    # input that does not decode
    "ArpMalformed", "BacnetMalformed", "CdpMalformed", "CoapMalformed", "DcpMalformed",
    "DhcpMalformed", "Dnp3Malformed", "DnsMalformed", "EnipMalformed", "HttpMalformed",
    "Iec104Malformed", "LldpMalformed", "ModbusMalformed", "MqttMalformed", "OpcuaMalformed",
    "S7Malformed", "SnmpMalformed", "SshMalformed", "SsdpMalformed", "TlsMalformed",
    # answers: roles come from requests, identity from the answers listed in HANDLERS
    "CipResponse", "CoapResponse", "Dnp3Response", "S7Response", "OpcuaError",
    # link bookkeeping and negotiation
    "Dnp3LinkFrame", "SshKexInit", "TlsServerHello", "TlsHandshake", "TlsAlert",
    # abstract bases (their concrete subclasses are handled)
    "S7Message", "S7JobFields", "CipMessage", "Dnp3Message", "ModbusMessage", "CoapMessage",
    "HttpEvent", "SshEvent", "SnmpEvent", "TlsEvent",
}  # fmt: skip


def _event_classes() -> set[type[BaseEvent]]:
    for info in pkgutil.walk_packages(otsight.protocols.__path__, "otsight.protocols."):
        importlib.import_module(info.name)
    found: set[type[BaseEvent]] = set()
    todo: list[type[BaseEvent]] = [Event, FrameEvent]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("otsight.protocols.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_event_class_is_handled_or_listed() -> None:
    classes = _event_classes()
    assert len(classes) > 60
    names = {c.__name__ for c in classes}
    assert names >= NO_FACTS, NO_FACTS - names  # the list names real classes
    resolved = {c.__name__ for c in classes if any(k in HANDLERS for k in c.__mro__)}
    unhandled = names - resolved - NO_FACTS
    assert not unhandled, f"event classes with no fact handler: {sorted(unhandled)}"
    assert not (NO_FACTS & {c.__name__ for c in HANDLERS}), "listed and handled"


class _VendorModbusRequest(ModbusRequest, frozen=True, kw_only=True):
    """A plugin's subclass: uses the Modbus request handler."""


class _Unknown(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "mystery"


def _ip_fields() -> dict[str, object]:
    return {
        "ts": 1.5, "frame": 3, "flow_id": 1, "src_ip": "192.0.2.20", "src_port": 40000,
        "dst_ip": "192.0.2.10", "dst_port": 502, "transport": "tcp",
    }  # fmt: skip


def test_subclass_resolves_to_its_base_and_unknown_gives_nothing() -> None:
    request = _VendorModbusRequest(
        **_ip_fields(), transaction_id=1, unit_id=1, function_code=6,  # type: ignore[arg-type]
        function="write-single-register",
    )  # fmt: skip
    (act,) = facts_of(request)
    assert isinstance(act, Activity)
    assert (act.category, act.client_ip, act.server_ip, act.server_port, act.frame) == (
        "write", "192.0.2.20", "192.0.2.10", 502, 3,
    )  # fmt: skip
    assert facts_of(_Unknown(**_ip_fields())) == ()  # type: ignore[arg-type]
    assert facts_of(BaseEvent(ts=0.0)) == ()
