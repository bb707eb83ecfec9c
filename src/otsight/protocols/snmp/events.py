"""SNMP events: one per message, plus the inventory strings a response carried."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class SnmpEvent(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "snmp"


class SnmpMessage(SnmpEvent, frozen=True, kw_only=True):
    """One SNMP message. The community string itself is never kept: only whether one was
    present and its category (``default-read``/``default-write``/``well-known``/``custom``)."""

    version: str  # "v1" | "v2c" | "v3"
    pdu_type: str  # "get-request", ..., "report", or "encrypted" (v3 authPriv)
    community_present: bool
    community_category: str | None
    request_id: int | None
    error_status: str | None
    error_index: int | None
    oids: tuple[str, ...]
    # in responses / traps: the system group, as strings (for the inventory)
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_name: str | None = None
    sys_location: str | None = None
    sys_contact: str | None = None
    # SNMPv1 traps
    enterprise: str | None = None
    generic_trap: str | None = None
    specific_trap: int | None = None
    # SNMPv3
    msg_id: int | None = None
    user_name: str | None = None
    security_level: str | None = None
    security_model: str | None = None
    engine_id: str | None = None  # hex
    context_name: str | None = None
    encrypted: bool = False
    # pairing of responses with requests (by request id, then v3 msgID)
    matched: bool | None = None  # None: not a response
    request_pdu_type: str | None = None

    @property
    def action(self) -> str:
        return self.pdu_type


class SnmpMalformed(SnmpEvent, frozen=True, kw_only=True):
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
