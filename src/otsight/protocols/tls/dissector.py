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
    MAX_HANDSHAKE,
    ja4,
    looks_like_tls,
    parse_certificate_list,
    parse_client_hello,
    parse_server_hello,
    record_length,
)
from .x509 import parse_certificate

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
        buf.feed(data)
        skipped = buf.skipped
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        for record in buf.messages(record_length):
            yield from self._record(side, record, base)
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

    def _record(self, side: _Side, record: bytes, base: dict[str, Any]) -> Iterator[Event]:
        ctype = record[0]
        body = record[5:]
        if ctype == 22:
            if side.encrypted:
                return  # an encrypted Finished or renegotiation
            side.handshake += body
            yield from self._handshakes(side, base)
        elif ctype == 20:
            if not self.tls13:
                side.encrypted = True
                side.handshake.clear()
        elif ctype == 21:
            if side.encrypted or len(body) != 2:
                yield TlsAlert(
                    **base,
                    level=None,
                    level_name=None,
                    description=None,
                    description_name=None,
                    encrypted=True,
                )
            else:
                yield TlsAlert(
                    **base,
                    level=body[0],
                    level_name=ALERT_LEVELS.get(body[0], f"unknown-{body[0]}"),
                    description=body[1],
                    description_name=alert_name(body[1]),
                    encrypted=False,
                )

    def _handshakes(self, side: _Side, base: dict[str, Any]) -> Iterator[Event]:
        hs = side.handshake
        while len(hs) >= 4:
            length = int.from_bytes(hs[1:4], "big")
            if length > MAX_HANDSHAKE:
                self.malformed += 1
                yield TlsMalformed(**base, reason="handshake message too long", length=len(hs))
                hs.clear()
                return
            if len(hs) < 4 + length:
                return
            hs_type = hs[0]
            msg = bytes(hs[4 : 4 + length])
            del hs[: 4 + length]
            try:
                yield from self._message(side, hs_type, msg, base)
            except Malformed as exc:
                self.malformed += 1
                yield TlsMalformed(
                    **base, reason=f"{handshake_name(hs_type)}: {exc}", length=length + 4
                )

    def _message(
        self, side: _Side, hs_type: int, msg: bytes, base: dict[str, Any]
    ) -> Iterator[Event]:
        if hs_type == 1:
            side.role = "client"
            ch = parse_client_hello(msg)
            fp = ja4(ch)
            offered = [v for v in ch.supported_versions if not is_grease(v)]
            version = max(offered) if offered else ch.legacy_version
            self.server_name = ch.server_name
            groups = set(ch.supported_groups) | set(ch.key_share_groups)
            yield TlsClientHello(
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
        elif hs_type == 2:
            side.role = "server"
            sh = parse_server_hello(msg)
            version = sh.selected_version or sh.legacy_version
            if version == 0x0304:
                self.tls13 = True
                self.sealed = not sh.hello_retry
            group = sh.key_share_group
            yield TlsServerHello(
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
        elif hs_type == 11 and not self.tls13:
            certs = parse_certificate_list(msg)
            if not certs:
                yield TlsHandshake(
                    **base, handshake_type=11, handshake=handshake_name(11), length=len(msg)
                )
                return
            sender = side.role or ("server" if self.sides[0].role == "client" else "client")
            for position, der in enumerate(certs[:MAX_CERTIFICATES]):
                try:
                    cert = parse_certificate(der)
                except Malformed as exc:
                    self.malformed += 1
                    yield TlsMalformed(
                        **base, reason=f"certificate {position}: {exc}", length=len(der)
                    )
                    continue
                yield TlsCertificate(
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
                    sha256=hashlib.sha256(der).hexdigest(),
                )
        else:
            yield TlsHandshake(
                **base,
                handshake_type=hs_type,
                handshake=handshake_name(hs_type),
                length=len(msg),
            )
