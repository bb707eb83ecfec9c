"""OPC UA events: one per UA-TCP chunk (HEL/ACK/ERR/RHE/OPN/CLO/MSG)."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class OpcuaMessage(Event, frozen=True, kw_only=True):
    """One UA-TCP chunk. Service fields are set when the body is readable (policy None)."""

    protocol: ClassVar[str] = "opcua"
    message_type: str  # HEL, ACK, ... as on the wire
    message_type_name: str
    chunk_type: str  # final | intermediate | abort
    message_size: int
    secure_channel_id: int | None = None
    token_id: int | None = None
    sequence_number: int | None = None
    request_id: int | None = None
    service_node_id: int | None = None
    service: str | None = None  # e.g. ReadRequest
    request_handle: int | None = None
    service_result: int | None = None
    encrypted: bool | None = None  # the channel's policy is not None (body not read)
    matched: bool | None = None  # responses: the request (same request id) was seen
    request_frame: int | None = None
    latency: float | None = None

    @property
    def action(self) -> str:
        return self.service or self.message_type_name


class OpcuaHello(OpcuaMessage, frozen=True, kw_only=True):
    """HEL, ACK (buffer sizes only) or RHE (server uri and endpoint)."""

    protocol_version: int | None = None
    receive_buffer_size: int | None = None
    send_buffer_size: int | None = None
    max_message_size: int | None = None
    max_chunk_count: int | None = None
    endpoint_url: str | None = None
    server_uri: str | None = None


class OpcuaError(OpcuaMessage, frozen=True, kw_only=True):
    status_code: int
    reason: str | None


class OpcuaOpenSecureChannel(OpcuaMessage, frozen=True, kw_only=True):
    security_policy_uri: str | None
    security_policy: str | None  # none, basic256sha256, ... ("unknown" for other URIs)
    sender_certificate_length: int  # -1: no certificate
    receiver_thumbprint_present: bool
    request_type: str | None = None  # issue | renew (request, policy None)
    security_mode: str | None = None  # none | sign | sign-and-encrypt (request, policy None)


class OpcuaMalformed(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "opcua"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
