"""TLS parsing: record framing, ClientHello / ServerHello / Certificate bodies, JA4.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only.
``client_hello``, ``server_hello`` and ``ja4`` give what ``parse_client_hello``,
``parse_server_hello`` and ``_ja4`` would, from a bounded memory of earlier results keyed by
exactly the bytes (or fields) the result depends on: peers repeat their hellos (.shapes).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ...core.errors import Malformed, NeedMoreData
from .codes import JA4_VERSIONS, is_grease
from .shapes import ShapeCache

RECORD_HEADER = 5
MAX_RECORD = (1 << 14) + 2048  # TLSCiphertext limit
MAX_HANDSHAKE = 1 << 18  # a handshake message bigger than this is not buffered
CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})  # the record types ``record_length`` accepts
TRUNCATED = "truncated handshake field"  # the reason of every malformed hello


def record_length(buf: bytes | bytearray) -> int:
    """Length of the TLS record at the start of ``buf`` (for stream framing)."""
    if len(buf) < RECORD_HEADER:
        raise NeedMoreData
    ctype, major, _minor, length = struct.unpack_from("!BBBH", buf, 0)
    if ctype not in CONTENT_TYPES or major != 3 or length > MAX_RECORD:
        raise Malformed(f"not a TLS record header ({bytes(buf[:5]).hex()})")
    return RECORD_HEADER + int(length)


def looks_like_tls(data: bytes) -> float:
    """Score the first payload of a flow: a handshake record opening a ClientHello or
    ServerHello with consistent lengths."""
    if len(data) < 11:
        return 0.0
    ctype, major, minor, length = struct.unpack_from("!BBBH", data, 0)
    if ctype != 22 or major != 3 or minor > 4 or length < 4 or length > MAX_RECORD:
        return 0.0
    hs_type = data[5]
    hs_len = int.from_bytes(data[6:9], "big")
    if hs_type not in (1, 2) or hs_len < 38 or hs_len > MAX_HANDSHAKE:
        return 0.0
    if data[9] != 3 or data[10] > 4:  # the hello's legacy_version
        return 0.0
    if hs_len + 4 > length:  # a hello split over records: legal, rare
        return 0.8
    return 0.95


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise Malformed(TRUNCATED)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "big")

    def vec(self, size_len: int) -> bytes:
        n = int.from_bytes(self.take(size_len), "big")
        return self.take(n)

    @property
    def left(self) -> int:
        return self.end - self.pos


def _u16_list(data: bytes, start: int, stop: int) -> tuple[int, ...]:
    """The big-endian 16-bit values of ``data[start:stop]`` (an odd last byte is ignored),
    read in place rather than from a slice."""
    n = (stop - start) >> 1
    return struct.unpack_from(f">{n}H", data, start) if n else ()


def _vec(data: bytes, pos: int, width: int, end: int) -> tuple[int, int]:
    """(start, stop) of the length-prefixed vector at ``pos`` (a prefix of 1 or 2 bytes)."""
    start = pos + width
    if start > end:
        raise Malformed(TRUNCATED)
    stop = start + (data[pos] if width == 1 else data[pos] << 8 | data[pos + 1])
    if stop > end:
        raise Malformed(TRUNCATED)
    return start, stop


# The hellos are immutable (:func:`client_hello` and :func:`server_hello` hand one object to
# many flows); named tuples rather than frozen dataclasses, which take twice as long to build.
class ClientHello(NamedTuple):
    legacy_version: int
    cipher_suites: tuple[int, ...]
    extensions: tuple[int, ...]
    supported_versions: tuple[int, ...] = ()
    server_name: str | None = None
    alpn: tuple[str, ...] = ()
    alpn_raw: tuple[bytes, ...] = ()
    supported_groups: tuple[int, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    ec_point_formats: tuple[int, ...] = ()
    key_share_groups: tuple[int, ...] = ()
    session_id_length: int = 0


class ServerHello(NamedTuple):
    legacy_version: int
    cipher_suite: int
    compression: int
    extensions: tuple[int, ...]
    selected_version: int | None = None
    key_share_group: int | None = None
    alpn: str | None = None
    hello_retry: bool = False


HELLO_RETRY_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)


def parse_client_hello(body: bytes) -> ClientHello:
    """The fields of a ClientHello body (:func:`client_hello` is the same, remembered)."""
    return _parse_client_hello(body)[0]


# Extensions whose content the ClientHello parse reads (key_share apart: it is read per hello).
_READ_EXTENSIONS = frozenset({0, 10, 11, 13, 16, 43})


def _parse_client_hello(
    body: bytes,
) -> tuple[ClientHello, list[tuple[int, int]], list[tuple[int, int]]]:
    """The hello; the extension contents it never read; the key_share contents (spans).

    One pass over the extensions with offset arithmetic, reading lists in place. Any
    malformation raises ``Malformed(TRUNCATED)``, the same reason wherever it is found."""
    end = len(body)
    if end < 35:
        raise Malformed(TRUNCATED)
    session_id_length = body[34]
    pos = 35 + session_id_length
    unread: list[tuple[int, int]] = []
    if pos + 2 > end:
        raise Malformed(TRUNCATED)
    stop = pos + 2 + (body[pos] << 8 | body[pos + 1])  # cipher_suites
    if stop > end:
        raise Malformed(TRUNCATED)
    ciphers = _u16_list(body, pos + 2, stop)
    if stop + 1 > end:
        raise Malformed(TRUNCATED)
    pos = stop + 1 + body[stop]  # past compression_methods
    if pos > end:
        raise Malformed(TRUNCATED)
    types: list[int] = []
    shares_at: list[tuple[int, int]] = []
    server_name = None
    alpn_raw: tuple[bytes, ...] = ()
    groups: tuple[int, ...] = ()
    sigs: tuple[int, ...] = ()
    point_formats: tuple[int, ...] = ()
    versions: tuple[int, ...] = ()
    shares: tuple[int, ...] = ()
    if pos != end:  # the extensions block is optional
        for ext_type, a, b in _extensions(body, pos, end):
            types.append(ext_type)
            if ext_type == 51:
                shares_at.append((a, b))
            elif ext_type not in _READ_EXTENSIONS:
                unread.append((a, b))
            if a == b:
                continue
            if ext_type == 0:  # server_name: the first host_name entry
                p, stop = _vec(body, a, 2, b)
                while p < stop:
                    name_type = body[p]
                    n_start, p = _vec(body, p + 1, 2, stop)
                    if name_type == 0:
                        server_name = body[n_start:p].decode("ascii", errors="replace")
                        break
            elif ext_type == 16:  # ALPN
                p, stop = _vec(body, a, 2, b)
                raw = []
                while p < stop:
                    p_start, p = _vec(body, p, 1, stop)
                    raw.append(body[p_start:p])
                alpn_raw = tuple(raw)
            elif ext_type == 10:
                groups = _u16_list(body, *_vec(body, a, 2, b))
            elif ext_type == 13:
                sigs = _u16_list(body, *_vec(body, a, 2, b))
            elif ext_type == 11:
                p, stop = _vec(body, a, 1, b)
                point_formats = tuple(body[p:stop])
            elif ext_type == 43:
                versions = _u16_list(body, *_vec(body, a, 1, b))
            elif ext_type == 51:
                shares = _key_share_groups(body, a, b)
    hello = ClientHello(
        legacy_version=body[0] << 8 | body[1],
        cipher_suites=ciphers,
        extensions=tuple(types),
        supported_versions=versions,
        server_name=server_name,
        alpn=tuple(p.decode("ascii", errors="replace") for p in alpn_raw) if alpn_raw else (),
        alpn_raw=alpn_raw,
        supported_groups=groups,
        signature_algorithms=sigs,
        ec_point_formats=point_formats,
        key_share_groups=shares,
        session_id_length=session_id_length,
    )
    return hello, unread, shares_at


def _extensions(body: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(type, start, end of content) of each extension of the block at ``pos`` (after its
    2-byte length); Malformed if one runs past the block."""
    pos, block_end = _vec(body, pos, 2, end)
    while pos < block_end:
        if pos + 4 > block_end:
            raise Malformed(TRUNCATED)
        a = pos + 4
        b = a + (body[pos + 2] << 8 | body[pos + 3])
        if b > block_end:
            raise Malformed(TRUNCATED)
        yield body[pos] << 8 | body[pos + 1], a, b
        pos = b


def _key_share_groups(body: bytes, a: int, b: int) -> tuple[int, ...]:
    """The group of each KeyShareEntry of the key_share extension content ``body[a:b]``."""
    if a == b:
        return ()
    p, stop = _vec(body, a, 2, b)
    groups = []
    while p < stop:  # KeyShareEntry: group (2 bytes), key_exchange (2-byte length + key)
        if p + 4 > stop:
            raise Malformed(TRUNCATED)
        groups.append(body[p] << 8 | body[p + 1])
        p += 4 + (body[p + 2] << 8 | body[p + 3])
        if p > stop:
            raise Malformed(TRUNCATED)
    return tuple(groups)


# Hellos by shape (see .shapes): a client, and a server answering it, repeat the same hello
# on every connection but for its random, session id and key_share public key.
_CLIENT_HELLOS: ShapeCache[ClientHello] = ShapeCache()
_SERVER_HELLOS: ShapeCache[ServerHello] = ShapeCache()


def client_hello(body: bytes) -> ClientHello:
    """:func:`parse_client_hello`, reusing the parse of an earlier hello of the same shape.

    The parse never reads the random, the session id or the content of extensions such as a
    session ticket or padding, so those may differ in a match; the key_share groups are read
    again from each hello (and may raise ``Malformed`` as the full parse would)."""
    shape = _CLIENT_HELLOS.find(body)
    if shape is not None:
        hello = shape.value
        if shape.extra is None:
            return hello
        groups = _key_share_groups(body, *shape.extra)
        if groups == hello.key_share_groups:
            return hello
        return hello._replace(key_share_groups=groups)
    hello, unread, shares_at = _parse_client_hello(body)
    if len(shares_at) <= 1:  # (a later key_share overwrites an earlier one: not remembered)
        share = shares_at[0] if shares_at else None
        variable = [(2, 34), (35, 35 + hello.session_id_length), *shares_at, *unread]
        _CLIENT_HELLOS.add(body, variable, hello, share)
    return hello


def server_hello(body: bytes) -> ServerHello:
    """:func:`parse_server_hello`, reusing the parse of an earlier hello of the same shape.

    The parse never reads the session id, a key_share's key or the content of extensions
    other than supported_versions and ALPN, so those may differ in a match; the random is
    only compared with the HelloRetryRequest value, which is done again for each hello."""
    shape = _SERVER_HELLOS.find(body)
    if shape is not None:
        hello = shape.value
        retry = body.startswith(HELLO_RETRY_RANDOM, 2)
        return hello if retry == hello.hello_retry else hello._replace(hello_retry=retry)
    hello, unread = _parse_server_hello(body)
    _SERVER_HELLOS.add(body, [(2, 34), (35, 35 + body[34]), *unread], hello)
    return hello


def parse_server_hello(body: bytes) -> ServerHello:
    """The fields of a ServerHello body (:func:`server_hello` is the same, remembered)."""
    return _parse_server_hello(body)[0]


def _parse_server_hello(body: bytes) -> tuple[ServerHello, list[tuple[int, int]]]:
    """The hello and the extension contents it never read (spans); one pass, as
    :func:`_parse_client_hello`."""
    end = len(body)
    if end < 35:
        raise Malformed(TRUNCATED)
    pos = 35 + body[34]  # past the session id
    if pos + 3 > end:
        raise Malformed(TRUNCATED)
    cipher = body[pos] << 8 | body[pos + 1]
    compression = body[pos + 2]
    pos += 3
    types: list[int] = []
    unread: list[tuple[int, int]] = []
    selected_version = None
    share_group = None
    alpn = None
    if pos != end:  # the extensions block is optional
        for ext_type, a, b in _extensions(body, pos, end):
            types.append(ext_type)
            if ext_type == 43 and b - a >= 2:
                selected_version = body[a] << 8 | body[a + 1]
            elif ext_type == 51 and b - a >= 2:
                share_group = body[a] << 8 | body[a + 1]  # KeyShareEntry; HRR: the group
                unread.append((a + 2, b))  # the key
            elif ext_type == 16 and b > a:
                p, stop = _vec(body, a, 2, b)
                if p < stop:
                    p_start, p_stop = _vec(body, p, 1, stop)
                    alpn = body[p_start:p_stop].decode("ascii", errors="replace")
            elif ext_type not in (16, 43, 51):
                unread.append((a, b))
    hello = ServerHello(
        legacy_version=body[0] << 8 | body[1],
        cipher_suite=cipher,
        compression=compression,
        extensions=tuple(types),
        selected_version=selected_version,
        key_share_group=share_group,
        alpn=alpn,
        hello_retry=body.startswith(HELLO_RETRY_RANDOM, 2),
    )
    return hello, unread


def parse_certificate_list(body: bytes) -> list[bytes]:
    """The DER certificates of a TLS <= 1.2 Certificate message (sender's first)."""
    r = _Reader(body)
    chain = _Reader(r.vec(3))
    certs = []
    while chain.left:
        certs.append(chain.vec(3))
    return certs


@dataclass(frozen=True, slots=True)
class Ja4:
    fingerprint: str
    raw: str = field(default="")  # ja4_r: the sorted lists before hashing


def _hash12(text: str) -> str:
    if not text:
        return "000000000000"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _alnum(b: int) -> bool:
    return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A


_JA4_CACHE: dict[tuple[object, ...], Ja4] = {}
_JA4_CACHE_MAX = 4096


def ja4(ch: ClientHello, transport: str = "t") -> Ja4:
    """The JA4 TLS client fingerprint (FoxIO JA4 specification).

    A network's clients send few distinct hellos (one per TLS library and configuration), so
    fingerprints are remembered by the fields they depend on: two hashes saved per flow."""
    key = (transport, ch.legacy_version, ch.supported_versions, ch.cipher_suites,
           ch.extensions, ch.signature_algorithms, ch.alpn_raw[:1])
    found = _JA4_CACHE.get(key)
    if found is None:
        if len(_JA4_CACHE) >= _JA4_CACHE_MAX:
            _JA4_CACHE.clear()
        found = _JA4_CACHE[key] = _ja4(ch, transport)
    return found


def _ja4(ch: ClientHello, transport: str) -> Ja4:
    versions = [v for v in ch.supported_versions if not is_grease(v)]
    version = max(versions) if versions else ch.legacy_version
    ver = JA4_VERSIONS.get(version, "00")
    sni = "d" if 0 in ch.extensions else "i"
    ciphers = [c for c in ch.cipher_suites if not is_grease(c)]
    exts = [e for e in ch.extensions if not is_grease(e)]
    if ch.alpn_raw and ch.alpn_raw[0]:
        first = ch.alpn_raw[0]
        if _alnum(first[0]) and _alnum(first[-1]):
            alpn = chr(first[0]) + chr(first[-1])
        else:
            hx = first.hex()
            alpn = hx[0] + hx[-1]
    else:
        alpn = "00"
    part_a = f"{transport}{ver}{sni}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{alpn}"
    cipher_text = ",".join(sorted(f"{c:04x}" for c in ciphers))
    ext_text = ",".join(sorted(f"{e:04x}" for e in exts if e not in (0x0000, 0x0010)))
    sigs = ",".join(f"{s:04x}" for s in ch.signature_algorithms if not is_grease(s))
    ext_full = f"{ext_text}_{sigs}" if sigs else ext_text
    part_c = _hash12(ext_full) if ext_text else "000000000000"
    fingerprint = f"{part_a}_{_hash12(cipher_text)}_{part_c}"
    return Ja4(fingerprint, f"{part_a}_{cipher_text}_{ext_full}")
