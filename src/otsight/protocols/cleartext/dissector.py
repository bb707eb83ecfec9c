"""Telnet and FTP: banners, commands, and cleartext logins.

Telnet option negotiation (IAC sequences) is stripped; the client's keystrokes are gathered
into lines, and the line typed after a ``login:``/``username:`` prompt is the user name. The
line typed after a ``password:`` prompt is only noted as present. FTP is line-based: USER gives
the name, PASS is noted, and the 230/530 reply says whether the login was accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector
from .events import CleartextCredential, FtpCommand, FtpReply, TelnetBanner

IAC, SB, SE = 255, 250, 240
MAX_LINE = 512
LOGIN_PROMPT = re.compile(rb"(login|user ?name|user)\s*:\s*$", re.IGNORECASE)
PASSWORD_PROMPT = re.compile(rb"password\s*:\s*$", re.IGNORECASE)
FTP_REPLY = re.compile(rb"^(\d{3})([ -])(.*)$")
FTP_COMMAND = re.compile(rb"^([A-Za-z]{3,4})(?: (.*))?$")
SECRET_COMMANDS = frozenset({"PASS", "ACCT"})


def strip_telnet(data: bytes, state: list[int]) -> bytes:
    """Remove IAC negotiation; ``state`` carries a sequence cut between segments."""
    out = bytearray()
    mode = state[0]  # 0 text, 1 after IAC, 2 option byte, 3 in SB, 4 IAC inside SB
    for b in data:
        if mode == 0:
            if b == IAC:
                mode = 1
            else:
                out.append(b)
        elif mode == 1:
            if b == IAC:
                out.append(IAC)
                mode = 0
            elif b == SB:
                mode = 3
            elif 251 <= b <= 254:
                mode = 2
            else:
                mode = 0
        elif mode == 2:
            mode = 0
        elif mode == 3:
            mode = 4 if b == IAC else 3
        else:  # mode 4
            mode = 0 if b == SE else 3
    state[0] = mode
    return bytes(out)


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


class TelnetDissector(Dissector):
    name: ClassVar[str] = "telnet"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({23})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.client = self.client_side()
        self.iac = ([0], [0])
        self.server_text = b""
        self.client_line = bytearray()
        self.expecting: str | None = None  # "user" or "password"
        self.user: str | None = None
        self.banner_sent = False

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        # Option negotiation is what a Telnet session starts with.
        if len(data) >= 3 and data[0] == IAC and 251 <= data[1] <= 254:
            return 0.7
        return 0.3 if LOGIN_PROMPT.search(data.rstrip(b"\r\n ") + b":") and len(data) < 200 else 0.0

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        text = strip_telnet(data, self.iac[direction])
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame}
        if direction != self.client:
            self.server_text = (self.server_text + text)[-MAX_LINE:]
            tail = self.server_text.rstrip(b"\x00")
            if PASSWORD_PROMPT.search(tail):
                self.expecting = "password"
            elif LOGIN_PROMPT.search(tail):
                self.expecting = "user"
                if not self.banner_sent:
                    self.banner_sent = True
                    lines = [ln for ln in _text(tail).splitlines() if ln.strip()][:-1]
                    if lines:
                        yield TelnetBanner(
                            banner="\n".join(lines)[:MAX_LINE], **base, **self.endpoints(direction)
                        )
            return
        for b in text:
            if b in (13, 10):
                if self.client_line or b == 13:
                    yield from self._line(bytes(self.client_line), base, direction)
                self.client_line.clear()
            elif b in (8, 127):
                if self.client_line:
                    self.client_line.pop()
            elif len(self.client_line) < MAX_LINE:
                self.client_line.append(b)

    def _line(self, line: bytes, base: dict[str, Any], direction: int) -> Iterable[Event]:
        if self.expecting == "user":
            self.user = _text(line)
            self.expecting = None
            self.server_text = b""
        elif self.expecting == "password":
            self.expecting = None
            self.server_text = b""
            if self.user is not None:
                yield CleartextCredential(
                    service="telnet",
                    user_name=self.user,
                    password_present=bool(line),
                    **base,
                    **self.endpoints(direction),
                )
                self.user = None


class FtpDissector(Dissector):
    name: ClassVar[str] = "ftp"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({21})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.client = self.client_side()
        self.partial = (bytearray(), bytearray())
        self.user: str | None = None
        self.password_sent = False

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        first = data.split(b"\r\n", 1)[0]
        if first.startswith(b"220") and (b"FTP" in first.upper() or len(first) < 120):
            return 0.5 if b"FTP" not in first.upper() else 0.8
        m = FTP_COMMAND.match(first)
        if m and m.group(1).upper() in (b"USER", b"AUTH", b"FEAT", b"SYST"):
            return 0.5
        return 0.0

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        buf = self.partial[direction]
        buf += data
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        while True:
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > MAX_LINE * 4:
                    self.malformed += 1
                    buf.clear()
                return
            line = bytes(buf[:end]).rstrip(b"\r")
            del buf[: end + 1]
            yield from (
                self._command(line, base) if direction == self.client else self._reply(line, base)
            )

    def _command(self, line: bytes, base: dict[str, Any]) -> Iterable[Event]:
        m = FTP_COMMAND.match(line)
        if not m:
            self.malformed += 1
            return
        command = m.group(1).decode().upper()
        argument = m.group(2).decode("latin-1") if m.group(2) is not None else None
        if command == "USER":
            self.user = argument
            self.password_sent = False
        if command == "PASS":
            self.password_sent = True
        yield FtpCommand(
            command=command, argument=None if command in SECRET_COMMANDS else argument, **base
        )

    def _reply(self, line: bytes, base: dict[str, Any]) -> Iterable[Event]:
        m = FTP_REPLY.match(line)
        if not m or m.group(2) == b"-":
            return  # continuation lines of a multi-line reply are not separate replies
        code = int(m.group(1))
        yield FtpReply(code=code, text=_text(m.group(3))[:MAX_LINE], **base)
        if self.user is not None and code in (230, 530) and (self.password_sent or code == 230):
            yield CleartextCredential(
                service="ftp",
                user_name=self.user,
                password_present=self.password_sent,
                accepted=code == 230,
                **base,
            )
            self.user = None
            self.password_sent = False
