"""SNMP: the system group an agent returns, and what managers ask of agents.

The dissector fills sysDescr/sysObjectID/sysName only from responses and traps, so they describe
the sender (the agent). sysName is the name the operator gave the device; sysObjectID names the
vendor's product (enterprise subtree) and is kept as the product code; sysDescr describes the
running system and is kept as ``os`` with any firmware version it states. Traps and informs are
unsolicited reports: a ``publish`` from the agent to the trap receiver.
"""

from __future__ import annotations

from ...protocols.snmp.events import SnmpMessage
from ..model import Fact
from ._common import NONE, Collector, Handler, firmware_hint, one

SOURCE = "snmp/system"
RELIABILITY = 80
FIRMWARE_HINT = 70

CATEGORIES: dict[str, str] = {
    "get-request": "read",
    "get-next-request": "read",
    "get-bulk-request": "read",
    "set-request": "write",
    "trap-v1": "publish",
    "trap-v2": "publish",
    "inform-request": "publish",
}
ANSWERS = frozenset({"response", "trap-v1", "trap-v2", "inform-request"})


def message(event: SnmpMessage) -> tuple[Fact, ...]:
    category = CATEGORIES.get(event.pdu_type)
    if event.pdu_type not in ANSWERS:
        return one(event, category) if category else NONE
    facts = Collector(event)
    if category:
        facts.add(one(event, category)[0])
    ip = event.src_ip
    facts.observe("device_name", event.sys_name, SOURCE, RELIABILITY, ip=ip)
    facts.observe("product_code", event.sys_object_id, SOURCE, RELIABILITY, ip=ip)
    facts.observe("os", event.sys_descr, SOURCE, RELIABILITY, ip=ip)
    facts.observe("firmware", firmware_hint(event.sys_descr), SOURCE, FIRMWARE_HINT, ip=ip)
    return facts.result() if facts.facts else NONE


HANDLERS: dict[type, Handler] = {SnmpMessage: message}
