"""HTTP events: one per request head, one per response head, cleartext credentials, and the
identity a device description document carried."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class HttpEvent(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "http"


class HttpRequest(HttpEvent, frozen=True, kw_only=True):
    """A request head (client -> server)."""

    action_name: ClassVar[str] = "request"
    method: str
    uri: str
    version: str  # "HTTP/1.1"
    host: str | None
    user_agent: str | None
    authorization_scheme: str | None  # "Basic", "Digest", "Bearer", "NTLM", ... (never the value)
    content_length: int | None
    chunked: bool


class HttpResponse(HttpEvent, frozen=True, kw_only=True):
    """A response head (server -> client), paired in order with the request it answers."""

    action_name: ClassVar[str] = "response"
    version: str
    status_code: int
    reason: str
    server: str | None
    content_type: str | None
    content_length: int | None
    chunked: bool
    www_authenticate: str | None  # the challenge schemes, e.g. "Basic realm=..." (as sent)
    request_method: str | None  # the paired request's method (None: no request seen)
    request_uri: str | None
    matched: bool


class HttpCredential(HttpEvent, frozen=True, kw_only=True):
    """Credentials sent in clear (Basic authentication). The user name only: never the password."""

    action_name: ClassVar[str] = "cleartext-credential"
    scheme: str  # "Basic"
    user_name: str | None  # None when the Basic value could not be decoded
    password_present: bool
    uri: str
    host: str | None


class HttpDeviceInfo(HttpEvent, frozen=True, kw_only=True):
    """Identity elements of a small XML document a server returned (UPnP device description,
    Hikvision ISAPI deviceInfo, ONVIF GetDeviceInformation): lower-cased element name -> text,
    as sent (``manufacturer``, ``modelname``, ``serialnumber``, ``firmwareversion``...).
    Reported when the body is complete and names at least two such elements."""

    action_name: ClassVar[str] = "device-info"
    uri: str | None  # the request it answers
    elements: dict[str, str]


class HttpMalformed(HttpEvent, frozen=True, kw_only=True):
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
