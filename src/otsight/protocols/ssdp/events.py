"""SSDP events: one per M-SEARCH, NOTIFY or search response."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class SsdpMessage(Event, frozen=True, kw_only=True):
    """An SSDP message. ``server`` / ``user_agent`` name the OS and UPnP stack, ``location``
    points at the device description (model, vendor, serial), ``uuid`` is the device UDN."""

    protocol: ClassVar[str] = "ssdp"
    kind: str  # m-search | notify | response | <method lower-case>
    method: str | None = None
    status_code: int | None = None
    st: str | None = None  # search target
    nt: str | None = None  # notification type
    nts: str | None = None  # ssdp:alive | ssdp:byebye | ssdp:update
    usn: str | None = None
    uuid: str | None = None
    location: str | None = None
    server: str | None = None
    user_agent: str | None = None
    cache_control: str | None = None
    max_age: int | None = None
    man: str | None = None
    mx: str | None = None
    host: str | None = None
    headers: dict[str, str] | None = None  # every header, lower-case names

    @property
    def action(self) -> str:
        if self.kind == "notify" and self.nts:
            return f"notify-{self.nts.removeprefix('ssdp:')}"
        return self.kind


class SsdpMalformed(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "ssdp"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
