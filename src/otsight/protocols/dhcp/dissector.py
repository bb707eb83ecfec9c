"""DHCP (UDP 67/68) and DHCPv6 (UDP 546/547) dissectors: one event per datagram."""

from __future__ import annotations

import struct
from typing import Any, ClassVar

from ...core.events import Event
from ..base import DatagramDissector
from .codes import message_type_name, op_name, v6_message_type_name
from .events import DhcpMalformed, DhcpMessage, Dhcpv6Message
from .parser import Dhcp, Dhcpv6, dns_name, looks_like_dhcp, looks_like_dhcpv6, parse, parse_v6


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _ip(raw: bytes | None) -> str | None:
    return ".".join(str(b) for b in raw[:4]) if raw is not None and len(raw) >= 4 else None


def _ips(raw: bytes | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return tuple(".".join(str(b) for b in raw[i : i + 4]) for i in range(0, len(raw) - 3, 4))


class DhcpDissector(DatagramDissector):
    name: ClassVar[str] = "dhcp"
    ports: ClassVar[frozenset[int]] = frozenset({67, 68})

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_dhcp(data)

    def parse(self, data: bytes) -> Dhcp:
        return parse(data)

    def message(self, base: dict[str, Any], parsed: Dhcp) -> Event:
        return DhcpMessage(**base, **dhcp_fields(parsed))

    def malformed_event(self, base: dict[str, Any], reason: str, length: int) -> Event:
        return DhcpMalformed(**base, reason=reason, length=length)


def dhcp_fields(msg: Dhcp) -> dict[str, Any]:
    o = msg.options
    mac = None
    if msg.hardware_type == 1 and msg.hardware_length == 6:
        mac = ":".join(f"{b:02x}" for b in msg.chaddr)
    mtype = o[53][0] if o.get(53) else None
    lease = struct.unpack(">I", o[51][:4])[0] if len(o.get(51, b"")) >= 4 else None
    fqdn = None
    if (raw := o.get(81)) is not None and len(raw) >= 3:
        fqdn = dns_name(raw[3:]) if raw[0] & 0x04 else _text(raw[3:])
    overload = msg.overload or 0
    return {
        "op": op_name(msg.op),
        "transaction_id": msg.transaction_id,
        "hardware_type": msg.hardware_type,
        "client_mac": mac,
        "client_hardware_address": msg.chaddr.hex(),
        "ciaddr": msg.ciaddr,
        "yiaddr": msg.yiaddr,
        "siaddr": msg.siaddr,
        "giaddr": msg.giaddr,
        "broadcast": bool(msg.flags & 0x8000),
        "message_type": mtype,
        "message_type_name": message_type_name(mtype) if mtype is not None else None,
        "hostname": _text(o[12]) if 12 in o else None,
        "requested_ip": _ip(o.get(50)),
        "server_id": _ip(o.get(54)),
        "vendor_class": o[60].decode("utf-8", "replace") if 60 in o else None,
        "client_id": o[61].hex() if 61 in o else None,
        "parameter_request_list": tuple(o[55]) if 55 in o else None,
        "fqdn": fqdn,
        "lease_time": lease,
        "user_class": o[77].decode("utf-8", "replace") if 77 in o else None,
        "relay_agent": 82 in o,
        "routers": _ips(o.get(3)),
        "dns_servers": _ips(o.get(6)),
        "domain_name": _text(o[15]) if 15 in o else None,
        "subnet_mask": _ip(o.get(1)),
        "server_message": _text(o[56]) if 56 in o else None,
        "option_order": tuple(msg.order),
        "overload": msg.overload,
        "server_name": None if overload & 2 else (_text(msg.sname) or None),
        "boot_file": None if overload & 1 else (_text(msg.file) or None),
        "malformed_options": msg.malformed_options,
    }


class Dhcpv6Dissector(DatagramDissector):
    name: ClassVar[str] = "dhcpv6"
    ports: ClassVar[frozenset[int]] = frozenset({546, 547})
    max_score: ClassVar[float] = 0.5  # looks_like_dhcpv6

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_dhcpv6(data)

    def parse(self, data: bytes) -> Dhcpv6:
        return parse_v6(data)

    def message(self, base: dict[str, Any], parsed: Dhcpv6) -> Event:
        return Dhcpv6Message(**base, **dhcpv6_fields(parsed))

    def malformed_event(self, base: dict[str, Any], reason: str, length: int) -> Event:
        return DhcpMalformed(**base, reason=reason, length=length)


def dhcpv6_fields(msg: Dhcpv6) -> dict[str, Any]:
    inner = msg
    depth = 0
    while inner.inner is not None and depth < 8:
        inner = inner.inner
        depth += 1
    out: dict[str, Any] = {
        "message_type": msg.message_type,
        "message_type_name": v6_message_type_name(msg.message_type),
        "transaction_id": inner.transaction_id,
        "link_address": msg.link_address,
        "peer_address": msg.peer_address,
        "relayed_type_name": v6_message_type_name(inner.message_type) if inner is not msg else None,
        "option_order": tuple(code for code, _ in inner.options),
        "malformed_options": msg.malformed_options
        + (inner.malformed_options if inner is not msg else 0),
    }
    for code, value in inner.options:
        if code == 1:
            out["client_duid"] = value.hex()
        elif code == 2:
            out["server_duid"] = value.hex()
        elif code == 6:
            out["option_request"] = tuple(
                struct.unpack_from(">H", value, i)[0] for i in range(0, len(value) - 1, 2)
            )
        elif code == 39 and value:
            out["fqdn"] = dns_name(value[1:])
        elif code == 16 and len(value) >= 4:
            out["vendor_enterprise"] = struct.unpack_from(">I", value)[0]
            classes = []
            i = 4
            while i + 2 <= len(value):
                n = struct.unpack_from(">H", value, i)[0]
                classes.append(value[i + 2 : i + 2 + n].decode("utf-8", "replace"))
                i += 2 + n
            out["vendor_class"] = tuple(classes)
    return out
