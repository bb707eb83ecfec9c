"""EtherNet/IP and CIP: ListIdentity replies (who the device is) and CIP requests (what a client
does to it).

A ListIdentity item carries the device's own socket address; it is used for the facts when it
is a usable unicast address (the device may answer from another interface or through NAT),
else the reply's sender is. Vendor names come from the dissector's table only: an unknown
vendor id gives no vendor fact (the OUI may still name it).
"""

from __future__ import annotations

from ...protocols.enip.events import CipRequest, EnipListIdentity, EnipMessage
from ..model import Fact
from ._common import NONE, Collector, Handler, one, usable_ip

SOURCE = "enip/list-identity"
IDENTIFICATION = 90
ENIP_PORT = 44818

READ_SERVICES = frozenset(
    {
        "get-attribute-all",
        "get-attribute-list",
        "get-attribute-single",
        "get-member",
        "find-next-object-instance",
        "read-tag",
        "read-tag-fragmented",
        "get-instance-attribute-list",
        "get-connection-data",
        "search-connection-data",
        "get-connection-owner",
    }
)
WRITE_SERVICES = frozenset(
    {
        "set-attribute-all",
        "set-attribute-list",
        "set-attribute-single",
        "set-member",
        "insert-member",
        "remove-member",
        "write-tag",
        "write-tag-fragmented",
        "read-modify-write-tag",
    }
)
OTHER_SERVICES: dict[str, str] = {
    "reset": "control",
    "start": "control",
    "stop": "control",
    "create": "configure",
    "delete": "configure",
    "apply-attributes": "configure",
    "save": "configure",
    "restore": "configure",
    "forward-open": "session",
    "large-forward-open": "session",
    "forward-close": "session",
}
# Containers: their embedded requests are events of their own (counted there, not twice).
CONTAINERS = frozenset({"multiple-service-packet", "unconnected-send"})
IDENTITY_CLASS = 0x01
# Network configuration objects: writing them re-addresses the device.
NETWORK_CLASSES = frozenset({0xF5, 0xF6})  # TCP/IP interface, Ethernet link

# Encapsulation commands that are requests when sent to the EtherNet/IP port.
ENCAP_CATEGORIES: dict[str, str] = {
    "list-identity": "discovery",
    "list-services": "discovery",
    "list-interfaces": "discovery",
    "register-session": "session",
    "unregister-session": "session",
}
LIST_COMMANDS = frozenset({"list-identity", "list-services", "list-interfaces"})


def list_identity(event: EnipListIdentity) -> tuple[Fact, ...]:
    ip = usable_ip(event.socket_address) or event.src_ip
    facts = Collector(event)
    if not event.vendor.startswith("unknown-"):
        facts.observe("vendor", event.vendor, SOURCE, IDENTIFICATION, ip=ip)
    facts.observe("model", event.product_name, SOURCE, IDENTIFICATION, ip=ip)
    facts.observe("product_code", event.product_code, SOURCE, IDENTIFICATION, ip=ip)
    facts.observe("firmware", event.revision, SOURCE, IDENTIFICATION, ip=ip)
    facts.observe("serial", event.serial_number, SOURCE, IDENTIFICATION, ip=ip)
    if not event.device_type_name.startswith("unknown-"):
        facts.observe("device_type", event.device_type_name, SOURCE, IDENTIFICATION, ip=ip)
    return facts.result()


def encapsulation(event: EnipMessage) -> tuple[Fact, ...]:
    """Session and discovery commands; a request is what goes to the EtherNet/IP port (list
    requests carry no data, so a broadcast between two 44818 ports is told by its length)."""
    category = ENCAP_CATEGORIES.get(event.command_name)
    if category is None:
        return NONE
    if event.command_name in LIST_COMMANDS:
        is_request = event.length == 0
    else:
        is_request = event.dst_port == ENIP_PORT and event.src_port != ENIP_PORT
    return one(event, category) if is_request else NONE


def cip_request(event: CipRequest) -> tuple[Fact, ...]:
    service = event.service
    if service in CONTAINERS:
        return NONE
    if service in READ_SERVICES:
        category = "diagnostic" if event.class_id == IDENTITY_CLASS else "read"
    elif service in WRITE_SERVICES:
        category = "configure" if event.class_id in NETWORK_CLASSES else "write"
    else:
        category = OTHER_SERVICES.get(service, "other")
    return one(event, category)


HANDLERS: dict[type, Handler] = {
    EnipListIdentity: list_identity,
    EnipMessage: encapsulation,
    CipRequest: cip_request,
}
