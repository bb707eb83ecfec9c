"""TLS events: hellos with the JA4 fingerprint, certificates, other handshake messages, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsEvent(Event):
    protocol: ClassVar[str] = "tls"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsClientHello(TlsEvent):
    """A ClientHello: what the client offers, and its JA4 fingerprint."""

    action_name: ClassVar[str] = "client-hello"
    legacy_version: int
    version: int  # highest offered (supported_versions, else legacy_version), GREASE removed
    version_name: str
    supported_versions: tuple[int, ...]
    cipher_suites: tuple[int, ...]  # in order, GREASE included as sent
    extensions: tuple[int, ...]  # extension types in order
    server_name: str | None
    alpn: tuple[str, ...]
    supported_groups: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    ec_point_formats: tuple[int, ...]
    key_share_groups: tuple[int, ...]
    post_quantum_offered: bool  # a PQ or hybrid group in supported_groups / key_share
    ja4: str
    ja4_r: str  # the JA4 inputs before hashing


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsServerHello(TlsEvent):
    """A ServerHello (or HelloRetryRequest): what the server chose."""

    legacy_version: int
    version: int  # negotiated: supported_versions if present, else legacy_version
    version_name: str
    cipher_suite: int
    cipher_name: str
    extensions: tuple[int, ...]
    selected_group: int | None  # from key_share (TLS 1.3)
    group_name: str | None
    post_quantum: bool  # the chosen group is post-quantum (e.g. X25519MLKEM768, 0x11EC)
    alpn: str | None
    hello_retry: bool
    server_name: str | None = None  # SNI of the ClientHello on this flow, if seen

    @property
    def action(self) -> str:
        return "hello-retry-request" if self.hello_retry else "server-hello"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsCertificate(TlsEvent):
    """One certificate of a cleartext (TLS <= 1.2) Certificate message; position 0 is the
    sender's own."""

    action_name: ClassVar[str] = "certificate"
    position: int
    chain_length: int
    sender: str  # "server" | "client"
    subject_cn: str | None
    subject_o: str | None
    issuer_cn: str | None
    issuer_o: str | None
    not_before: str | None
    not_after: str | None
    key_type: str
    key_bits: int | None
    curve: str | None
    self_signed: bool
    serial: str
    sha256: str  # fingerprint of the DER certificate


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsHandshake(TlsEvent):
    """Any other cleartext handshake message (server-hello-done, client-key-exchange, ...)."""

    handshake_type: int
    handshake: str
    length: int

    @property
    def action(self) -> str:
        return self.handshake


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsAlert(TlsEvent):
    """An alert record; level and description are None when it is encrypted."""

    action_name: ClassVar[str] = "alert"
    level: int | None
    level_name: str | None
    description: int | None
    description_name: str | None
    encrypted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsMalformed(TlsEvent):
    """Bytes on a TLS flow that do not parse (counted, with a reason)."""

    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
