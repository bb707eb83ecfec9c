"""The TLS dissector: frames records per direction, reassembles handshake messages across
records, and reports the cleartext part of the handshake (hellos, TLS <= 1.2 certificates)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector, StreamBuffer
from .codes import (
    ALERT_LEVELS,
    POST_QUANTUM_GROUPS,
    alert_name,
    cipher_name,
    group_name,
    handshake_name,
    is_grease,
    version_name,
)
from .events import (
    TlsAlert,
    TlsCertificate,
    TlsClientHello,
    TlsHandshake,
    TlsMalformed,
    TlsServerHello,
)
from .parser import (
    CONTENT_TYPES,
    MAX_HANDSHAKE,
    MAX_RECORD,
    RECORD_HEADER,
    ClientHello,
    ServerHello,
    client_hello,
    ja4,
    looks_like_tls,
    parse_certificate_list,
    server_hello,
)
from .x509 import Certificate, parse_certificate

MAX_CERTIFICATES = 10  # certificates reported per chain


class _Side:
    __slots__ = ("encrypted", "handshake", "records", "role")

    def __init__(self) -> None:
        self.records = StreamBuffer()
        self.handshake = bytearray()
        self.encrypted = False  # after ChangeCipherSpec (TLS <= 1.2)
        self.role: str | None = None  # "client" | "server", from the hello it sent


class TlsDissector(Dissector):
    name: ClassVar[str] = "tls"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({443, 8443, 4843, 8883, 5061, 636, 993, 995})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.sides = (_Side(), _Side())
        self.tls13 = False
        self.sealed = False  # a TLS 1.3 ServerHello (not a retry): the rest is encrypted
        self.server_name: str | None = None

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_tls(data)

    def on_gap(self, direction: int, nbytes: int) -> None:
        side = self.sides[direction]
        side.records.reset()
        side.handshake.clear()

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        side = self.sides[direction]
        buf = side.records
        if buf.data or len(data) > buf.MAX_BUFFER:
            # The rest of a record cut at a segment boundary (or an oversized chunk): join
            # the buffered bytes to the new ones. Most segments hold whole records and are
            # framed in place, with no copy into the buffer and out again.
            buf.feed(data)
            data = bytes(buf.data)
            buf.data.clear()
        skipped = buf.skipped
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        # Frame records as StreamBuffer.messages(record_length) would, by offset: a byte that
        # cannot start a record is skipped and counted; an incomplete record stays buffered.
        pos = 0
        end = len(data)
        try:
            while end - pos >= RECORD_HEADER:
                ctype = data[pos]
                length = data[pos + 3] << 8 | data[pos + 4]
                if ctype not in CONTENT_TYPES or data[pos + 1] != 3 or length > MAX_RECORD:
                    buf.skipped += 1
                    pos += 1
                    continue
                start = pos + RECORD_HEADER
                stop = start + length
                if stop > end:
                    break
                pos = stop
                if ctype == 22:
                    if not side.encrypted:  # else an encrypted Finished or renegotiation
                        yield from self._handshakes(side, data, start, stop, base)
                elif ctype == 20:
                    if not self.tls13:
                        side.encrypted = True
                        side.handshake.clear()
                elif ctype == 21:
                    yield self._alert(side, data[start:stop], base)
        finally:
            if pos < end:  # what is not framed yet waits for the next segment
                buf.data += data[pos:]
        # Past the cleartext handshake every record is encrypted: nothing more to learn.
        if self.sealed or (self.sides[0].encrypted and self.sides[1].encrypted):
            self.done = True
        if buf.skipped != skipped:
            self.malformed += 1
            yield TlsMalformed(
                **base,
                reason="bytes that do not frame as TLS records skipped",
                length=buf.skipped - skipped,
            )

    @staticmethod
    def _alert(side: _Side, body: bytes, base: dict[str, Any]) -> TlsAlert:
        if side.encrypted or len(body) != 2:
            return TlsAlert(
                **base,
                level=None,
                level_name=None,
                description=None,
                description_name=None,
                encrypted=True,
            )
        return TlsAlert(
            **base,
            level=body[0],
            level_name=ALERT_LEVELS.get(body[0], f"unknown-{body[0]}"),
            description=body[1],
            description_name=alert_name(body[1]),
            encrypted=False,
        )

    def _handshakes(
        self, side: _Side, data: bytes, pos: int, end: int, base: dict[str, Any]
    ) -> Iterator[Event]:
        """The handshake messages completed by the record body ``data[pos:end]``.

        A message may span records; its start waits in ``side.handshake``. A record holding
        whole messages (the usual case) is read in place, without that buffer."""
        hs = side.handshake
        if hs:
            hs += data[pos:end]
            data = bytes(hs)
            hs.clear()
            pos, end = 0, len(data)
        try:
            while end - pos >= 4:
                length = data[pos + 1] << 16 | data[pos + 2] << 8 | data[pos + 3]
                if length > MAX_HANDSHAKE:
                    self.malformed += 1
                    left = end - pos
                    pos = end  # drop what is buffered
                    yield TlsMalformed(**base, reason="handshake message too long", length=left)
                    return
                stop = pos + 4 + length
                if stop > end:
                    return
                hs_type = data[pos]
                msg = data[pos + 4 : stop]
                pos = stop
                try:
                    yield from self._message(side, hs_type, msg, base)
                except Malformed as exc:
                    self.malformed += 1
                    yield TlsMalformed(
                        **base, reason=f"{handshake_name(hs_type)}: {exc}", length=length + 4
                    )
        finally:
            if pos < end:  # the start of a message continued in a later record
                hs += data[pos:end]

    def _message(
        self, side: _Side, hs_type: int, msg: bytes, base: dict[str, Any]
    ) -> list[Event]:
        """The events of one handshake message; raises Malformed if it does not parse."""
        if hs_type == 1:
            side.role = "client"
            return [self._client_hello(client_hello(msg), base)]
        if hs_type == 2:
            side.role = "server"
            return [self._server_hello(server_hello(msg), base)]
        if hs_type == 11 and not self.tls13:
            return self._certificates(side, msg, base)
        return [
            TlsHandshake(
                **base,
                handshake_type=hs_type,
                handshake=handshake_name(hs_type),
                length=len(msg),
            )
        ]

    def _client_hello(self, ch: ClientHello, base: dict[str, Any]) -> TlsClientHello:
        fp = ja4(ch)
        offered = [v for v in ch.supported_versions if not is_grease(v)]
        version = max(offered) if offered else ch.legacy_version
        self.server_name = ch.server_name
        groups = set(ch.supported_groups) | set(ch.key_share_groups)
        return TlsClientHello(
            **base,
            legacy_version=ch.legacy_version,
            version=version,
            version_name=version_name(version),
            supported_versions=ch.supported_versions,
            cipher_suites=ch.cipher_suites,
            extensions=ch.extensions,
            server_name=ch.server_name,
            alpn=ch.alpn,
            supported_groups=ch.supported_groups,
            signature_algorithms=ch.signature_algorithms,
            ec_point_formats=ch.ec_point_formats,
            key_share_groups=ch.key_share_groups,
            post_quantum_offered=bool(groups & POST_QUANTUM_GROUPS),
            ja4=fp.fingerprint,
            ja4_r=fp.raw,
        )

    def _server_hello(self, sh: ServerHello, base: dict[str, Any]) -> TlsServerHello:
        version = sh.selected_version or sh.legacy_version
        if version == 0x0304:
            self.tls13 = True
            self.sealed = not sh.hello_retry
        group = sh.key_share_group
        return TlsServerHello(
            **base,
            legacy_version=sh.legacy_version,
            version=version,
            version_name=version_name(version),
            cipher_suite=sh.cipher_suite,
            cipher_name=cipher_name(sh.cipher_suite),
            extensions=sh.extensions,
            selected_group=group,
            group_name=None if group is None else group_name(group),
            post_quantum=group in POST_QUANTUM_GROUPS,
            alpn=sh.alpn,
            hello_retry=sh.hello_retry,
            server_name=self.server_name,
        )

    def _certificates(self, side: _Side, msg: bytes, base: dict[str, Any]) -> list[Event]:
        certs = parse_certificate_list(msg)
        if not certs:
            return [
                TlsHandshake(
                    **base, handshake_type=11, handshake=handshake_name(11), length=len(msg)
                )
            ]
        sender = side.role or ("server" if self.sides[0].role == "client" else "client")
        events: list[Event] = []
        for position, der in enumerate(certs[:MAX_CERTIFICATES]):
            try:
                cert, sha256 = certificate(der)
            except Malformed as exc:
                self.malformed += 1
                events.append(
                    TlsMalformed(**base, reason=f"certificate {position}: {exc}", length=len(der))
                )
                continue
            events.append(
                TlsCertificate(
                    **base,
                    position=position,
                    chain_length=len(certs),
                    sender=sender,
                    subject_cn=cert.subject_cn,
                    subject_o=cert.subject_o,
                    issuer_cn=cert.issuer_cn,
                    issuer_o=cert.issuer_o,
                    not_before=cert.not_before,
                    not_after=cert.not_after,
                    key_type=cert.key_type,
                    key_bits=cert.key_bits,
                    curve=cert.curve,
                    self_signed=cert.self_signed,
                    serial=cert.serial,
                    sha256=sha256,
                )
            )
        return events


# Certificates by their DER bytes, with their SHA-256 fingerprint: a server sends the same
# chain on every TLS <= 1.2 connection, and each certificate costs a DER walk and a hash.
_CERTIFICATES: dict[bytes, tuple[Certificate, str]] = {}
_CERTIFICATES_MAX = 512


def certificate(der: bytes) -> tuple[Certificate, str]:
    """``parse_certificate(der)`` and the SHA-256 of ``der`` in hex, remembered by the exact
    bytes (a certificate that does not parse raises Malformed each time it is seen)."""
    found = _CERTIFICATES.get(der)
    if found is None:
        parsed = parse_certificate(der)
        if len(_CERTIFICATES) >= _CERTIFICATES_MAX:
            _CERTIFICATES.clear()
        found = _CERTIFICATES[der] = (parsed, hashlib.sha256(der).hexdigest())
    return found
