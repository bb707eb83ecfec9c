"""CoAP message parsing (RFC 7252 section 3): header, token, options, payload."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.errors import Malformed

MAX_OPTIONS = 64


@dataclass(slots=True)
class CoapPdu:
    version: int
    type: int
    code: int
    message_id: int
    token: bytes
    options: list[tuple[int, bytes]] = field(default_factory=list)
    payload_length: int = 0


def _uint(raw: bytes) -> int:
    return int.from_bytes(raw, "big") if raw else 0


def _extended(nibble: int, data: bytes, i: int, what: str) -> tuple[int, int]:
    if nibble < 13:
        return nibble, i
    if nibble == 13:
        if i + 1 > len(data):
            raise Malformed(f"option {what} cut short")
        return data[i] + 13, i + 1
    if nibble == 14:
        if i + 2 > len(data):
            raise Malformed(f"option {what} cut short")
        return (data[i] << 8 | data[i + 1]) + 269, i + 2
    raise Malformed(f"option {what} nibble 15 is reserved")


def parse_coap(data: bytes) -> CoapPdu:
    """One datagram -> :class:`CoapPdu`; raises :class:`Malformed`."""
    if len(data) < 4:
        raise Malformed("CoAP header cut short")
    first = data[0]
    version, mtype, tkl = first >> 6, first >> 4 & 3, first & 0x0F
    if version != 1:
        raise Malformed(f"CoAP version {version}")
    if tkl > 8:
        raise Malformed(f"token length {tkl}")
    code = data[1]
    if len(data) < 4 + tkl:
        raise Malformed("token cut short")
    pdu = CoapPdu(version, mtype, code, data[2] << 8 | data[3], bytes(data[4 : 4 + tkl]))
    if code == 0:
        if len(data) > 4 + tkl or tkl:
            raise Malformed("empty message with token or content")
        return pdu
    i = 4 + tkl
    number = 0
    while i < len(data):
        head = data[i]
        if head == 0xFF:
            if i + 1 >= len(data):
                raise Malformed("payload marker without payload")
            pdu.payload_length = len(data) - i - 1
            break
        i += 1
        delta, i = _extended(head >> 4, data, i, "delta")
        length, i = _extended(head & 0x0F, data, i, "length")
        if i + length > len(data):
            raise Malformed("option value cut short")
        number += delta
        if len(pdu.options) >= MAX_OPTIONS:
            raise Malformed("too many options")
        pdu.options.append((number, bytes(data[i : i + length])))
        i += length
    return pdu


KNOWN_OPTIONS = frozenset(
    {1, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 17, 20, 23, 27, 28, 35, 39, 60, 258, 2049, 2053, 2055}
)


def looks_like_coap(data: bytes) -> float:
    """How sure (0..1) that a datagram is CoAP."""
    # Every UDP flow of another protocol is asked too: reject on the fixed header (version 1,
    # token length, a request or response code class) before parsing the options.
    if len(data) < 4 or data[0] >> 6 != 1 or data[0] & 0x0F > 8:
        return 0.0
    code = data[1]
    if code >> 5 not in (0, 2, 4, 5) or (code >> 5 == 0 and code > 7):
        return 0.0
    try:
        pdu = parse_coap(data)
    except Malformed:
        return 0.0
    cls = pdu.code >> 5
    if cls not in (0, 2, 4, 5) or (cls == 0 and pdu.code > 7):
        return 0.0
    if pdu.type == 0 and pdu.code == 0 and cls == 0:
        return 0.3  # a CoAP ping: 4 bytes only, weak evidence
    # The header is small enough that random datagrams often parse; only registered option
    # numbers with printable Uri-Path/Uri-Host/Uri-Query text make strong evidence.
    if not pdu.options or any(num not in KNOWN_OPTIONS for num, _ in pdu.options):
        return 0.3
    texts = [v for num, v in pdu.options if num in (3, 11, 15)]
    if texts and all(v and all(32 <= b < 127 for b in v) for v in texts):
        return 0.7
    return 0.3


def block_option(raw: bytes) -> tuple[int, bool, int]:
    """Block1/Block2 value -> (block number, more, size in bytes)."""
    v = _uint(raw)
    return v >> 4, bool(v & 8), 1 << ((v & 7) + 4)


uint = _uint
