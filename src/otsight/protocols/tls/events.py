"""TLS events: hellos with the JA4 fingerprint, certificates, other handshake messages, alerts."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class TlsEvent(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "tls"


class TlsClientHello(TlsEvent, frozen=True, kw_only=True):
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


class TlsServerHello(TlsEvent, frozen=True, kw_only=True):
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


class TlsCertificate(TlsEvent, frozen=True, kw_only=True):
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


class TlsHandshake(TlsEvent, frozen=True, kw_only=True):
    """Any other cleartext handshake message (server-hello-done, client-key-exchange, ...)."""

    handshake_type: int
    handshake: str
    length: int

    @property
    def action(self) -> str:
        return self.handshake


class TlsAlert(TlsEvent, frozen=True, kw_only=True):
    """An alert record; level and description are None when it is encrypted."""

    action_name: ClassVar[str] = "alert"
    level: int | None
    level_name: str | None
    description: int | None
    description_name: str | None
    encrypted: bool


class TlsMalformed(TlsEvent, frozen=True, kw_only=True):
    """Bytes on a TLS flow that do not parse (counted, with a reason)."""

    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
