"""HTTP/1.x parsing: start lines, header blocks and body framing (sans-IO, bounded)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData

MAX_HEAD = 64 * 1024  # a head longer than this is not HTTP we will parse
MAX_HEADERS = 200
MAX_CHUNK_LINE = 1024

METHODS = frozenset(
    {
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT",
        "SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "M-SEARCH", "M-POST", "MKCALENDAR",
        "ACL", "MERGE", "CHECKOUT", "LINK", "UNLINK", "VERSION-CONTROL",
    }
)
_REQUEST_LINE = re.compile(rb"^([A-Z][A-Z0-9_-]{0,19}) (\S{1,8192}) (HTTP/\d\.\d)\r?$")
_STATUS_LINE = re.compile(rb"^(HTTP/\d\.\d) (\d{3})(?: ([^\r\n]*))?\r?$")
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def looks_like_http(data: bytes) -> float:
    """Score a first payload: a request line with a known method or a status line."""
    line = data[:8200].split(b"\n", 1)[0]
    if data.startswith(b"HTTP/1.") and len(data) >= 12:
        return 0.9 if _STATUS_LINE.match(line) else (0.5 if b"\n" not in data else 0.0)
    head = data[:12].split(b" ", 1)
    if len(head) == 2 and head[0].decode("ascii", "replace") in METHODS:
        if _REQUEST_LINE.match(line):
            return 0.9
        if b"\n" not in data and len(data) < 8200:
            return 0.5  # a request line still arriving
    return 0.0


@dataclass(slots=True)
class Head:
    """A parsed start line plus headers (names lower-cased, first value kept, order kept)."""

    is_request: bool
    version: str
    method: str = ""
    uri: str = ""
    status_code: int = 0
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # The body framing, read from the headers once (parse_head): the event and the state
    # machine both need it.
    chunked: bool = False
    content_length: int | None = None

    def get(self, name: str) -> str | None:
        return self.headers.get(name)


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    value = value.split(",")[0].strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def head_length(buf: bytes | bytearray) -> int:
    """Length of the head at the start of ``buf`` (up to and including the blank line)."""
    end = buf.find(b"\r\n\r\n", 0, MAX_HEAD)
    # A bare "\n\n" only matters if it starts before end + 2: once the CRLF blank line is
    # found, the search need not run through the body bytes that follow the head.
    alt = buf.find(b"\n\n", 0, MAX_HEAD if end < 0 else end + 3)
    if end < 0 and alt < 0:
        if len(buf) >= MAX_HEAD:
            raise Malformed("HTTP head too long")
        raise NeedMoreData
    if end >= 0 and (alt < 0 or end + 2 <= alt):
        return end + 4
    return alt + 2


def parse_head(raw: bytes) -> Head:
    """Parse a head (start line + header fields); raise Malformed if it is not HTTP/1.x."""
    start, _, block = raw.partition(b"\n")
    m = _REQUEST_LINE.match(start)
    if m:
        method = m.group(1).decode("ascii")
        head = Head(True, m.group(3).decode("ascii"), method=method,
                    uri=m.group(2).decode("latin-1"))
    else:
        s = _STATUS_LINE.match(start)
        if not s:
            raise Malformed("not an HTTP start line")
        reason = (s.group(3) or b"").decode("latin-1").rstrip("\r")
        head = Head(False, s.group(1).decode("ascii"), status_code=int(s.group(2)), reason=reason)
    bytes_key = type(block) is bytes  # a bytearray (mutable) can be no key
    known = _KNOWN_FIELDS.get(block) if bytes_key else None
    if known is None:
        known = header_fields(block)
        if bytes_key and len(block) <= MAX_KNOWN_BLOCK_SIZE:
            if len(_KNOWN_FIELDS) >= MAX_KNOWN_BLOCKS:
                _KNOWN_FIELDS.clear()
            _KNOWN_FIELDS[block] = known
    head.headers.update(known)  # the head's own copy: a remembered dict is never handed out
    head.chunked = "chunked" in head.headers.get("transfer-encoding", "").lower()
    head.content_length = _content_length(head.headers)
    return head


# Header blocks parsed lately, by their bytes. A device is polled with the same request over
# and over (and many embedded servers answer with the same header block), so most blocks have
# been seen before; looking one up costs a fraction of splitting and decoding it line by line.
# Only blocks that parsed are remembered, so errors are raised exactly as before.
_KNOWN_FIELDS: dict[bytes, dict[str, str]] = {}
MAX_KNOWN_BLOCKS = 256  # blocks remembered (then forgotten all at once)
MAX_KNOWN_BLOCK_SIZE = 2048  # longer blocks are not remembered (bounds the memory held)


def header_fields(block: bytes) -> dict[str, str]:
    """The header fields of the lines after a start line, up to the blank line (names
    lower-cased, first value kept, order kept); Malformed if a line is not a field."""
    headers: dict[str, str] = {}
    count = 0
    last: str | None = None
    for raw_line in block.split(b"\n"):
        line = raw_line.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and last is not None:  # obsolete line folding
            headers[last] += " " + line.strip().decode("latin-1")
            continue
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise Malformed("bad header field")
        count += 1
        if count > MAX_HEADERS:
            raise Malformed("too many header fields")
        last = name.decode("ascii").lower()
        headers.setdefault(last, value.strip().decode("latin-1"))
    return headers


def chunk_size(line: bytes) -> int:
    """The size of a chunk from its size line (extensions ignored)."""
    text = line.split(b";", 1)[0].strip()
    if not text or len(text) > 16:
        raise Malformed("bad chunk size line")
    try:
        return int(text, 16)
    except ValueError:
        raise Malformed("bad chunk size line") from None


def basic_user(value: str) -> tuple[str | None, bool]:
    """The user name of a Basic credential value and whether a password follows (never it)."""
    token = value.strip()
    try:
        decoded = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None, False
    user, sep, password = decoded.partition(b":")
    return user.decode("utf-8", "replace"), bool(sep and password)


def could_start_message(prefix: bytes | bytearray) -> bool:
    """Whether ``prefix`` (a head still arriving) can begin a request or status line."""
    probe = bytes(prefix[:16])
    if probe.startswith(b"HTTP/") or b"HTTP/".startswith(probe[:5]):
        return True
    word, space, _ = probe.partition(b" ")
    if space:
        return word.decode("latin-1") in METHODS
    return len(word) <= 20 and all(65 <= c <= 90 or c == 45 for c in word)


# --------------------------------------------------------------------------- device descriptions
MAX_DOCUMENT = 16 * 1024  # an XML response body larger than this is not a device description
IDENTITY_ELEMENTS = frozenset(
    {
        "manufacturer",
        "modelname",
        "modelnumber",
        "model",
        "serialnumber",
        "firmwareversion",
        "softwareversion",
        "hardwareversion",
        "friendlyname",
        "devicename",
        "devicetype",
    }
)
# <prefix:name attrs>text</prefix:name>, text without markup: linear, no nested constructs.
_ELEMENT = re.compile(
    rb"<(?:[A-Za-z_][\w.-]{0,63}:)?([A-Za-z_][\w.-]{0,63})(?:\s[^<>]{0,512})?>"
    rb"([^<>]{1,256})</(?:[A-Za-z_][\w.-]{0,63}:)?\1\s*>"
)
_ENTITIES = {b"&lt;": b"<", b"&gt;": b">", b"&quot;": b'"', b"&apos;": b"'", b"&amp;": b"&"}


def wants_document(content_type: str | None, length: int | None) -> bool:
    """A response body worth reading for identity: XML, and small (or chunked, then capped)."""
    return (
        content_type is not None
        and "xml" in content_type.lower()
        and (length is None or 0 < length <= MAX_DOCUMENT)
    )


def xml_identity(body: bytes) -> dict[str, str]:
    """The first text of each identity element (names lower-cased, namespace prefix dropped)."""
    out: dict[str, str] = {}
    for m in _ELEMENT.finditer(body[:MAX_DOCUMENT]):
        name = m.group(1).decode("ascii").lower()
        if name not in IDENTITY_ELEMENTS or name in out:
            continue
        raw = m.group(2)
        for entity, char in _ENTITIES.items():
            raw = raw.replace(entity, char)
        value = raw.decode("utf-8", "replace").strip()
        if value:
            out[name] = value
    return out
