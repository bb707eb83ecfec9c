"""OPC UA binary parsing: UA-TCP framing, HEL/ACK/ERR/RHE, secure channel headers and, when a
channel uses policy None, the service NodeId and request handle of OPN/CLO/MSG bodies.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...core.errors import Malformed, NeedMoreData
from .codes import MESSAGE_TYPES, POLICY_PREFIX, SERVICES

HEADER = 8
MAX_MESSAGE = 1 << 20  # chunks are at most the negotiated buffer size (64 KiB typically)
MAX_STRING = 4096  # characters of a URL / reason kept


def frame_length(buf: bytes | bytearray) -> int:
    if len(buf) < HEADER:
        raise NeedMoreData
    if bytes(buf[:3]) not in MESSAGE_TYPES or buf[3] not in b"FCA":
        raise Malformed("not a UA-TCP message header")
    (size,) = struct.unpack_from("<I", buf, 4)
    if size < HEADER or size > MAX_MESSAGE:
        raise Malformed(f"UA-TCP message size {size}")
    return int(size)


@dataclass(slots=True)
class Message:
    message_type: bytes
    chunk_type: int
    size: int
    protocol_version: int | None = None
    receive_buffer_size: int | None = None
    send_buffer_size: int | None = None
    max_message_size: int | None = None
    max_chunk_count: int | None = None
    endpoint_url: str | None = None
    server_uri: str | None = None
    status_code: int | None = None
    reason: str | None = None
    secure_channel_id: int | None = None
    security_policy_uri: str | None = None
    sender_certificate_length: int | None = None  # -1: null
    receiver_thumbprint_present: bool | None = None
    token_id: int | None = None
    sequence_number: int | None = None
    request_id: int | None = None
    service_node: int | None = None  # numeric binary-encoding id in namespace 0
    request_handle: int | None = None
    service_result: int | None = None
    request_type: int | None = None
    security_mode: int | None = None
    revised_token_id: int | None = None
    revised_channel_id: int | None = None
    body_readable: bool = False


class _R:
    __slots__ = ("d", "p")

    def __init__(self, d: bytes, p: int) -> None:
        self.d, self.p = d, p

    def take(self, fmt: str, what: str) -> tuple[int, ...]:
        n = struct.calcsize(fmt)
        if self.p + n > len(self.d):
            raise Malformed(f"{what}: message cut short")
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += n
        return v

    def u32(self, what: str) -> int:
        return int(self.take("<I", what)[0])

    def blob(self, what: str) -> bytes | None:
        (n,) = self.take("<i", what)
        if n < 0:
            return None
        if self.p + n > len(self.d):
            raise Malformed(f"{what}: length {n} past the end")
        v = self.d[self.p : self.p + n]
        self.p += n
        return v

    def string(self, what: str) -> str | None:
        v = self.blob(what)
        return None if v is None else v[:MAX_STRING].decode("utf-8", "replace")

    def node_id(self, what: str) -> int | None:
        """Skip a (Expanded)NodeId; return its numeric id if it is one in namespace 0."""
        (enc,) = self.take("<B", what)
        kind = enc & 0x3F
        value: int | None
        if kind == 0:
            value = self.take("<B", what)[0]
        elif kind == 1:
            ns, ident = self.take("<BH", what)
            value = ident if ns == 0 else None
        elif kind == 2:
            ns, ident = self.take("<HI", what)
            value = ident if ns == 0 else None
        elif kind in (3, 5):
            self.take("<H", what)
            self.blob(what)
            value = None
        elif kind == 4:
            self.take("<H16s", what)
            value = None
        else:
            raise Malformed(f"{what}: NodeId encoding {enc:#x}")
        if enc & 0x80:
            self.blob(what)
        if enc & 0x40:
            self.take("<I", what)
        return value

    def extension_object(self, what: str) -> None:
        self.node_id(what)
        (enc,) = self.take("<B", what)
        if enc in (1, 2):
            self.blob(what)

    def diagnostic_info(self, what: str, depth: int = 0) -> None:
        (mask,) = self.take("<B", what)
        for bit in (0x01, 0x02, 0x04, 0x08):
            if mask & bit:
                self.take("<i", what)
        if mask & 0x10:
            self.blob(what)
        if mask & 0x20:
            self.take("<I", what)
        if mask & 0x40:
            if depth > 8:
                raise Malformed(f"{what}: diagnostics nested too deep")
            self.diagnostic_info(what, depth + 1)


def parse_message(msg: bytes, policy_none: bool | None) -> Message:
    """Parse one UA-TCP chunk. ``policy_none``: whether the channel of a MSG/CLO is known to
    use policy None (then its body is read); None if unknown (the body is tried)."""
    size = frame_length(msg)
    if size != len(msg):
        raise Malformed("chunk length does not match its header")
    m = Message(bytes(msg[:3]), msg[3], size)
    r = _R(msg, HEADER)
    t = m.message_type
    if t in (b"HEL", b"ACK"):
        fields = r.take("<IIIII", "hello")
        m.protocol_version, m.receive_buffer_size, m.send_buffer_size = fields[:3]
        m.max_message_size, m.max_chunk_count = fields[3:]
        if t == b"HEL":
            m.endpoint_url = r.string("endpoint url")
    elif t == b"ERR":
        m.status_code = r.u32("error")
        m.reason = r.string("reason")
    elif t == b"RHE":
        m.server_uri = r.string("server uri")
        m.endpoint_url = r.string("endpoint url")
    elif t == b"OPN":
        m.secure_channel_id = r.u32("secure channel id")
        m.security_policy_uri = r.string("security policy uri")
        cert = r.blob("sender certificate")
        m.sender_certificate_length = -1 if cert is None else len(cert)
        thumb = r.blob("receiver thumbprint")
        m.receiver_thumbprint_present = bool(thumb)
        m.sequence_number, m.request_id = r.take("<II", "sequence header")
        if m.security_policy_uri in (None, POLICY_PREFIX + "None") and m.chunk_type == ord("F"):
            _body(r, m)
    else:  # MSG, CLO
        m.secure_channel_id, m.token_id = r.take("<II", "symmetric security header")
        if policy_none is not False:
            m.sequence_number, m.request_id = r.take("<II", "sequence header")
            if m.chunk_type == ord("F") or policy_none:
                try:
                    _body(r, m)
                except Malformed:
                    if policy_none:
                        raise
                    m.service_node = None  # unknown policy: an encrypted body, not an error
    return m


def _body(r: _R, m: Message) -> None:
    start = r.p
    m.service_node = r.node_id("service type id")
    if m.service_node is None:
        return
    node = m.service_node

    name = SERVICES.get(node)
    if name is None:
        if m.chunk_type == ord("F"):
            r.p = start
        return
    m.body_readable = True
    if name.endswith("Request"):
        r.node_id("authentication token")
        r.take("<q", "timestamp")
        m.request_handle = r.u32("request handle")
        r.take("<I", "return diagnostics")
        r.string("audit entry id")
        r.take("<I", "timeout hint")
        r.extension_object("additional header")
        if name == "OpenSecureChannelRequest":
            _version, m.request_type, m.security_mode = r.take("<III", "open request")
    else:
        r.take("<q", "timestamp")
        m.request_handle = r.u32("request handle")
        m.service_result = r.u32("service result")
        r.diagnostic_info("service diagnostics")
        (count,) = r.take("<i", "string table")
        for _ in range(max(count, 0)):
            r.string("string table")
        r.extension_object("additional header")
        if name == "OpenSecureChannelResponse":
            _version, m.revised_channel_id, m.revised_token_id = r.take("<III", "token")


def looks_like_opcua(data: bytes) -> float:
    """0.95 for a HEL (or RHE) with a sane size and an opc.tcp URL, 0.5 for another framed
    chunk type on its own (a flow joined mid-way), else 0."""
    if len(data) < HEADER:
        return 0.0
    try:
        size = frame_length(data)
    except (Malformed, NeedMoreData):
        return 0.0
    t = data[:3]
    if t in (b"HEL", b"RHE"):
        return 0.95 if b"opc." in data[:size] or size >= 32 else 0.4
    if t in (b"OPN", b"MSG", b"CLO", b"ACK", b"ERR") and size == len(data):
        return 0.5
    return 0.2
