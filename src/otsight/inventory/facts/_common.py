"""Shared pieces of the fact extractors: clean strings, usable addresses, fact builders, hints.

Every protocol module turns events into facts with these helpers so that hostile input (control
characters, megabyte strings, ``0.0.0.0`` addresses, non-string values) is handled in one place:
a value that does not clean up to something usable yields no fact rather than an error.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ...core.events import BaseEvent, Event, FrameEvent
from ..model import Activity, Fact, Observation

MAX_TEXT = 256  # longest identity string kept; longer ones are cut
NONE: tuple[Fact, ...] = ()

Handler = Callable[[Any], tuple[Fact, ...]]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def text(value: object, limit: int = MAX_TEXT) -> str | None:
    """``value`` as a trimmed printable string (control characters become spaces), or None.

    Identity strings come from devices and attackers alike: NUL padding, line breaks and
    terminal escapes are dropped, internal spacing is kept (order numbers rely on it).
    """
    if value is None or isinstance(value, bytes | bytearray):
        return None
    return _clean(value if isinstance(value, str) else str(value), limit)


@lru_cache(maxsize=4096)  # devices repeat their identity: clean each string once
def _clean(s: str, limit: int) -> str | None:
    if len(s) > limit * 4:
        s = s[: limit * 4]
    s = _CONTROL.sub(" ", s).replace("\ufffd", "").strip()
    return s[:limit].rstrip() or None


def usable_ip(value: object) -> str | None:
    """A unicast address that can belong to a device (normalised), else None."""
    if not isinstance(value, str) or not value:
        return None
    return _usable_ip(value)


@lru_cache(maxsize=65536)  # the same addresses come back in every ARP and every answer
def _usable_ip(value: str) -> str | None:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    if addr.is_unspecified or addr.is_multicast or addr.is_loopback:
        return None
    if addr.version == 4 and (addr == ipaddress.IPv4Address("255.255.255.255")):
        return None
    return str(addr)


def is_address(value: str) -> bool:
    """``value`` is an IP literal (of any kind)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_local(value: str | None) -> bool:
    """A private, link-local or unique-local unicast address (documentation ranges included:
    labs use them): a device of the site, whose name is worth keeping (names of internet hosts
    are not inventory)."""
    ip = usable_ip(value)
    return ip is not None and _private(ip)


@lru_cache(maxsize=65536)
def _private(ip: str) -> bool:
    return ipaddress.ip_address(ip).is_private


_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")


def is_mac(value: object) -> bool:
    """An Ethernet address as the dissectors write it (``00:1b:1b:02:9a:c3``), not all zeros."""
    return isinstance(value, str) and bool(_MAC.match(value)) and value != "00:00:00:00:00:00"


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


def hostname(value: object) -> str | None:
    """A plausible host name (letters, digits, ``-``, ``_``, dots; no IP literal), else None."""
    s = text(value)
    if s is None:
        return None
    s = s.rstrip(".")
    if not _HOSTNAME.match(s) or is_address(s) or s.replace(".", "").isdigit():
        return None
    return s


class Collector:
    """Gathers the observations of one event; values that do not clean up are skipped."""

    __slots__ = ("event", "facts")

    def __init__(self, event: BaseEvent) -> None:
        self.event = event
        self.facts: list[Fact] = []

    def observe(
        self,
        attribute: str,
        value: object,
        source: str,
        reliability: int,
        ip: str | None = None,
        mac: str | None = None,
    ) -> None:
        s = text(value)
        if ip is not None:
            ip = usable_ip(ip)
        if s is None or (ip is None and mac is None):
            return
        self.facts.append(
            Observation(
                ts=self.event.ts,
                attribute=attribute,
                value=s,
                source=source,
                reliability=reliability,
                ip=ip,
                mac=mac,
                frame=self.event.frame,
            )
        )

    def bind_ip(self, address: object, source: str, reliability: int, mac: str | None) -> None:
        """``mac`` has IP ``address`` (an ``ip`` observation binding the two)."""
        ip = usable_ip(address)
        if ip is not None and mac is not None:
            event = self.event
            self.facts.append(
                Observation(
                    ts=event.ts,
                    attribute="ip",
                    value=ip,
                    source=source,
                    reliability=reliability,
                    ip=ip,
                    mac=mac,
                    frame=event.frame,
                )
            )

    def add(self, fact: Fact) -> None:
        self.facts.append(fact)

    def result(self) -> tuple[Fact, ...]:
        return tuple(self.facts)


def activity(
    event: Event, category: str, operation: str | None = None, protocol: str | None = None
) -> Activity:
    """The sender of ``event`` (a request) is the client, its receiver the server."""
    return _activity(event, category, operation, protocol, reverse=False)


def reverse_activity(
    event: Event, category: str, operation: str | None = None, protocol: str | None = None
) -> Activity:
    """``event`` travelled from the server to the client (a delivery or a reply-side record)."""
    return _activity(event, category, operation, protocol, reverse=True)


def _activity(
    event: Event, category: str, operation: str | None, protocol: str | None, reverse: bool
) -> Activity:
    client, server, port = (
        (event.dst_ip, event.src_ip, event.src_port) if reverse
        else (event.src_ip, event.dst_ip, event.dst_port)
    )
    return Activity(
        ts=event.ts,
        protocol=protocol or type(event).protocol,
        category=category,
        operation=operation or event.action,
        client_ip=client,
        server_ip=server,
        server_port=port,
        transport=event.transport,
        frame=event.frame,
    )


def frame_activity(event: FrameEvent, category: str, operation: str | None = None) -> Activity:
    """A link-layer request: the sending MAC is the client, the destination MAC the server."""
    return Activity(
        ts=event.ts,
        protocol=type(event).protocol,
        category=category,
        operation=operation or event.action,
        client_mac=event.src_mac,
        server_mac=event.dst_mac,
        frame=event.frame,
    )


def one(event: Event, category: str, operation: str | None = None) -> tuple[Fact, ...]:
    return (activity(event, category, operation),)


# --------------------------------------------------------------------------- hints from text

# Most specific first (tried in order): "Windows CE" before "Windows", distributions and
# Android before "Linux", IOS XE before IOS.
_OS_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), name)
    for pattern, name in (
        (r"windows\s*ce|wince", "Windows CE"),
        (r"windows|win32|win64|microsoft-iis|microsoft-httpapi", "Windows"),
        (r"ubuntu", "Ubuntu"),
        (r"debian", "Debian"),
        (r"raspbian", "Raspbian"),
        (r"centos", "CentOS"),
        (r"red\s*hat|rhel", "Red Hat"),
        (r"fedora", "Fedora"),
        (r"alpine", "Alpine Linux"),
        (r"openwrt", "OpenWrt"),
        (r"android", "Android"),
        (r"linux", "Linux"),
        (r"freebsd", "FreeBSD"),
        (r"openbsd", "OpenBSD"),
        (r"netbsd", "NetBSD"),
        (r"mac\s*os\s*x|macos|darwin", "macOS"),
        (r"ios[\s-]xe", "Cisco IOS XE"),
        (r"nx-os", "Cisco NX-OS"),
        (r"cisco\s+ios|\bios\s+software|\bios\s*\(tm\)", "Cisco IOS"),
        (r"junos", "Junos"),
        (r"routeros|mikrotik", "RouterOS"),
        (r"fortios|fortigate", "FortiOS"),
        (r"pan-os", "PAN-OS"),
        (r"vxworks", "VxWorks"),
        (r"qnx", "QNX"),
        (r"nucleus", "Nucleus RTOS"),
        (r"freertos", "FreeRTOS"),
        (r"threadx", "ThreadX"),
        (r"\bsolaris|sunos", "Solaris"),
    )
)


def os_hint(value: str | None) -> str | None:
    """The operating system a banner or description names, if any (normalised spelling)."""
    return _os_hint(value) if value else None


@lru_cache(maxsize=4096)  # banners and user agents repeat
def _os_hint(value: str) -> str | None:
    head = value[: MAX_TEXT * 4]
    for pattern, name in _OS_PATTERNS:
        if pattern.search(head):
            return name
    return None


_FIRMWARE = re.compile(
    r"\b(?:FW|Firmware)(?:\s*[:=]\s*|\s+)(?:Version\s+|Rev\.?\s*)?(V?\d[\w.()/-]*)", re.I
)
_VERSION = re.compile(r"\bVersion\s+(V?\d[\w.()/-]*)", re.I)


def firmware_hint(value: str | None, loose: bool = False) -> str | None:
    """A firmware version a system description states (``FW: V4.1.0``); with ``loose`` any
    ``Version x.y`` (software version strings of network gear)."""
    if not value:
        return None
    head = value[: MAX_TEXT * 4]
    m = _FIRMWARE.search(head) or (_VERSION.search(head) if loose else None)
    return m.group(1).rstrip(",.") if m else None
