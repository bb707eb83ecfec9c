"""CoAP: requests of constrained clients. GET is a read (with Observe a subscription, on
``/.well-known/core`` or to a multicast group a discovery), PUT/POST/PATCH/iPATCH writes,
DELETE a configuration change, FETCH a read. Responses give nothing; CoAP carries no
identity strings the dissector decodes."""

from __future__ import annotations

import ipaddress

from ...protocols.coap.dissector import CoapRequest
from ..model import Fact
from ._common import Handler, one

WELL_KNOWN_CORE = "/.well-known/core"
METHOD_CATEGORIES: dict[str, str] = {
    "GET": "read",
    "FETCH": "read",
    "PUT": "write",
    "POST": "write",
    "PATCH": "write",
    "iPATCH": "write",
    "DELETE": "configure",
}
OBSERVE_REGISTER = 0


def _multicast(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_multicast
    except ValueError:
        return False


def request(event: CoapRequest) -> tuple[Fact, ...]:
    method = event.code_name
    category = METHOD_CATEGORIES.get(method, "other")
    if method == "GET":
        if event.uri_path == WELL_KNOWN_CORE or _multicast(event.dst_ip):
            category = "discovery"
        elif event.observe == OBSERVE_REGISTER:
            category = "subscribe"
    return one(event, category)


HANDLERS: dict[type, Handler] = {CoapRequest: request}
