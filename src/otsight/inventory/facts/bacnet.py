"""BACnet/IP: the device object's identity properties, I-Am vendors, and what requests do.

Identity comes from read-property and read-property-multiple acks of a ``device`` object
(vendor-name, model-name, firmware-revision, application-software-version, object-name,
vendor-identifier through the dissector's vendor table) and from I-Am. The answering device is
the sender, or the originator named in a Forwarded-NPDU. A message that crossed a BACnet router
(``snet`` set) describes a device on another BACnet network with no IP of its own: it gives no
facts (a BACnet-address attribute would be needed to keep them).
"""

from __future__ import annotations

from typing import Any

from ...protocols.bacnet.codes import vendor_name
from ...protocols.bacnet.events import BacnetIAm, BacnetMessage
from ..model import Fact
from ._common import NONE, Collector, Handler, one, usable_ip

SOURCE = "bacnet/device-object"
IAM_SOURCE = "bacnet/i-am"
IDENTIFICATION = 90
IAM = 85  # the vendor id alone, announced rather than read
VENDOR_ID = 85  # vendor-identifier through the table: below the vendor-name the device states

# device-object property -> attribute (values must be character strings)
STRING_PROPERTIES: dict[str, str] = {
    "vendor-name": "vendor",
    "model-name": "model",
    "firmware-revision": "firmware",
    "application-software-version": "application",
    "object-name": "device_name",
}

SERVICE_CATEGORIES: dict[str, str] = {
    "who-is": "discovery",
    "who-has": "discovery",
    "read-property": "read",
    "read-property-multiple": "read",
    "read-property-conditional": "read",
    "read-range": "read",
    "get-alarm-summary": "read",
    "get-enrollment-summary": "read",
    "get-event-information": "read",
    "write-property": "write",
    "write-property-multiple": "write",
    "add-list-element": "write",
    "remove-list-element": "write",
    "write-group": "write",
    "acknowledge-alarm": "write",
    "create-object": "configure",
    "delete-object": "configure",
    "time-synchronization": "configure",
    "utc-time-synchronization": "configure",
    "reinitialize-device": "control",
    "device-communication-control": "control",
    "life-safety-operation": "control",
    "atomic-read-file": "program",  # file objects carry programs, configurations, firmware
    "atomic-write-file": "program",
    "subscribe-cov": "subscribe",
    "subscribe-cov-property": "subscribe",
    "subscribe-cov-property-multiple": "subscribe",
    "vt-open": "session",
    "vt-close": "session",
    "vt-data": "session",
    "authenticate": "login",
    "request-key": "login",
    "confirmed-private-transfer": "other",
    "unconfirmed-private-transfer": "other",
    "confirmed-text-message": "other",
    "unconfirmed-text-message": "other",
}
# Sent by the device that has something to say, not asked of it: no Activity.
ANNOUNCEMENTS = frozenset(
    {
        "i-am",
        "i-have",
        "confirmed-cov-notification",
        "unconfirmed-cov-notification",
        "confirmed-event-notification",
        "unconfirmed-event-notification",
        "confirmed-cov-notification-multiple",
        "unconfirmed-cov-notification-multiple",
    }
)
REQUEST_APDUS = frozenset({"confirmed-request", "unconfirmed-request"})


def _device_ip(event: BacnetMessage) -> str | None:
    if event.snet is not None:
        return None
    if event.forwarded_from:
        return usable_ip(event.forwarded_from.rpartition(":")[0])
    return event.src_ip


def _property(facts: Collector, name: str, value: Any, ip: str) -> None:
    attribute = STRING_PROPERTIES.get(name)
    if attribute is not None:
        if isinstance(value, str):
            facts.observe(attribute, value, SOURCE, IDENTIFICATION, ip=ip)
    elif name == "vendor-identifier" and isinstance(value, int) and not isinstance(value, bool):
        facts.observe("vendor", vendor_name(value), SOURCE, VENDOR_ID, ip=ip)


def message(event: BacnetMessage) -> tuple[Fact, ...]:
    if event.apdu_type_name in REQUEST_APDUS:
        service = event.service or ""
        if service in ANNOUNCEMENTS:
            return NONE
        return one(event, SERVICE_CATEGORIES.get(service, "other"))
    if event.network_message is not None and event.network_message.startswith("who-is"):
        return one(event, "discovery")
    if event.apdu_type_name != "complex-ack" or event.service not in (
        "read-property",
        "read-property-multiple",
    ):
        return NONE
    ip = _device_ip(event)
    if ip is None:
        return NONE
    facts = Collector(event)
    if event.service == "read-property":
        if event.object_type_name == "device" and event.property_name is not None:
            _property(facts, event.property_name, event.value, ip)
    else:
        for obj, prop, value in event.values:
            if obj.startswith("device,"):
                _property(facts, prop, value, ip)
    return facts.result()


def i_am(event: BacnetIAm) -> tuple[Fact, ...]:
    ip = _device_ip(event)
    if ip is None or event.vendor_name is None:
        return NONE
    facts = Collector(event)
    facts.observe("vendor", event.vendor_name, IAM_SOURCE, IAM, ip=ip)
    return facts.result()


HANDLERS: dict[type, Handler] = {BacnetMessage: message, BacnetIAm: i_am}
