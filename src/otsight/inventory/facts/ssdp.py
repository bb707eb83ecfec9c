"""SSDP (UPnP discovery): the SERVER header and the device type a device announces; M-SEARCH is
discovery.

NOTIFY (alive) and search responses come from the device: its SERVER header
(``Linux/3.14 UPnP/1.0 IpBridge/1.26.0``) names its UPnP stack and OS, and a NT/ST of the form
``urn:<domain>:device:<type>:<version>`` its device type (``InternetGatewayDevice``). Service
types and ``upnp:rootdevice`` say nothing about what the device is.
"""

from __future__ import annotations

import re

from ...protocols.ssdp.events import SsdpMessage
from ..model import Fact
from ._common import NONE, Collector, Handler, one, os_hint

SOURCE = "ssdp/announcement"
BANNER = 60
HINT = 40
_DEVICE_URN = re.compile(r"^urn:[^:]+:device:([^:]+)(?::[^:]*)?$", re.I)


def message(event: SsdpMessage) -> tuple[Fact, ...]:
    if event.kind == "m-search":
        return one(event, "discovery")
    if event.kind == "notify":
        if event.nts == "ssdp:byebye":
            return NONE
        target = event.nt
    elif event.kind == "response":
        target = event.st
    else:
        return NONE
    facts = Collector(event)
    ip = event.src_ip
    facts.observe("application", event.server, SOURCE, BANNER, ip=ip)
    facts.observe("os", os_hint(event.server), SOURCE, HINT, ip=ip)
    m = _DEVICE_URN.match(target or "")
    if m is not None:
        facts.observe("device_type", m.group(1), SOURCE, BANNER, ip=ip)
    return facts.result()


HANDLERS: dict[type, Handler] = {SsdpMessage: message}
