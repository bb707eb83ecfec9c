"""SSDP dissector (UDP 1900): each datagram is one HTTP-formatted message."""

from __future__ import annotations

from typing import Any, ClassVar

from ...core.events import Event
from ..base import DatagramDissector
from .events import SsdpMalformed, SsdpMessage
from .parser import SsdpMessage as Ssdp
from .parser import looks_like_ssdp, max_age, parse, uuid_of


class SsdpDissector(DatagramDissector):
    name: ClassVar[str] = "ssdp"
    ports: ClassVar[frozenset[int]] = frozenset({1900})

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_ssdp(data)

    def parse(self, data: bytes) -> Ssdp:
        return parse(data)

    def malformed_event(self, base: dict[str, Any], reason: str, length: int) -> Event:
        return SsdpMalformed(**base, reason=reason, length=length)

    def message(self, base: dict[str, Any], msg: Ssdp) -> Event:
        h = msg.headers
        kind = "response" if msg.method is None else msg.method.lower()
        return SsdpMessage(
            **base,
            kind=kind,
            method=msg.method,
            status_code=msg.status_code,
            st=h.get("st"),
            nt=h.get("nt"),
            nts=h.get("nts"),
            usn=h.get("usn"),
            uuid=uuid_of(h.get("usn")),
            location=h.get("location"),
            server=h.get("server"),
            user_agent=h.get("user-agent"),
            cache_control=h.get("cache-control"),
            max_age=max_age(h.get("cache-control")),
            man=h.get("man"),
            mx=h.get("mx"),
            host=h.get("host"),
            headers=dict(h) or None,
        )
