"""SSDP dissector (UDP 1900): each datagram is one HTTP-formatted message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.errors import Malformed, NeedMoreData
from ...core.events import Event
from ..base import Dissector
from .events import SsdpMalformed, SsdpMessage
from .parser import looks_like_ssdp, max_age, parse, uuid_of


class SsdpDissector(Dissector):
    name: ClassVar[str] = "ssdp"
    transport: ClassVar[str] = "udp"
    ports: ClassVar[frozenset[int]] = frozenset({1900})

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_ssdp(data)

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            msg = parse(data)
        except (Malformed, NeedMoreData) as exc:
            self.malformed += 1
            yield SsdpMalformed(**base, reason=str(exc), length=len(data))
            return
        h = msg.headers
        kind = "response" if msg.method is None else msg.method.lower()
        yield SsdpMessage(
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
