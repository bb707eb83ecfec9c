"""SSH: identification strings name each side's software (and often the distribution that built
it, ``OpenSSH_8.9p1 Ubuntu-3ubuntu0.1``); a client opening an SSH session is a remote login."""

from __future__ import annotations

from ...protocols.ssh.events import SshBanner
from ..model import Fact
from ._common import Collector, Handler, activity, os_hint

SOURCE = "ssh/banner"
BANNER = 60
OS_HINT = 50  # the distribution's package string, stated by the software itself


def banner(event: SshBanner) -> tuple[Fact, ...]:
    facts = Collector(event)
    if event.sender == "client":
        facts.add(activity(event, "login"))
    ip = event.src_ip
    facts.observe("application", event.software, SOURCE, BANNER, ip=ip)
    facts.observe("os", os_hint(f"{event.software} {event.comments or ''}"), SOURCE, OS_HINT, ip=ip)
    return facts.result()


HANDLERS: dict[type, Handler] = {SshBanner: banner}
