"""EtherNet/IP encapsulation, Common Packet Format and CIP message router parsing.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only.
All EtherNet/IP and CIP integers are little-endian, except the socket address in identity items
(network order, as in ``struct sockaddr_in``).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData
from .codes import (
    ENCAP_COMMANDS,
    FORWARD_CLOSE,
    FORWARD_OPEN,
    LARGE_FORWARD_OPEN,
    MULTIPLE_SERVICE_PACKET,
    UNCONNECTED_SEND,
)

HEADER_LEN = 24
MAX_ENCAP_DATA = 65511  # 65535 - 24
MAX_EMBEDDED_DEPTH = 4  # nested unconnected-send / multiple-service-packet levels kept
MAX_EMBEDDED = 64  # embedded requests kept per multiple-service-packet
MAX_ITEMS = 16  # CPF items kept per message

MAX_COMMAND = 0x00C7  # above: vendor or invalid; legacy and reserved codes still frame
_HEADER = struct.Struct("<HHII8sI")


@dataclass(frozen=True, slots=True)
class EncapHeader:
    command: int
    length: int
    session: int
    status: int
    context: bytes
    options: int


def encap_length(buf: bytes | bytearray) -> int:
    """Length of the encapsulation message at the start of ``buf`` (for stream framing)."""
    if len(buf) < 4:
        raise NeedMoreData
    command, length = struct.unpack_from("<HH", buf, 0)
    if command > MAX_COMMAND:
        raise Malformed(f"unknown encapsulation command {command:#06x}")
    if len(buf) >= HEADER_LEN:
        options = struct.unpack_from("<I", buf, 20)[0]
        if options != 0:
            raise Malformed(f"encapsulation options {options:#x} (must be 0)")
    return HEADER_LEN + int(length)


def parse_header(msg: bytes) -> EncapHeader:
    if len(msg) < HEADER_LEN:
        raise NeedMoreData
    command, length, session, status, context, options = _HEADER.unpack_from(msg, 0)
    return EncapHeader(command, length, session, status, context, options)


def looks_like_enip(data: bytes, datagram: bool = False) -> float:
    """Score (0..1) that ``data`` starts with an EtherNet/IP encapsulation message."""
    if len(data) < HEADER_LEN or (data[0] | data[1] << 8) > MAX_COMMAND:
        return 0.0  # most flows of other protocols end here, before a header is built
    h = parse_header(data)
    if h.command > MAX_COMMAND or h.options != 0:
        return 0.0
    total = HEADER_LEN + h.length
    if h.command not in ENCAP_COMMANDS:  # legacy / reserved: only an exact, status-0 header
        return 0.4 if total == len(data) and h.status == 0 and h.session == 0 else 0.0
    if datagram and total != len(data):
        return 0.0
    if total > len(data):
        # a TCP first payload may be cut; accept only if the part seen is a sane prefix
        if h.length > MAX_ENCAP_DATA:
            return 0.0
        return 0.3
    score = 0.5
    body = data[HEADER_LEN:total]
    if h.command == 0x0000:
        return 0.3  # nop: too little structure to be sure
    if h.command == 0x0065 and h.length == 4:
        version, flags = struct.unpack_from("<HH", body, 0)
        score = 0.9 if version == 1 and flags == 0 else 0.4
    elif h.command in (0x0063, 0x0004, 0x0064):
        if h.length == 0:
            score = 0.7
        else:
            try:
                items = parse_cpf(body)
            except (Malformed, NeedMoreData):
                return 0.1
            score = 0.85 if items else 0.5
    elif h.command in (0x006F, 0x0070):
        if h.length < 8:
            return 0.1
        try:
            items = parse_cpf(body[6:])
        except (Malformed, NeedMoreData):
            return 0.1
        score = 0.9 if len(items) >= 2 else 0.5
    elif h.command == 0x0066:
        score = 0.7 if h.length == 0 and h.session != 0 else 0.4
    if total < len(data):  # another message follows: it must frame too
        try:
            encap_length(data[total:])
        except Malformed:
            score -= 0.3
        except NeedMoreData:
            pass
    return max(0.0, min(1.0, score))


# --------------------------------------------------------------------------- CPF


@dataclass(frozen=True, slots=True)
class CpfItem:
    type_id: int
    data: bytes


def parse_cpf(data: bytes) -> list[CpfItem]:
    """Common Packet Format items: count, then (type, length, data) each."""
    if len(data) < 2:
        raise Malformed("CPF: no item count")
    (count,) = struct.unpack_from("<H", data, 0)
    if count > MAX_ITEMS:
        raise Malformed(f"CPF: {count} items")
    items: list[CpfItem] = []
    off = 2
    for _ in range(count):
        if off + 4 > len(data):
            raise Malformed("CPF: item header cut")
        type_id, length = struct.unpack_from("<HH", data, off)
        off += 4
        if off + length > len(data):
            raise Malformed(f"CPF: item {type_id:#06x} of {length} bytes runs past the message")
        items.append(CpfItem(type_id, bytes(data[off : off + length])))
        off += length
    return items


@dataclass(frozen=True, slots=True)
class Identity:
    encapsulation_version: int
    socket_address: str
    socket_port: int
    vendor_id: int
    device_type: int
    product_code: int
    revision_major: int
    revision_minor: int
    status: int
    serial_number: int
    product_name: str
    state: int | None


def parse_identity(data: bytes) -> Identity:
    """A ListIdentity (CPF type 0x0C) item."""
    if len(data) < 33:
        raise Malformed(f"identity item of {len(data)} bytes")
    (version,) = struct.unpack_from("<H", data, 0)
    _family, port, addr = struct.unpack_from(">HH4s", data, 2)
    vendor, devtype, product, major, minor, status, serial, namelen = struct.unpack_from(
        "<HHHBBHIB", data, 18
    )
    if 33 + namelen > len(data):
        raise Malformed("identity item: product name runs past the item")
    name = data[33 : 33 + namelen].decode("latin-1")
    state = data[33 + namelen] if len(data) > 33 + namelen else None
    return Identity(
        encapsulation_version=version,
        socket_address=str(ipaddress.IPv4Address(addr)),
        socket_port=port,
        vendor_id=vendor,
        device_type=devtype,
        product_code=product,
        revision_major=major,
        revision_minor=minor,
        status=status,
        serial_number=serial,
        product_name=name,
        state=state,
    )


# --------------------------------------------------------------------------- CIP paths


@dataclass(slots=True)
class CipPath:
    class_id: int | None = None
    instance: int | None = None
    attribute: int | None = None
    member: int | None = None
    connection_point: int | None = None
    symbols: list[str] = field(default_factory=list)
    ports: list[tuple[int, bytes]] = field(default_factory=list)  # (port, link address)
    classes: list[int] = field(default_factory=list)  # every class segment, in order
    instances: list[int] = field(default_factory=list)
    attributes: list[int] = field(default_factory=list)

    @property
    def symbol(self) -> str | None:
        return ".".join(self.symbols) if self.symbols else None

    def text(self) -> str:
        parts: list[str] = []
        for port, link in self.ports:
            parts.append(f"port {port}/{_link_text(link)}")
        if self.symbols:
            parts.append(".".join(self.symbols))
        if self.class_id is not None:
            parts.append(f"class {self.class_id:#x}")
        if self.instance is not None:
            parts.append(f"instance {self.instance}")
        if self.attribute is not None:
            parts.append(f"attribute {self.attribute}")
        if self.member is not None:
            parts.append(f"member {self.member}")
        if self.connection_point is not None:
            parts.append(f"connection-point {self.connection_point}")
        return ", ".join(parts)


def _link_text(link: bytes) -> str:
    if len(link) == 1:
        return str(link[0])
    try:
        return link.decode("ascii")
    except UnicodeDecodeError:
        return link.hex()


def parse_path(data: bytes) -> CipPath:
    """An EPATH (padded): port, logical, symbolic and data segments."""
    p = CipPath()
    off = 0
    n = len(data)
    while off < n:
        seg = data[off]
        kind = seg >> 5
        if kind == 0:  # port segment
            port = seg & 0x0F
            ext = seg & 0x10
            if ext:
                if off + 2 > n:
                    raise Malformed("port segment cut")
                size = data[off + 1]
                start = off + 2
            else:
                size = 1
                start = off + 1
            if port == 0x0F:  # extended port id
                if start + 2 > n:
                    raise Malformed("port segment cut")
                (port,) = struct.unpack_from("<H", data, start)
                start += 2
            if start + size > n:
                raise Malformed("port segment link address cut")
            p.ports.append((port, bytes(data[start : start + size])))
            off = start + size
            off += off & 1
        elif kind == 1:  # logical segment
            ltype = (seg >> 2) & 0x07
            fmt = seg & 0x03
            if ltype == 5 and fmt == 0:  # electronic key
                if off + 2 > n:
                    raise Malformed("electronic key cut")
                off += 2 + (8 if data[off + 1] == 4 else 0)
                if off > n:
                    raise Malformed("electronic key cut")
                continue
            if fmt == 0:
                if off + 2 > n:
                    raise Malformed("8-bit logical segment cut")
                value = data[off + 1]
                off += 2
            elif fmt == 1:
                if off + 4 > n:
                    raise Malformed("16-bit logical segment cut")
                (value,) = struct.unpack_from("<H", data, off + 2)
                off += 4
            elif fmt == 2:
                if off + 6 > n:
                    raise Malformed("32-bit logical segment cut")
                (value,) = struct.unpack_from("<I", data, off + 2)
                off += 6
            else:
                raise Malformed(f"reserved logical format in segment {seg:#04x}")
            if ltype == 0:
                p.classes.append(value)
                if p.class_id is None:
                    p.class_id = value
            elif ltype == 1:
                p.instances.append(value)
                if p.instance is None:
                    p.instance = value
            elif ltype == 2:
                if p.member is None:
                    p.member = value
            elif ltype == 3:
                if p.connection_point is None:
                    p.connection_point = value
            elif ltype == 4:
                p.attributes.append(value)
                if p.attribute is None:
                    p.attribute = value
        elif kind == 2:  # network segment
            if seg == 0x5F or seg & 0x10:  # extended / safety: word count
                if off + 2 > n:
                    raise Malformed("network segment cut")
                off += 2 + 2 * data[off + 1]
            else:
                off += 2
            if off > n:
                raise Malformed("network segment cut")
        elif kind == 3:  # symbolic segment
            size = seg & 0x1F
            if size == 0:
                if off + 2 > n:
                    raise Malformed("extended symbol cut")
                fmt = data[off + 1]
                off += 2 + 2 * (fmt & 0x1F) if fmt >> 5 in (1, 2) else 2 + (fmt & 0x1F)
            else:
                if off + 1 + size > n:
                    raise Malformed("symbolic segment cut")
                p.symbols.append(data[off + 1 : off + 1 + size].decode("latin-1"))
                off += 1 + size
            off += off & 1
        elif kind == 4:  # data segment
            if seg == 0x91:  # ANSI extended symbol
                if off + 2 > n:
                    raise Malformed("ANSI symbol cut")
                size = data[off + 1]
                if off + 2 + size > n:
                    raise Malformed("ANSI symbol cut")
                p.symbols.append(data[off + 2 : off + 2 + size].decode("latin-1"))
                off += 2 + size
                off += off & 1
            elif seg == 0x80:  # simple data: word count
                if off + 2 > n:
                    raise Malformed("data segment cut")
                off += 2 + 2 * data[off + 1]
            else:
                raise Malformed(f"unknown data segment {seg:#04x}")
        else:
            raise Malformed(f"unknown path segment {seg:#04x}")
    if off > n:
        raise Malformed("path runs past its size")
    return p


# --------------------------------------------------------------------------- CIP messages


@dataclass(slots=True)
class ForwardOpen:
    ot_connection_id: int
    to_connection_id: int
    connection_serial: int
    originator_vendor_id: int
    originator_serial: int
    ot_rpi: int | None = None  # microseconds (requests only)
    to_rpi: int | None = None
    ot_api: int | None = None  # microseconds (responses only)
    to_api: int | None = None
    transport_type: int | None = None
    connection_path: CipPath | None = None


@dataclass(slots=True)
class CipMessage:
    """One message router request or response (``service`` without the response bit)."""

    service: int
    response: bool
    path: CipPath | None = None  # requests
    general_status: int | None = None  # responses
    extended_status: tuple[int, ...] = ()
    data: bytes = b""
    embedded: list[CipMessage] = field(default_factory=list)
    forward_open: ForwardOpen | None = None
    attribute_list: tuple[int, ...] = ()  # get/set-attribute-list requests
    connection_serial: int | None = None  # forward-close
    route: CipPath | None = None  # unconnected-send route path


def parse_cip(data: bytes, depth: int = 0) -> CipMessage:
    """A message router request or response (told apart by the response bit)."""
    if len(data) < 2:
        raise Malformed(f"CIP message of {len(data)} bytes")
    if data[0] & 0x80:
        return _parse_response(data, depth)
    return _parse_request(data, depth)


def _parse_request(data: bytes, depth: int) -> CipMessage:
    service = data[0]
    size = 2 * data[1]
    if 2 + size > len(data):
        raise Malformed("request path runs past the message")
    path = parse_path(data[2 : 2 + size])
    body = data[2 + size :]
    msg = CipMessage(service=service, response=False, path=path, data=body)
    cm = path.class_id == 0x06
    if service == MULTIPLE_SERVICE_PACKET:
        msg.embedded = _split_multiple(body, depth)
    elif service in (0x03, 0x04) and len(body) >= 2:
        (count,) = struct.unpack_from("<H", body, 0)
        if service == 0x03:
            count = min(count, (len(body) - 2) // 2, 256)
            msg.attribute_list = struct.unpack_from(f"<{count}H", body, 2)
        elif len(body) >= 4:
            msg.attribute_list = (struct.unpack_from("<H", body, 2)[0],)
    elif cm and service == UNCONNECTED_SEND:
        if len(body) < 4:
            raise Malformed("unconnected-send cut")
        (req_size,) = struct.unpack_from("<H", body, 2)
        if 4 + req_size > len(body):
            raise Malformed("unconnected-send embedded request runs past the message")
        if depth < MAX_EMBEDDED_DEPTH and req_size >= 2:
            msg.embedded = [parse_cip(body[4 : 4 + req_size], depth + 1)]
        off = 4 + req_size + (req_size & 1)
        if off + 2 <= len(body):
            route_words = body[off]
            route = body[off + 2 : off + 2 + 2 * route_words]
            try:
                msg.route = parse_path(route)
            except Malformed:
                msg.route = None
    elif cm and service in (FORWARD_OPEN, LARGE_FORWARD_OPEN):
        msg.forward_open = _forward_open_request(body, large=service == LARGE_FORWARD_OPEN)
    elif cm and service == FORWARD_CLOSE and len(body) >= 10:
        (msg.connection_serial,) = struct.unpack_from("<H", body, 2)
    return msg


def _forward_open_request(body: bytes, large: bool) -> ForwardOpen:
    fmt = "<BBIIHHIB3xIIIIB" if large else "<BBIIHHIB3xIHIHB"
    need = struct.calcsize(fmt) + 1
    if len(body) < need:
        raise Malformed(f"forward-open request of {len(body)} bytes, need {need}")
    (_tick, _timeout, ot_id, to_id, serial, vendor, orig_serial, _mult, ot_rpi, _otp, to_rpi,
     _top, transport) = struct.unpack_from(fmt, body, 0)  # fmt: skip
    off = struct.calcsize(fmt)
    words = body[off]
    path_bytes = body[off + 1 : off + 1 + 2 * words]
    try:
        path: CipPath | None = parse_path(path_bytes)
    except Malformed:
        path = None
    return ForwardOpen(
        ot_connection_id=ot_id,
        to_connection_id=to_id,
        connection_serial=serial,
        originator_vendor_id=vendor,
        originator_serial=orig_serial,
        ot_rpi=ot_rpi,
        to_rpi=to_rpi,
        transport_type=transport,
        connection_path=path,
    )


def _split_multiple(body: bytes, depth: int) -> list[CipMessage]:
    if len(body) < 2:
        raise Malformed("multiple-service-packet without a count")
    (count,) = struct.unpack_from("<H", body, 0)
    if 2 + 2 * count > len(body):
        raise Malformed(f"multiple-service-packet: {count} offsets run past the message")
    offsets = struct.unpack_from(f"<{count}H", body, 2)
    out: list[CipMessage] = []
    if depth >= MAX_EMBEDDED_DEPTH:
        return out
    for i, start in enumerate(offsets[:MAX_EMBEDDED]):
        end = offsets[i + 1] if i + 1 < count else len(body)
        if start < 2 + 2 * count or end > len(body) or end <= start:
            raise Malformed(f"multiple-service-packet: bad offset {start}")
        out.append(parse_cip(body[start:end], depth + 1))
    return out


def _parse_response(data: bytes, depth: int) -> CipMessage:
    if len(data) < 4:
        raise Malformed(f"CIP response of {len(data)} bytes")
    service = data[0] & 0x7F
    status = data[2]
    ext_words = data[3]
    off = 4 + 2 * ext_words
    if off > len(data):
        raise Malformed("extended status runs past the message")
    ext = struct.unpack_from(f"<{ext_words}H", data, 4)
    body = data[off:]
    msg = CipMessage(
        service=service, response=True, general_status=status, extended_status=ext, data=body
    )
    if service == MULTIPLE_SERVICE_PACKET and status in (0x00, 0x1E) and body:
        msg.embedded = _split_multiple(body, depth)
    elif service in (FORWARD_OPEN, LARGE_FORWARD_OPEN) and status == 0 and len(body) >= 26:
        ot_id, to_id, serial, vendor, orig_serial, ot_api, to_api = struct.unpack_from(
            "<IIHHIII", body, 0
        )
        msg.forward_open = ForwardOpen(
            ot_connection_id=ot_id,
            to_connection_id=to_id,
            connection_serial=serial,
            originator_vendor_id=vendor,
            originator_serial=orig_serial,
            ot_api=ot_api,
            to_api=to_api,
        )
    elif service == FORWARD_CLOSE and len(body) >= 2:
        (msg.connection_serial,) = struct.unpack_from("<H", body, 0)
    return msg
