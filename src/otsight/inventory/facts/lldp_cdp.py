"""LLDP and CDP: what a switch, router or station announces about itself to its neighbours.

Facts belong to the frame's source MAC (the sending port). A MAC chassis id different from it,
and the management addresses, are bound to that MAC too. The system description (LLDP) and the
software version (CDP) describe the running system: kept as ``os`` (there is no free-text
description attribute), with the firmware version they state when one is recognisable.
Capabilities (enabled ones when announced) are the device type: ``bridge,router``.
"""

from __future__ import annotations

from ...protocols.cdp.dissector import CdpAdvertisement
from ...protocols.lldp.dissector import LldpAdvertisement
from ..model import Fact
from ._common import Collector, Handler, firmware_hint, is_mac

LLDP_SOURCE = "lldp/advertisement"
CDP_SOURCE = "cdp/advertisement"
RELIABILITY = 80
FIRMWARE_HINT = 70  # parsed out of a free-text description
CHASSIS_MAC_SUBTYPE = 4


def lldp(event: LldpAdvertisement) -> tuple[Fact, ...]:
    mac = event.src_mac
    facts = Collector(event)
    facts.observe("device_name", event.system_name, LLDP_SOURCE, RELIABILITY, mac=mac)
    description = event.system_description
    facts.observe("os", description, LLDP_SOURCE, RELIABILITY, mac=mac)
    facts.observe("firmware", firmware_hint(description), LLDP_SOURCE, FIRMWARE_HINT, mac=mac)
    caps = event.enabled_capabilities or event.capabilities
    if caps:
        facts.observe("device_type", ",".join(caps), LLDP_SOURCE, RELIABILITY, mac=mac)
    for address in event.management_addresses or ():
        facts.bind_ip(address, LLDP_SOURCE, RELIABILITY, mac)
    chassis = event.chassis_id
    if event.chassis_id_subtype == CHASSIS_MAC_SUBTYPE and is_mac(chassis) and chassis != mac:
        facts.observe("mac", chassis, LLDP_SOURCE, RELIABILITY, mac=mac)
    return facts.result()


def cdp(event: CdpAdvertisement) -> tuple[Fact, ...]:
    mac = event.src_mac
    facts = Collector(event)
    facts.observe(
        "device_name", event.system_name or event.device_id, CDP_SOURCE, RELIABILITY, mac=mac
    )
    facts.observe("model", event.platform, CDP_SOURCE, RELIABILITY, mac=mac)
    software = event.software_version
    facts.observe("os", software, CDP_SOURCE, RELIABILITY, mac=mac)
    facts.observe(
        "firmware", firmware_hint(software, loose=True), CDP_SOURCE, FIRMWARE_HINT, mac=mac
    )
    if event.capabilities:
        facts.observe("device_type", ",".join(event.capabilities), CDP_SOURCE, RELIABILITY, mac=mac)
    addresses = dict.fromkeys((*(event.addresses or ()), *(event.management_addresses or ())))
    for address in addresses:
        facts.bind_ip(address, CDP_SOURCE, RELIABILITY, mac)
    return facts.result()


HANDLERS: dict[type, Handler] = {LldpAdvertisement: lldp, CdpAdvertisement: cdp}
