"""DNS, mDNS, LLMNR and NBNS: names bound to addresses, and lookups as client activity.

Only names of site-local addresses are kept (private, link-local, unique-local): the names of
internet hosts are not inventory. From responses: A/AAAA records, PTR records of
``in-addr.arpa``/``ip6.arpa`` names, NBNS NB records of unique workstation/server names
(suffix 00/20, not group names) and NBSTAT node names (with the MAC the host reports). From NBNS
registrations: the name a host claims. A name a host gives for its own address (mDNS/LLMNR/NBNS
answer or registration from that address) is trusted more than one a DNS server hands out.
mDNS TXT records of DNS-SD services (``md``, ``usb_MFG``...) name model and vendor.

Queries are Activities: unicast DNS and LLMNR/NBNS name lookups are ``browse``; mDNS queries
and NBSTAT node-status requests enumerate devices and services: ``discovery``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ...protocols.dns.events import DnsMessage, LlmnrMessage, MdnsMessage, NbnsMessage
from ..model import Fact
from ._common import NONE, Collector, Handler, hostname, is_local, is_mac, one

SELF = 50  # the host names itself
ANSWER = 40  # a server (or another host) names it
TXT = 50

A, PTR, AAAA, NB, NBSTAT = 1, 12, 28, 32, 33
HOST_SUFFIXES = frozenset({0x00, 0x20})  # workstation, file server service
REGISTRATIONS = frozenset({"registration", "refresh", "multi-homed-registration"})
_NETBIOS = re.compile(r"^([^<>]{1,15})<([0-9a-f]{2})>(?:\..*)?$")

TXT_KEYS: dict[str, str] = {
    "md": "model",
    "model": "model",
    "mdl": "model",
    "usb_mdl": "model",
    "ty": "model",
    "product": "model",
    "manufacturer": "vendor",
    "mfg": "vendor",
    "usb_mfg": "vendor",
    "vendor": "vendor",
    "fv": "firmware",
    "fw": "firmware",
    "firmware": "firmware",
    "fwversion": "firmware",
}


def _ptr_address(name: str) -> str | None:
    """``4.3.2.1.in-addr.arpa`` -> ``1.2.3.4`` (and nibble-reversed ip6.arpa names)."""
    lower = name.lower().rstrip(".")
    try:
        if lower.endswith(".in-addr.arpa"):
            parts = lower.removesuffix(".in-addr.arpa").split(".")
            return str(ipaddress.IPv4Address(".".join(reversed(parts))))
        if lower.endswith(".ip6.arpa"):
            nibbles = lower.removesuffix(".ip6.arpa").split(".")
            if len(nibbles) != 32:
                return None
            digits = "".join(reversed(nibbles))
            return str(ipaddress.IPv6Address(int(digits, 16)))
    except ValueError:
        return None
    return None


def _netbios_host(name: object) -> str | None:
    """``PLC-7<20>`` -> ``PLC-7`` for the unique names a host registers for itself."""
    if not isinstance(name, str):
        return None
    m = _NETBIOS.match(name)
    if m is None or int(m.group(2), 16) not in HOST_SUFFIXES:
        return None
    return m.group(1).strip() or None


def _bind(facts: Collector, name: str | None, address: str, source: str, src: str) -> None:
    if name is not None and is_local(address):
        ip = str(ipaddress.ip_address(address))
        facts.observe("hostname", name, source, SELF if ip == src else ANSWER, ip=ip)


def _record(facts: Collector, record: dict[str, Any], source: str, src: str) -> None:
    code = record.get("type_code")
    data = record.get("data")
    if code in (A, AAAA) and isinstance(data, str):
        _bind(facts, hostname(record.get("name")), data, source, src)
    elif code == PTR and isinstance(data, str):
        address = _ptr_address(str(record.get("name", "")))
        if address is not None:
            _bind(facts, hostname(data), address, source, src)
    elif code == NB and not record.get("group", False):
        name = _netbios_host(record.get("name"))
        for address in record.get("addresses") or ():
            if isinstance(address, str):
                _bind(facts, name, address, source, src)
    elif code == NBSTAT:
        names = record.get("names") or []
        groups = record.get("groups") or [False] * len(names)
        for name, group in zip(names, groups, strict=False):
            host = None if group else _netbios_host(name)
            if host is not None:
                _bind(facts, host, src, source, src)
                break
        mac = record.get("mac")
        if is_mac(mac) and is_local(src):
            facts.observe("mac", mac, source, SELF, ip=src, mac=mac)


def _names(event: DnsMessage, source: str, records: tuple[dict[str, Any], ...]) -> Collector:
    facts = Collector(event)
    for record in records:
        _record(facts, record, source, event.src_ip)
    return facts


def _response(event: DnsMessage) -> tuple[Fact, ...]:
    if event.rcode != 0:
        return NONE
    protocol = type(event).protocol
    facts = _names(event, f"{protocol}/answer", event.answers + event.additional)
    if event.txt and isinstance(event, MdnsMessage):
        for key, value in event.txt.items():
            attribute = TXT_KEYS.get(key.lower())
            if attribute is not None:
                facts.observe(attribute, value, "mdns/txt", TXT, ip=event.src_ip)
    return facts.result()


def dns(event: DnsMessage) -> tuple[Fact, ...]:
    if event.is_response:
        return _response(event)
    return one(event, "browse") if event.opcode == 0 and event.questions else NONE


def mdns(event: MdnsMessage) -> tuple[Fact, ...]:
    if event.is_response:
        return _response(event)
    return one(event, "discovery") if event.questions else NONE


def llmnr(event: LlmnrMessage) -> tuple[Fact, ...]:
    if event.is_response:
        return _response(event)
    return one(event, "browse") if event.questions else NONE


def nbns(event: NbnsMessage) -> tuple[Fact, ...]:
    if event.is_response:
        return _response(event)
    if event.opcode_name in REGISTRATIONS:
        return _names(event, "nbns/registration", event.additional).result()
    if event.opcode_name != "query" or not event.questions:
        return NONE
    status = any(q.get("type_code") == NBSTAT for q in event.questions)
    return one(event, "discovery" if status else "browse")


HANDLERS: dict[type, Handler] = {
    DnsMessage: dns,
    MdnsMessage: mdns,
    LlmnrMessage: llmnr,
    NbnsMessage: nbns,
}
