"""SSH events: one per banner and one per KEXINIT, oriented as sent."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class SshEvent(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "ssh"


class SshBanner(SshEvent, frozen=True, kw_only=True):
    """The identification string ``SSH-protoversion-softwareversion SP comments``."""

    action_name: ClassVar[str] = "banner"
    sender: str  # "client" | "server"
    protocol_version: str
    software: str
    comments: str | None
    raw: str


class SshKexInit(SshEvent, frozen=True, kw_only=True):
    """SSH_MSG_KEXINIT: the algorithms a side supports, in preference order."""

    action_name: ClassVar[str] = "kexinit"
    sender: str
    kex_algorithms: tuple[str, ...]
    host_key_algorithms: tuple[str, ...]
    ciphers_client_to_server: tuple[str, ...]
    ciphers_server_to_client: tuple[str, ...]
    macs_client_to_server: tuple[str, ...]
    macs_server_to_client: tuple[str, ...]
    compression_client_to_server: tuple[str, ...]
    compression_server_to_client: tuple[str, ...]
    post_quantum_kex: tuple[str, ...]  # offered PQ / hybrid key exchanges


class SshMalformed(SshEvent, frozen=True, kw_only=True):
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
