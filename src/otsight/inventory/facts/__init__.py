"""Facts from protocol events: what a device *is* (:class:`Observation`) and what it *did* to
another device (:class:`Activity`). The inventory merges the first into assets and infers roles
from the second.

``facts_of(event)`` looks the event's class up in one explicit table (built from each protocol
module's ``HANDLERS``); a subclass without an entry of its own uses its nearest listed base
class, other events give no facts. Extractors never raise on odd values: a string that does not
clean up to something printable, or an address that cannot belong to a device (``0.0.0.0``,
broadcast, multicast), yields no fact.

Reliability scale (``Observation.reliability``, 0-100), by how much a source is trusted for the
attribute it states:

- 90: the device's own identification service (Modbus 43/14, CIP ListIdentity, S7 SZL, BACnet
  device object); 85 for a second, less specific name from the same service (Modbus ProductName
  beside ModelName, S7 module type beside the order number) and BACnet vendors named through
  the vendor-id table (I-Am, vendor-identifier) rather than by the device (vendor-name).
- 80: management and discovery protocols the device speaks about itself (LLDP, CDP, SNMP system
  group, Profinet DCP, device description documents over HTTP: UPnP, ISAPI, ONVIF; 75 for a
  software version in such a document).
- 70: address bindings (ARP sender, DHCP lease) and firmware versions parsed out of an LLDP/CDP/
  SNMP description.
- 60: banners and headers (HTTP Server, SSH, FTP, SSDP SERVER), TLS certificate names, JA4, the
  OPC UA server URI.
- 50: what a client says of itself in DHCP (host name, vendor class, parameter list), names a
  host gives its own address (mDNS, LLMNR, NBNS answers and registrations), DNS-SD TXT records,
  the distribution in an SSH banner.
- 40: names others give (DNS answers, TLS SNI, HTTP Host), HTTP User-Agent, OS hints in banners.
- 30: an ARP binding whose sender MAC differs from the frame's source.

Activities: requests only, so responses are not counted twice. The requester is the client, the
responder (or the device acted upon) the server; link-layer requests give MACs. Unsolicited
reports are ``publish`` from the reporter to the receiver only where that receiver is the
protocol's server (SNMP traps to the manager's trap port); DNP3 unsolicited responses and IEC 104
spontaneous data give none, so the master never looks like a server. Discovery sent
to a broadcast or multicast address keeps that address as ``server_ip``/``server_mac``: the
inventory knows such addresses are no device. MQTT deliveries from the broker are recorded as the
subscriber's ``subscribe`` towards the broker (see :mod:`.mqtt`).
"""

from __future__ import annotations

from ...core.events import BaseEvent
from ..model import Fact
from . import (
    arp,
    bacnet,
    cleartext,
    coap,
    dcp,
    dhcp,
    dnp3,
    dns,
    enip,
    http,
    iec104,
    lldp_cdp,
    modbus,
    mqtt,
    opcua,
    s7comm,
    snmp,
    ssdp,
    ssh,
    tls,
)
from ._common import NONE, Handler

__all__ = ["HANDLERS", "facts_of"]

_MODULES = (
    modbus,
    enip,
    s7comm,
    bacnet,
    dnp3,
    iec104,
    opcua,
    mqtt,
    dcp,
    lldp_cdp,
    snmp,
    http,
    ssh,
    tls,
    dhcp,
    dns,
    ssdp,
    arp,
    cleartext,
    coap,
)


def _table() -> dict[type, Handler]:
    table: dict[type, Handler] = {}
    for module in _MODULES:
        for cls, handler in module.HANDLERS.items():
            if cls in table:
                raise RuntimeError(f"two fact handlers for {cls.__name__}")
            table[cls] = handler
    return table


def _none(event: BaseEvent) -> tuple[Fact, ...]:
    return NONE


HANDLERS: dict[type, Handler] = _table()
# Classes seen that are not in HANDLERS, resolved once to their nearest listed base (or none).
_RESOLVED: dict[type, Handler] = {}


def _resolve(cls: type) -> Handler:
    handler = _RESOLVED.get(cls)
    if handler is None:
        handler = next((HANDLERS[k] for k in cls.__mro__ if k in HANDLERS), _none)
        _RESOLVED[cls] = handler
    return handler


def facts_of(event: BaseEvent) -> tuple[Fact, ...]:
    """The observations and activities one protocol event reveals (often none)."""
    cls = type(event)
    handler = HANDLERS.get(cls) or _resolve(cls)
    return handler(event)
