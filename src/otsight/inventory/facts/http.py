"""HTTP: the Server header names the server's software, the User-Agent the client's; a request is
browsing, Basic credentials in clear a login. A device description document (UPnP description,
ISAPI deviceInfo, ONVIF device information) is the server describing itself through its own
management interface: trusted like SNMP (80).

Operating-system hints in either header ("Apache/2.4.41 (Ubuntu)", "Windows NT 10.0") are kept
with a low reliability: headers are set by software and easy to fake. The Host header names the
server as the client knows it; kept only for servers with a site-local address.
"""

from __future__ import annotations

import re

from ...protocols.http.events import HttpCredential, HttpDeviceInfo, HttpRequest, HttpResponse
from ..model import Fact
from ._common import NONE, Collector, Handler, activity, hostname, is_local, os_hint

SERVER_SOURCE = "http/server-header"
DOCUMENT_SOURCE = "http/device-info"
DOCUMENT = 80
SECOND = 75  # a software version where a firmware version may also be given
# document element -> (attribute, reliability)
ELEMENTS: dict[str, tuple[str, int]] = {
    "manufacturer": ("vendor", DOCUMENT),
    "modelname": ("model", DOCUMENT),
    "model": ("model", DOCUMENT),
    "modelnumber": ("product_code", DOCUMENT),
    "serialnumber": ("serial", DOCUMENT),
    "firmwareversion": ("firmware", DOCUMENT),
    "softwareversion": ("firmware", SECOND),
    "hardwareversion": ("hardware_version", DOCUMENT),
    "friendlyname": ("device_name", DOCUMENT),
    "devicename": ("device_name", DOCUMENT),
    "devicetype": ("device_type", DOCUMENT),
}
_UPNP_TYPE = re.compile(r"^urn:[^:]+:device:([^:]+)(?::[^:]*)?$", re.I)
AGENT_SOURCE = "http/user-agent"
HOST_SOURCE = "http/host-header"
BANNER = 60
AGENT = 40
HINT = 40
NAME = 40


def request(event: HttpRequest) -> tuple[Fact, ...]:
    facts = Collector(event)
    facts.add(activity(event, "browse"))
    agent = event.user_agent
    if agent:
        facts.observe("application", agent, AGENT_SOURCE, AGENT, ip=event.src_ip)
        facts.observe("os", os_hint(agent), AGENT_SOURCE, HINT, ip=event.src_ip)
    if event.host and is_local(event.dst_ip):
        name = hostname(event.host.split(":", 1)[0])  # an IPv6 literal is no name anyway
        facts.observe("hostname", name, HOST_SOURCE, NAME, ip=event.dst_ip)
    return facts.result()


def response(event: HttpResponse) -> tuple[Fact, ...]:
    server = event.server
    if not server:
        return NONE
    facts = Collector(event)
    facts.observe("application", server, SERVER_SOURCE, BANNER, ip=event.src_ip)
    facts.observe("os", os_hint(server), SERVER_SOURCE, HINT, ip=event.src_ip)
    return facts.result()


def device_info(event: HttpDeviceInfo) -> tuple[Fact, ...]:
    facts = Collector(event)
    for element, text in event.elements.items():
        target = ELEMENTS.get(element)
        if target is None:
            continue
        m = _UPNP_TYPE.match(text) if target[0] == "device_type" else None
        value = m.group(1) if m else text  # urn:...:device:MediaRenderer:1 -> MediaRenderer
        facts.observe(target[0], value, DOCUMENT_SOURCE, target[1], ip=event.src_ip)
    return facts.result()


def credential(event: HttpCredential) -> tuple[Fact, ...]:
    return (activity(event, "login"),)


HANDLERS: dict[type, Handler] = {
    HttpRequest: request,
    HttpResponse: response,
    HttpCredential: credential,
    HttpDeviceInfo: device_info,
}
