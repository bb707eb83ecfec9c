"""DNS-family events: one per message (query or response), per protocol slug."""

from __future__ import annotations

from typing import Any, ClassVar

from ...core.events import Event


class DnsMessage(Event, frozen=True, kw_only=True):
    """A DNS-format message. Questions and records are JSON-ready dicts: ``name``, ``type``
    (name), ``type_code``, ``class``; records add ``ttl`` and ``data`` (display string) plus
    type-specific keys (``txt`` list, SRV ``target``/``port``, HINFO ``cpu``/``os``, NBNS
    ``addresses``/``group`` and NBSTAT ``names``/``groups``/``mac``); mDNS questions carry
    ``unicast_response``. Events of messages with the same bytes (but for the transaction id)
    share these dicts (parser.parse remembers repeats): read them, never change them."""

    protocol: ClassVar[str] = "dns"
    transaction_id: int
    is_response: bool
    opcode: int
    opcode_name: str
    rcode: int
    rcode_name: str
    flags: int
    authoritative: bool
    truncated: bool
    questions: tuple[dict[str, Any], ...] = ()
    answers: tuple[dict[str, Any], ...] = ()
    authority: tuple[dict[str, Any], ...] = ()
    additional: tuple[dict[str, Any], ...] = ()
    txt: dict[str, str] | None = None  # DNS-SD TXT key=value pairs (model, firmware, ...)
    error: str | None = None  # why the record sections ended early

    @property
    def action(self) -> str:
        return f"{self.opcode_name}-response" if self.is_response else self.opcode_name

    @property
    def query_names(self) -> tuple[str, ...]:
        return tuple(q["name"] for q in self.questions)


class MdnsMessage(DnsMessage, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "mdns"


class LlmnrMessage(DnsMessage, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "llmnr"


class NbnsMessage(DnsMessage, frozen=True, kw_only=True):
    """NBNS: names are ``NAME<xx>`` (15-char NetBIOS name, suffix in hex); questions add
    ``netbios_name`` and ``suffix``."""

    protocol: ClassVar[str] = "nbns"


class DnsMalformed(Event, frozen=True, kw_only=True):
    """A datagram on a DNS-family flow whose header or questions do not parse."""

    protocol: ClassVar[str] = "dns"
    action_name: ClassVar[str] = "malformed"
    family: str  # dns | mdns | llmnr | nbns
    reason: str
    length: int
