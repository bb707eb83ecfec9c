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
    return tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2))


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


def _extensions(r: _Reader) -> list[tuple[int, bytes]]:
    if r.left == 0:
        return []
    block = r.vec(2)
    er = _Reader(block)
    out = []
    while er.left:
        ext_type = er.u16()
        out.append((ext_type, er.vec(2)))
    return out


def parse_client_hello(body: bytes) -> ClientHello:
    r = _Reader(body)
    version = r.u16()
    r.take(32)
    session_id = r.vec(1)
    ciphers = _u16_list(r.vec(2))
    r.vec(1)  # compression methods
    exts = _extensions(r)
    ch = ClientHello(version, ciphers, tuple(t for t, _ in exts), session_id_length=len(session_id))
    for ext_type, data in exts:
        er = _Reader(data)
        if ext_type == 0 and data:  # server_name
            names = _Reader(er.vec(2))
            while names.left:
                name_type = names.u8()
                name = names.vec(2)
                if name_type == 0:
                    ch.server_name = name.decode("ascii", errors="replace")
                    break
        elif ext_type == 16 and data:  # ALPN
            protos = _Reader(er.vec(2))
            raw = []
            while protos.left:
                raw.append(protos.vec(1))
            ch.alpn_raw = tuple(raw)
            ch.alpn = tuple(p.decode("ascii", errors="replace") for p in raw)
        elif ext_type == 10 and data:
            ch.supported_groups = _u16_list(er.vec(2))
        elif ext_type == 13 and data:
            ch.signature_algorithms = _u16_list(er.vec(2))
        elif ext_type == 11 and data:
            ch.ec_point_formats = tuple(er.vec(1))
        elif ext_type == 43 and data:
            ch.supported_versions = _u16_list(er.vec(1))
        elif ext_type == 51 and data:
            shares = _Reader(er.vec(2))
            groups = []
            while shares.left:
                groups.append(shares.u16())
                shares.vec(2)
            ch.key_share_groups = tuple(groups)
    return ch


def parse_server_hello(body: bytes) -> ServerHello:
    r = _Reader(body)
    version = r.u16()
    random = r.take(32)
    r.vec(1)  # session id
    cipher = r.u16()
    compression = r.u8()
    exts = _extensions(r)
    sh = ServerHello(version, cipher, compression, tuple(t for t, _ in exts))
    sh.hello_retry = random == HELLO_RETRY_RANDOM
    for ext_type, data in exts:
        er = _Reader(data)
        if ext_type == 43 and len(data) >= 2:
            sh.selected_version = er.u16()
        elif ext_type == 51 and len(data) >= 2:
            sh.key_share_group = er.u16()  # ServerHello: KeyShareEntry; HRR: selected group
        elif ext_type == 16 and data:
            protos = _Reader(er.vec(2))
            if protos.left:
                sh.alpn = protos.vec(1).decode("ascii", errors="replace")
    return sh


def parse_certificate_list(body: bytes) -> list[bytes]:
    """The DER certificates of a TLS <= 1.2 Certificate message (sender's first)."""
    r = _Reader(body)
    chain = _Reader(r.vec(3))
    certs = []
    while chain.left:
        certs.append(chain.vec(3))
    return certs


@dataclass(slots=True)
class Ja4:
    fingerprint: str
    raw: str = field(default="")  # ja4_r: the sorted lists before hashing


def _hash12(text: str) -> str:
    if not text:
        return "000000000000"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _alnum(b: int) -> bool:
    return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A


def ja4(ch: ClientHello, transport: str = "t") -> Ja4:
    """The JA4 TLS client fingerprint (FoxIO JA4 specification)."""
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
