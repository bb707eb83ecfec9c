"""Telnet and FTP: logins in clear, file transfers, and the banners servers greet with.

A cleartext credential is a ``login`` from the client to the server. The FTP dissector reports
it when the server's 230/530 reply arrives, oriented as that reply travelled, so its endpoints
are swapped back here. FTP transfers are ``read`` (RETR) or ``write`` (STOR, DELE...), listings
``browse``; USER/PASS are already the login, other commands are session chatter. A Telnet
banner or FTP 220 greeting names the server software and often its OS.
"""

from __future__ import annotations

from ...protocols.cleartext.events import CleartextCredential, FtpCommand, FtpReply, TelnetBanner
from ..model import Fact
from ._common import NONE, Collector, Handler, activity, one, os_hint, reverse_activity

BANNER_SOURCE = "ftp/banner"
TELNET_SOURCE = "telnet/banner"
BANNER = 60
HINT = 40

FTP_CATEGORIES: dict[str, str] = {
    "RETR": "read",
    "STOR": "write",
    "STOU": "write",
    "APPE": "write",
    "DELE": "write",
    "RNFR": "write",
    "RNTO": "write",
    "MKD": "write",
    "RMD": "write",
    "SITE": "configure",
    "LIST": "browse",
    "NLST": "browse",
    "MLSD": "browse",
    "MLST": "browse",
    "CWD": "browse",
}


def credential(event: CleartextCredential) -> tuple[Fact, ...]:
    if event.service == "ftp":
        return (reverse_activity(event, "login", protocol="ftp"),)
    return (activity(event, "login", protocol=event.service),)


def command(event: FtpCommand) -> tuple[Fact, ...]:
    category = FTP_CATEGORIES.get(event.command)
    return one(event, category) if category else NONE


def reply(event: FtpReply) -> tuple[Fact, ...]:
    if event.code != 220:
        return NONE
    facts = Collector(event)
    facts.observe("application", event.text, BANNER_SOURCE, BANNER, ip=event.src_ip)
    facts.observe("os", os_hint(event.text), BANNER_SOURCE, HINT, ip=event.src_ip)
    return facts.result()


def telnet_banner(event: TelnetBanner) -> tuple[Fact, ...]:
    facts = Collector(event)
    facts.observe("os", os_hint(event.banner), TELNET_SOURCE, HINT, ip=event.src_ip)
    return facts.result()


HANDLERS: dict[type, Handler] = {
    CleartextCredential: credential,
    FtpCommand: command,
    FtpReply: reply,
    TelnetBanner: telnet_banner,
}
