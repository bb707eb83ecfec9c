"""The HTTP/1.x dissector: heads of both directions, bodies skipped, responses paired in order.

Each direction runs a small state machine: a head, then its body framed by Content-Length or
chunked transfer coding (or, for a response without either, everything until the connection
closes). Persistent connections and pipelining follow naturally: heads follow bodies and
responses are matched first-in first-out with the requests the client sent. After a
``101 Switching Protocols`` or a successful ``CONNECT`` the bytes are no longer HTTP and are
ignored. A gap inside a body just shortens it; a gap elsewhere resynchronises on the next line
that is a start line. Bodies are skipped, except a small XML response body, which is kept (up to
16 KiB) to report the identity elements of device descriptions (UPnP, ISAPI, ONVIF).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...core.errors import Malformed, NeedMoreData
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector
from .events import HttpCredential, HttpDeviceInfo, HttpMalformed, HttpRequest, HttpResponse
from .parser import (
    MAX_CHUNK_LINE,
    MAX_DOCUMENT,
    MAX_HEAD,
    Head,
    basic_user,
    chunk_size,
    could_start_message,
    head_length,
    looks_like_http,
    parse_head,
    wants_document,
    xml_identity,
)

HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, TRAILER, UNTIL_CLOSE, RESYNC, DEAD = range(8)
MAX_PENDING = 256  # requests awaiting a response (pipelining depth kept)


class HttpDissector(Dissector):
    name: ClassVar[str] = "http"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({80, 8080, 8000, 8008, 8081})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (bytearray(), bytearray())
        self.mode = [HEAD, HEAD]
        self.remaining = [0, 0]
        self.pending: deque[tuple[str, str]] = deque()
        # an XML response body being kept for its identity elements: (request uri, bytes)
        self.document: list[tuple[str | None, bytearray] | None] = [None, None]

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_http(data)

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.document[direction] = None  # a document with a hole is not read
        mode = self.mode[direction]
        if mode in (DEAD, UNTIL_CLOSE):
            return
        if mode == BODY and self.remaining[direction] - len(self.buffers[direction]) >= nbytes:
            self.remaining[direction] -= len(self.buffers[direction]) + nbytes
            self.buffers[direction].clear()
            if self.remaining[direction] == 0:
                self.mode[direction] = HEAD
            return
        self.buffers[direction].clear()
        self.mode[direction] = RESYNC

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        mode = self.mode[direction]
        if mode == DEAD:
            return ()
        buf = self.buffers[direction]
        # Fast path: most segments of a busy flow are the middle of a body. When nothing is
        # buffered and no document is being kept, a segment that ends inside (or exactly at
        # the end of) the body or chunk only moves the count on: the state machine below
        # would copy it into the buffer only to delete it again, and build the event fields
        # for nothing (no event can result: the document is the only one a body completes).
        if mode in (BODY, CHUNK_DATA) and not buf and self.document[direction] is None:
            left = self.remaining[direction] - len(data)
            if left >= 0 and data:
                self.remaining[direction] = left
                if left == 0:
                    self.mode[direction] = HEAD if mode == BODY else CHUNK_SIZE
                return ()
        buf += data
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        return list(self._run(direction, buf, base))

    # ------------------------------------------------------------------ state machine
    def _run(self, direction: int, buf: bytearray, base: dict[str, Any]) -> Iterator[Event]:
        mode = self.mode
        while buf and mode[direction] != DEAD:
            state = mode[direction]
            if state == UNTIL_CLOSE:
                buf.clear()
                return
            if state == BODY:
                n = min(self.remaining[direction], len(buf))
                self._keep(direction, buf, n)
                del buf[:n]
                self.remaining[direction] -= n
                if self.remaining[direction] == 0:
                    mode[direction] = HEAD
                    yield from self._document(direction, base)
                continue
            if state == CHUNK_DATA:
                n = min(self.remaining[direction], len(buf))
                self._keep(direction, buf, n)
                del buf[:n]
                self.remaining[direction] -= n
                if self.remaining[direction] == 0:
                    mode[direction] = CHUNK_SIZE
                continue
            if state in (CHUNK_SIZE, TRAILER, RESYNC):
                end = buf.find(b"\n")
                if end < 0:
                    if len(buf) > (MAX_HEAD if state == RESYNC else MAX_CHUNK_LINE):
                        if state == RESYNC:
                            buf.clear()
                            return
                        yield self._malformed(direction, base, "chunk line too long", len(buf))
                    return
                line = bytes(buf[: end + 1])
                if state == RESYNC:
                    if looks_like_http(bytes(buf[:MAX_CHUNK_LINE])) >= 0.9:
                        mode[direction] = HEAD
                    else:
                        del buf[: end + 1]
                    continue
                del buf[: end + 1]
                stripped = line.strip()
                if state == CHUNK_SIZE:
                    if not stripped:
                        continue  # the CRLF that ends the previous chunk's data
                    try:
                        size = chunk_size(stripped)
                    except Malformed as exc:
                        yield self._malformed(direction, base, str(exc), len(line))
                        return
                    if size == 0:
                        mode[direction] = TRAILER
                        yield from self._document(direction, base)
                    else:
                        self.remaining[direction] = size
                        mode[direction] = CHUNK_DATA
                elif not stripped:  # TRAILER ends with an empty line
                    mode[direction] = HEAD
                continue
            # HEAD
            try:
                n = head_length(buf)
            except NeedMoreData:
                if not could_start_message(buf.lstrip(b"\r\n")):
                    yield self._malformed(direction, base, "not an HTTP start line", len(buf))
                return
            except Malformed as exc:
                yield self._malformed(direction, base, str(exc), len(buf))
                return
            raw = bytes(buf[:n])
            del buf[:n]
            if not raw.strip():
                continue  # stray CRLF between messages (RFC 9112 2.2)
            try:
                head = parse_head(raw)
            except Malformed as exc:
                yield self._malformed(direction, base, str(exc), len(raw))
                return
            if head.is_request:
                yield from self._request(direction, head, base)
            else:
                yield self._response(direction, head, base)

    def _malformed(self, direction: int, base: dict[str, Any], reason: str, n: int) -> Event:
        self.malformed += 1
        self.document[direction] = None
        self.mode[direction] = DEAD
        self.buffers[direction].clear()
        return HttpMalformed(**base, reason=reason, length=n)

    def _keep(self, direction: int, buf: bytearray, n: int) -> None:
        kept = self.document[direction]
        if kept is not None:
            if len(kept[1]) + n > MAX_DOCUMENT:
                self.document[direction] = None  # too large to be a device description
            else:
                kept[1].extend(buf[:n])

    def _document(self, direction: int, base: dict[str, Any]) -> Iterator[Event]:
        kept = self.document[direction]
        self.document[direction] = None
        if kept is not None:
            elements = xml_identity(bytes(kept[1]))
            if len(elements) >= 2:  # one element alone is not a device description
                yield HttpDeviceInfo(**base, uri=kept[0], elements=elements)

    def _body(self, direction: int, head: Head, has_body: bool) -> None:
        """Set the direction's state for what follows ``head``."""
        if not has_body:
            self.mode[direction] = HEAD
        elif head.chunked:
            self.mode[direction] = CHUNK_SIZE
        elif head.content_length is not None:
            self.remaining[direction] = head.content_length
            self.mode[direction] = BODY if head.content_length else HEAD
        elif head.is_request:
            self.mode[direction] = HEAD  # a request without framing has no body
        else:
            self.mode[direction] = UNTIL_CLOSE

    def _request(self, direction: int, head: Head, base: dict[str, Any]) -> Iterator[Event]:
        auth = head.get("authorization")
        scheme: str | None = None
        if auth is not None:
            scheme, _, value = auth.strip().partition(" ")
            scheme = scheme or None
        yield HttpRequest(
            **base,
            method=head.method,
            uri=head.uri,
            version=head.version,
            host=head.get("host"),
            user_agent=head.get("user-agent"),
            authorization_scheme=scheme,
            content_length=head.content_length,
            chunked=head.chunked,
        )
        if auth is not None and scheme is not None and scheme.lower() == "basic":
            user, has_password = basic_user(value)
            yield HttpCredential(
                **base,
                scheme="Basic",
                user_name=user,
                password_present=has_password,
                uri=head.uri,
                host=head.get("host"),
            )
        if len(self.pending) < MAX_PENDING:
            self.pending.append((head.method, head.uri))
        self._body(direction, head, True)

    def _response(self, direction: int, head: Head, base: dict[str, Any]) -> Event:
        code = head.status_code
        informational = 100 <= code < 200 and code != 101
        request: tuple[str, str] | None = None
        if self.pending:
            request = self.pending[0] if informational else self.pending.popleft()
        method = request[0] if request else None
        event = HttpResponse(
            **base,
            version=head.version,
            status_code=code,
            reason=head.reason,
            server=head.get("server"),
            content_type=head.get("content-type"),
            content_length=head.content_length,
            chunked=head.chunked,
            www_authenticate=head.get("www-authenticate"),
            request_method=method,
            request_uri=request[1] if request else None,
            matched=request is not None,
        )
        if code == 101 or (method == "CONNECT" and 200 <= code < 300):
            self.mode = [DEAD, DEAD]  # the connection now carries another protocol
            self.buffers[0].clear()
            self.buffers[1].clear()
        else:
            no_body = informational or code in (204, 304) or method == "HEAD"
            self._body(direction, head, not no_body)
            self.document[direction] = None
            if self.mode[direction] in (BODY, CHUNK_SIZE) and wants_document(
                event.content_type, head.content_length
            ):
                self.document[direction] = (event.request_uri, bytearray())
        return event
