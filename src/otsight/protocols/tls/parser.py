"""TLS parsing: record framing, ClientHello / ServerHello / Certificate bodies, JA4.

Pure functions over bytes; they raise :class:`NeedMoreData` or :class:`Malformed` only.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from ...core.errors import Malformed, NeedMoreData
from .codes import JA4_VERSIONS, is_grease

RECORD_HEADER = 5
MAX_RECORD = (1 << 14) + 2048  # TLSCiphertext limit
MAX_HANDSHAKE = 1 << 18  # a handshake message bigger than this is not buffered


def record_length(buf: bytes | bytearray) -> int:
    """Length of the TLS record at the start of ``buf`` (for stream framing)."""
    if len(buf) < RECORD_HEADER:
        raise NeedMoreData
    ctype, major, _minor, length = struct.unpack_from("!BBBH", buf, 0)
    if ctype not in (20, 21, 22, 23, 24) or major != 3 or length > MAX_RECORD:
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
            raise Malformed("truncated handshake field")
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


def _u16_list(data: bytes) -> tuple[int, ...]:
    n = len(data) >> 1
    return struct.unpack_from(f">{n}H", data) if n else ()


def _vec(data: bytes, pos: int, width: int, end: int) -> tuple[int, int]:
    """(start, stop) of the length-prefixed vector at ``pos`` (prefix ``width`` bytes)."""
    start = pos + width
    if start > end:
        raise Malformed("truncated handshake field")
    n = int.from_bytes(data[pos:start], "big")
    stop = start + n
    if stop > end:
        raise Malformed("truncated handshake field")
    return start, stop


def _field(data: bytes, pos: int, width: int, end: int) -> bytes:
    start, stop = _vec(data, pos, width, end)
    return data[start:stop]


def _extension_spans(data: bytes, pos: int, end: int) -> list[tuple[int, int, int]]:
    """(type, start, stop) of each extension of the block at ``pos`` (none if it is absent)."""
    if pos == end:
        return []
    pos, stop = _vec(data, pos, 2, end)
    out = []
    unpack = struct.unpack_from
    while pos < stop:
        if pos + 4 > stop:
            raise Malformed("truncated handshake field")
        ext_type, n = unpack(">HH", data, pos)
        pos += 4
        if pos + n > stop:
            raise Malformed("truncated handshake field")
        out.append((ext_type, pos, pos + n))
        pos += n
    return out


@dataclass(slots=True)
class ClientHello:
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


@dataclass(slots=True)
class ServerHello:
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
    """The fields of a ClientHello body (offset arithmetic: this runs once per TLS flow)."""
    end = len(body)
    if end < 35:
        raise Malformed("truncated handshake field")
    version = body[0] << 8 | body[1]
    sid_start, pos = _vec(body, 34, 1, end)
    session_id_length = pos - sid_start
    c_start, pos = _vec(body, pos, 2, end)
    ciphers = _u16_list(body[c_start:pos])
    _, pos = _vec(body, pos, 1, end)  # compression methods
    exts = _extension_spans(body, pos, end)
    ch = ClientHello(version, ciphers, tuple(t for t, _, _ in exts),
                     session_id_length=session_id_length)
    for ext_type, a, b in exts:
        if a == b:
            continue
        if ext_type == 0:  # server_name
            pos, stop = _vec(body, a, 2, b)
            while pos < stop:
                name_type = body[pos]
                n_start, pos = _vec(body, pos + 1, 2, stop)
                if name_type == 0:
                    ch.server_name = body[n_start:pos].decode("ascii", errors="replace")
                    break
        elif ext_type == 16:  # ALPN
            pos, stop = _vec(body, a, 2, b)
            raw = []
            while pos < stop:
                p_start, pos = _vec(body, pos, 1, stop)
                raw.append(body[p_start:pos])
            ch.alpn_raw = tuple(raw)
            ch.alpn = tuple(p.decode("ascii", errors="replace") for p in raw)
        elif ext_type == 10:
            ch.supported_groups = _u16_list(_field(body, a, 2, b))
        elif ext_type == 13:
            ch.signature_algorithms = _u16_list(_field(body, a, 2, b))
        elif ext_type == 11:
            ch.ec_point_formats = tuple(_field(body, a, 1, b))
        elif ext_type == 43:
            ch.supported_versions = _u16_list(_field(body, a, 1, b))
        elif ext_type == 51:
            pos, stop = _vec(body, a, 2, b)
            groups = []
            while pos < stop:
                if pos + 2 > stop:
                    raise Malformed("truncated handshake field")
                groups.append(body[pos] << 8 | body[pos + 1])
                _, pos = _vec(body, pos + 2, 2, stop)
            ch.key_share_groups = tuple(groups)
    return ch


def parse_server_hello(body: bytes) -> ServerHello:
    end = len(body)
    if end < 35:
        raise Malformed("truncated handshake field")
    version = body[0] << 8 | body[1]
    random = body[2:34]
    _, pos = _vec(body, 34, 1, end)  # session id
    if pos + 3 > end:
        raise Malformed("truncated handshake field")
    cipher = body[pos] << 8 | body[pos + 1]
    compression = body[pos + 2]
    exts = _extension_spans(body, pos + 3, end)
    sh = ServerHello(version, cipher, compression, tuple(t for t, _, _ in exts))
    sh.hello_retry = random == HELLO_RETRY_RANDOM
    for ext_type, a, b in exts:
        if ext_type == 43 and b - a >= 2:
            sh.selected_version = body[a] << 8 | body[a + 1]
        elif ext_type == 51 and b - a >= 2:
            sh.key_share_group = body[a] << 8 | body[a + 1]  # KeyShareEntry; HRR: the group
        elif ext_type == 16 and b > a:
            pos, stop = _vec(body, a, 2, b)
            if pos < stop:
                p_start, p_stop = _vec(body, pos, 1, stop)
                sh.alpn = body[p_start:p_stop].decode("ascii", errors="replace")
    return sh


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
