"""Events of cleartext remote-login protocols."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class CleartextCredential(Event, frozen=True, kw_only=True):
    """A user name sent in clear, and whether a password followed (its value is never kept)."""

    protocol: ClassVar[str] = "cleartext"
    action_name: ClassVar[str] = "cleartext-credential"
    service: str  # "telnet" | "ftp"
    user_name: str
    password_present: bool
    accepted: bool | None = None  # the server's verdict when the protocol says (FTP 230/530)


class TelnetBanner(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "telnet"
    action_name: ClassVar[str] = "banner"
    banner: str


class FtpCommand(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "ftp"
    command: str
    argument: str | None = None  # withheld for PASS and ACCT

    @property
    def action(self) -> str:
        return self.command.lower()


class FtpReply(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "ftp"
    code: int
    text: str

    @property
    def action(self) -> str:
        return f"reply-{self.code}"
