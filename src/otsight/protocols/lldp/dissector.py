"""LLDP (IEEE 802.1AB): chassis, port, system name and description, capabilities, addresses."""

from __future__ import annotations

import contextlib
import ipaddress
import struct
from collections.abc import Iterable
from typing import ClassVar

from ...core.events import BaseEvent, FrameEvent
from ...core.plugins import FrameContext
from ..base import FrameDissector

CAPABILITIES = (
    "other",
    "repeater",
    "bridge",
    "wlan-access-point",
    "router",
    "telephone",
    "docsis-cable-device",
    "station-only",
    "c-vlan",
    "s-vlan",
    "two-port-mac-relay",
)
MAC_SUBTYPES = {"chassis": 4, "port": 3}


class LldpAdvertisement(FrameEvent, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "lldp"
    chassis_id: str | None = None
    chassis_id_subtype: int | None = None
    port_id: str | None = None
    port_id_subtype: int | None = None
    ttl: int | None = None
    port_description: str | None = None
    system_name: str | None = None
    system_description: str | None = None
    capabilities: tuple[str, ...] | None = None
    enabled_capabilities: tuple[str, ...] | None = None
    management_addresses: tuple[str, ...] | None = None
    port_vlan: int | None = None
    organizations: tuple[str, ...] | None = None  # OUIs of organisation-specific TLVs

    @property
    def action(self) -> str:
        return "shutdown" if self.ttl == 0 else "advertisement"


class LldpMalformed(FrameEvent, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "lldp"
    action_name: ClassVar[str] = "malformed"
    reason: str


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\x00")


def _id(raw: bytes, subtype: int, mac_subtype: int) -> str:
    if subtype == mac_subtype and len(raw) == 6:
        return ":".join(f"{b:02x}" for b in raw)
    if subtype == 5 and raw and raw[0] in (1, 2):  # network address: family + address
        try:
            return str(ipaddress.ip_address(raw[1:]))
        except ValueError:
            return raw.hex()
    return _text(raw)


def _caps(bits: int) -> tuple[str, ...]:
    return tuple(name for k, name in enumerate(CAPABILITIES) if bits >> k & 1)


class LldpDissector(FrameDissector):
    name: ClassVar[str] = "lldp"
    ethertypes: ClassVar[frozenset[int]] = frozenset({0x88CC})

    def on_frame(self, data: bytes, ctx: FrameContext) -> Iterable[BaseEvent]:
        p = data[ctx.offset :]
        i = 0
        fields: dict[str, object] = {}
        addresses: list[str] = []
        orgs: list[str] = []
        while i + 2 <= len(p):
            head = struct.unpack_from("!H", p, i)[0]
            kind, length = head >> 9, head & 0x1FF
            value = p[i + 2 : i + 2 + length]
            if len(value) < length:
                self.malformed += 1
                yield LldpMalformed(reason=f"TLV {kind} cut short", **self.endpoints(ctx))
                return
            i += 2 + length
            if kind == 0:
                break
            if kind == 1 and value:
                fields["chassis_id_subtype"] = value[0]
                fields["chassis_id"] = _id(value[1:], value[0], MAC_SUBTYPES["chassis"])
            elif kind == 2 and value:
                fields["port_id_subtype"] = value[0]
                fields["port_id"] = _id(value[1:], value[0], MAC_SUBTYPES["port"])
            elif kind == 3 and length >= 2:
                fields["ttl"] = struct.unpack_from("!H", value)[0]
            elif kind == 4:
                fields["port_description"] = _text(value)
            elif kind == 5:
                fields["system_name"] = _text(value)
            elif kind == 6:
                fields["system_description"] = _text(value)
            elif kind == 7 and length >= 4:
                system, enabled = struct.unpack_from("!HH", value)
                fields["capabilities"] = _caps(system)
                fields["enabled_capabilities"] = _caps(enabled)
            elif kind == 8 and length >= 2:
                alen = value[0]
                addr = value[1 : 1 + alen]
                if len(addr) == alen and alen >= 2 and addr[0] in (1, 2):
                    with contextlib.suppress(ValueError):
                        addresses.append(str(ipaddress.ip_address(addr[1:])))
            elif kind == 127 and length >= 4:
                oui = value[:3].hex(":")
                orgs.append(oui)
                if value[:3] == b"\x00\x80\xc2" and value[3] == 1 and length >= 6:
                    fields["port_vlan"] = struct.unpack_from("!H", value, 4)[0]
        if "chassis_id" not in fields:
            self.malformed += 1
            yield LldpMalformed(reason="no chassis id TLV", **self.endpoints(ctx))
            return
        yield LldpAdvertisement(
            **fields,  # type: ignore[arg-type]
            management_addresses=tuple(addresses) or None,
            organizations=tuple(orgs) or None,
            **self.endpoints(ctx),
        )
