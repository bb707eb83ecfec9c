"""Credential rules: logins sent in clear, and password guessing.

``cleartext-credentials`` reports each (client, server, service, user) once per ``repeat_s``:
Telnet and FTP logins, HTTP Basic authentication and MQTT CONNECT with a password, all readable
by anyone on the path (Network Sniffing, T0842, then Valid Accounts, T0859). It is a posture
finding (severity ``info``): the exposure is real, nobody is attacking yet.

``brute-force`` counts failed logins per (client, server, service) over a sliding window: FTP
logins the server refused, HTTP 401 answers to requests that carried credentials (a 401 to a
request without them is the ordinary challenge of Basic/Digest authentication).
``max_failures`` within ``window_s`` is someone guessing passwords to get a valid account
(T0859).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from typing import ClassVar

from pydantic import Field

from ...alerts.model import Alert
from ...core.events import BaseEvent, Event
from ...protocols.cleartext.events import CleartextCredential
from ...protocols.http.events import HttpCredential, HttpRequest, HttpResponse
from ...protocols.mqtt.events import MqttConnect
from ..alerting import event_alert, evidence_of
from ..base import Detector, DetectorOptions


class CleartextOptions(DetectorOptions):
    repeat_s: float = Field(default=3600.0, ge=0, description="report a login again after this")
    max_tracked: int = Field(default=100_000, ge=1, description="memory bound")


class CleartextCredentialDetector(Detector[CleartextOptions]):
    """Logins whose user name and password cross the network in clear."""

    name: ClassVar[str] = "cleartext-credentials"
    description: ClassVar[str] = "Telnet, FTP, HTTP Basic and MQTT logins sent in clear"
    Options = CleartextOptions
    event_types = (CleartextCredential, HttpCredential, MqttConnect)

    def __init__(self, options: CleartextOptions | None = None) -> None:
        super().__init__(options)
        self._last: dict[tuple[str, str, str, str], float] = {}

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        login = _login(event)
        if login is None or not isinstance(event, Event):
            return ()
        service, user = login
        verdict = _from_server(event)
        client, server = (event.dst_ip, event.src_ip) if verdict else (event.src_ip, event.dst_ip)
        key = (client, server, service, user)
        last = self._last.get(key)
        if last is not None and event.ts - last < self.options.repeat_s:
            return ()
        if last is None and len(self._last) >= self.options.max_tracked:
            self._last.clear()  # forget old logins rather than grow without bound
        self._last[key] = event.ts
        return (
            event_alert(
                self.name, "cleartext-credentials", event, severity="info",
                title=f"Cleartext {service} login '{user}' from {client} to {server}",
                explanation=(
                    f"{client} logged in to {server} over {service} as '{user}' with "
                    "a password in clear text: anyone who can sniff this network segment can "
                    "read it and log in as this user (Network Sniffing, then Valid Accounts)."
                ),
                technique_id="T0859", detail=f"{service} user {user}", reverse=verdict,
            ),
        )


def _from_server(event: BaseEvent) -> bool:
    """FTP reports a login with the server's verdict (230/530): that event travels server ->
    client; Telnet, HTTP and MQTT report the client's message."""
    return isinstance(event, CleartextCredential) and event.accepted is not None


def _login(event: BaseEvent) -> tuple[str, str] | None:
    """(service, user) when ``event`` carries a password in clear."""
    if isinstance(event, CleartextCredential) and event.password_present:
        return event.service, event.user_name
    if isinstance(event, HttpCredential) and event.password_present:
        return "http-basic", event.user_name or "?"
    if isinstance(event, MqttConnect) and event.password_present:
        return "mqtt", event.username or "?"
    return None


class BruteForceOptions(DetectorOptions):
    window_s: float = Field(default=60.0, gt=0)
    max_failures: int = Field(default=5, ge=2, description="failed logins within the window")
    max_tracked: int = Field(default=100_000, ge=1, description="memory bound")


class BruteForceDetector(Detector[BruteForceOptions]):
    """Many failed logins from one client to one service."""

    name: ClassVar[str] = "brute-force"
    description: ClassVar[str] = "many failed FTP or HTTP logins from one client"
    Options = BruteForceOptions
    event_types = (CleartextCredential, HttpRequest, HttpResponse)

    def __init__(self, options: BruteForceOptions | None = None) -> None:
        super().__init__(options)
        self._failures: dict[tuple[str, str, str], deque[BaseEvent]] = {}
        # per HTTP flow, whether each request still unanswered carried credentials (answers
        # come back in request order)
        self._sent_credentials: dict[int, deque[bool]] = {}

    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        if isinstance(event, HttpRequest):
            self._request(event)
            return ()
        if isinstance(event, CleartextCredential) and event.accepted is False:
            service = event.service
            client, server = event.dst_ip, event.src_ip  # the verdict travels server -> client
        elif isinstance(event, HttpResponse):
            pending = self._sent_credentials.get(event.flow_id)
            had_credentials = bool(pending.popleft()) if pending else False
            if event.status_code != 401 or not had_credentials:
                return ()  # a 401 to a request without credentials is the usual challenge
            service = "http"
            client, server = event.dst_ip, event.src_ip  # the answer travels server -> client
        else:
            return ()
        key = (client, server, service)
        recent = self._failures.get(key)
        if recent is None:
            if len(self._failures) >= self.options.max_tracked:
                self._failures.clear()
            recent = self._failures[key] = deque()
        recent.append(event)
        while event.ts - recent[0].ts > self.options.window_s:
            recent.popleft()
        if len(recent) < self.options.max_failures:
            return ()
        first = recent[0]
        count = len(recent)
        span = event.ts - first.ts
        recent.clear()
        alert = event_alert(
            self.name, "brute-force", first, severity="high",
            title=f"Password guessing on {service} of {server} from {client}: "
            f"{count} failed logins in {span:.0f} s",
            explanation=(
                f"{server} refused {count} {service} logins from {client} within {span:.0f} s: "
                "someone is guessing passwords to obtain a valid account."
            ),
            technique_id="T0859", detail=f"{count} failed {service} logins",
            reverse=True,  # both failure kinds are answers from the server
        )
        return (replace(alert, evidence=(*alert.evidence, evidence_of(event, "threshold")),
                        detected_ts=event.ts),)

    def _request(self, event: HttpRequest) -> None:
        pending = self._sent_credentials.get(event.flow_id)
        if pending is None:
            if len(self._sent_credentials) >= self.options.max_tracked:
                self._sent_credentials.clear()
            pending = self._sent_credentials[event.flow_id] = deque(maxlen=64)
        pending.append(event.authorization_scheme is not None)
