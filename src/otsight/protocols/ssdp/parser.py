"""SSDP (UPnP discovery, HTTP over UDP): start line and headers of one datagram."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData

METHODS = (b"M-SEARCH", b"NOTIFY")
MAX_HEADERS = 64


@dataclass(slots=True)
class SsdpMessage:
    method: str | None  # M-SEARCH, NOTIFY (None for a response)
    uri: str | None
    version: str
    status_code: int | None
    reason: str | None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, first value


def parse(data: bytes) -> SsdpMessage:
    head = data.split(b"\r\n\r\n", 1)[0]
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    if not lines or not lines[0]:
        raise NeedMoreData("empty datagram")
    start = lines[0].decode("latin-1").split(" ", 2)
    if len(start) < 2:
        raise Malformed("no HTTP start line")
    if start[0].startswith("HTTP/1."):
        try:
            code = int(start[1])
        except ValueError as exc:
            raise Malformed("bad status code") from exc
        msg = SsdpMessage(None, None, start[0], code, start[2] if len(start) > 2 else "")
    else:
        if len(start) < 3 or not start[2].startswith("HTTP/1."):
            raise Malformed("not an HTTP request line")
        if not start[0].isupper() or not start[0].replace("-", "").isalpha():
            raise Malformed("bad method")
        msg = SsdpMessage(start[0], start[1], start[2], None, None)
    for raw in lines[1:]:
        if not raw.strip():
            break
        name, sep, value = raw.decode("utf-8", "replace").partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        if key and key not in msg.headers and len(msg.headers) < MAX_HEADERS:
            msg.headers[key] = value.strip()
    return msg


def looks_like_ssdp(data: bytes) -> float:
    if data.startswith((b"M-SEARCH * HTTP/1.", b"NOTIFY * HTTP/1.")):
        return 0.9
    if data.startswith(b"HTTP/1.") and b"\n" in data:
        low = data[:2048].lower()
        if b"\nusn:" in low or b"\nst:" in low:
            return 0.8
        return 0.3
    return 0.0


def max_age(cache_control: str | None) -> int | None:
    if not cache_control:
        return None
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "max-age":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def uuid_of(usn: str | None) -> str | None:
    """``uuid:XXXX::urn:...`` -> ``XXXX`` (the device's UPnP UDN)."""
    if not usn or not usn.lower().startswith("uuid:"):
        return None
    return usn[5:].split("::", 1)[0] or None
