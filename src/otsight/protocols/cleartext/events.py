"""Events of cleartext remote-login protocols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class CleartextCredential(Event):
    """A user name sent in clear, and whether a password followed (its value is never kept)."""

    protocol: ClassVar[str] = "cleartext"
    action_name: ClassVar[str] = "cleartext-credential"
    service: str  # "telnet" | "ftp"
    user_name: str
    password_present: bool
    accepted: bool | None = None  # the server's verdict when the protocol says (FTP 230/530)


@dataclass(frozen=True, slots=True, kw_only=True)
class TelnetBanner(Event):
    protocol: ClassVar[str] = "telnet"
    action_name: ClassVar[str] = "banner"
    banner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FtpCommand(Event):
    protocol: ClassVar[str] = "ftp"
    command: str
    argument: str | None = None  # withheld for PASS and ACCT

    @property
    def action(self) -> str:
        return self.command.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class FtpReply(Event):
    protocol: ClassVar[str] = "ftp"
    code: int
    text: str

    @property
    def action(self) -> str:
        return f"reply-{self.code}"
