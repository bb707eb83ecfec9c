"""The SNMP dissector (UDP): one event per datagram, responses paired with requests by id."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector
from .codes import (
    ERROR_STATUS,
    GENERIC_TRAPS,
    PDU_TYPES,
    REQUEST_PDUS,
    SECURITY_LEVELS,
    SECURITY_MODELS,
    VERSIONS,
    community_category,
    name,
)
from .events import SnmpMalformed, SnmpMessage
from .parser import looks_like_snmp, parse_message

MAX_PENDING = 1024
RESPONSE = 0xA2


class SnmpDissector(Dissector):
    name: ClassVar[str] = "snmp"
    transport: ClassVar[str] = "udp"
    ports: ClassVar[frozenset[int]] = frozenset({161, 162})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.pending: OrderedDict[int, str] = OrderedDict()

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_snmp(data)

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            msg = parse_message(data)
        except Malformed as exc:
            self.malformed += 1
            return (SnmpMalformed(**base, reason=str(exc), length=len(data)),)
        except Exception as exc:  # a datagram must never stop the flow
            self.malformed += 1
            return (SnmpMalformed(**base, reason=f"parser error: {exc!r}", length=len(data)),)
        pdu = msg.pdu
        extra: dict[str, Any] = {}
        if msg.version == 3:
            flags = msg.msg_flags or 0
            extra = {
                "msg_id": msg.msg_id,
                "user_name": msg.user_name,
                "security_level": name(SECURITY_LEVELS, flags & 0x03),
                "security_model": name(SECURITY_MODELS, msg.security_model or 0),
                "engine_id": msg.engine_id.hex() if msg.engine_id is not None else None,
                "context_name": msg.context_name,
                "encrypted": msg.encrypted,
            }
        key = pdu.request_id if pdu is not None else msg.msg_id
        matched: bool | None = None
        request_type: str | None = None
        if pdu is not None and pdu.pdu_tag in REQUEST_PDUS and key is not None:
            self.pending[key] = PDU_TYPES[pdu.pdu_tag]
            if len(self.pending) > MAX_PENDING:
                self.pending.popitem(last=False)
        elif pdu is not None and pdu.pdu_tag in (RESPONSE, 0xA8) and key is not None:
            request_type = self.pending.pop(key, None)
            matched = request_type is not None
        if pdu is None:
            return (
                SnmpMessage(
                    **base,
                    version=name(VERSIONS, msg.version),
                    pdu_type="encrypted",
                    community_present=False,
                    community_category=None,
                    request_id=None,
                    error_status=None,
                    error_index=None,
                    oids=(),
                    **extra,
                ),
            )
        present = msg.community is not None
        return (
            SnmpMessage(
                **base,
                version=name(VERSIONS, msg.version),
                pdu_type=PDU_TYPES[pdu.pdu_tag],
                community_present=present,
                community_category=community_category(msg.community)
                if msg.community is not None
                else None,
                request_id=pdu.request_id,
                error_status=name(ERROR_STATUS, pdu.error_status)
                if pdu.error_status is not None
                else None,
                error_index=pdu.error_index,
                oids=tuple(pdu.oids),
                enterprise=pdu.enterprise,
                generic_trap=name(GENERIC_TRAPS, pdu.generic_trap)
                if pdu.generic_trap is not None
                else None,
                specific_trap=pdu.specific_trap,
                matched=matched,
                request_pdu_type=request_type,
                sys_descr=pdu.system.get("sys_descr"),
                sys_object_id=pdu.system.get("sys_object_id"),
                sys_name=pdu.system.get("sys_name"),
                sys_location=pdu.system.get("sys_location"),
                sys_contact=pdu.system.get("sys_contact"),
                **extra,
            ),
        )
