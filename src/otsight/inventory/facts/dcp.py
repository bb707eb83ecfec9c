"""Profinet DCP: what stations say about themselves, and who identifies or re-configures whom.

Identity comes from responses (identify, get) and from Hello, which a station sends about
itself; it belongs to the frame's source MAC. Requests are not identity: an Identify request's
name is a filter (the station searched for, or a station checking its own name is unique), and
a Set request's values are what someone wants the target to become (a ``configure`` Activity;
the target's next Identify response will show whether it took them).

No vendor-name table exists for Profinet vendor ids, so vendor and device id are kept together
as the product code ``0x002a:0x0101`` (vendor:device), which is how GSDML files name a device.
"""

from __future__ import annotations

from ...protocols.dcp.dissector import DcpMessage, DcpSet
from ..model import Fact
from ._common import NONE, Collector, Handler, frame_activity, is_mac

SOURCE = "pn_dcp/identify"
RELIABILITY = 80

REQUEST_CATEGORIES: dict[str, str] = {"identify": "discovery", "get": "diagnostic"}


def message(event: DcpMessage) -> tuple[Fact, ...]:
    if event.service_type == 0 and event.service != "hello":
        category = REQUEST_CATEGORIES.get(event.service)
        return (frame_activity(event, category),) if category else NONE
    if event.service_type_name == "response-unsupported":
        return NONE
    mac = event.src_mac
    facts = Collector(event)
    facts.observe("device_name", event.name_of_station, SOURCE, RELIABILITY, mac=mac)
    facts.observe("model", event.type_of_station, SOURCE, RELIABILITY, mac=mac)
    if event.vendor_id is not None and event.device_id is not None:
        code = f"{event.vendor_id:#06x}:{event.device_id:#06x}"
        facts.observe("product_code", code, SOURCE, RELIABILITY, mac=mac)
    if event.device_roles:
        facts.observe("device_type", ",".join(event.device_roles), SOURCE, RELIABILITY, mac=mac)
    facts.bind_ip(event.ip_address, SOURCE, RELIABILITY, mac)
    if is_mac(event.mac_address) and event.mac_address != mac:
        facts.observe("mac", event.mac_address, SOURCE, RELIABILITY, mac=mac)
    return facts.result()


def set_request(event: DcpSet) -> tuple[Fact, ...]:
    changes = event.changes
    if any("reset" in change for change in changes):
        category = "control"  # factory reset: the device re-initialises
    elif changes and all(change.endswith("signal") for change in changes):
        category = "diagnostic"  # blink the LED to find the device
    else:
        category = "configure"
    return (frame_activity(event, category),)


HANDLERS: dict[type, Handler] = {DcpMessage: message, DcpSet: set_request}
