"""CDP (Cisco Discovery Protocol): device id, addresses, port, capabilities, software, platform.

CDP travels in 802.3/LLC/SNAP frames to 01:00:0c:cc:cc:cc with the Cisco OUI 00:00:0c and
protocol id 0x2000. The dispatcher hands over frames by SNAP protocol id only, so the OUI is
checked here: another vendor's 0x2000 is not CDP.
"""

from __future__ import annotations

import contextlib
import ipaddress
import struct
from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.events import BaseEvent, FrameEvent
from ...core.plugins import FrameContext
from ..base import FrameDissector

CDP_PID = 0x2000
CISCO_SNAP = b"\x00\x00\x0c\x20\x00"  # OUI + protocol id, the 5 bytes before the payload

CAPABILITIES = (
    (0x001, "router"),
    (0x002, "transparent-bridge"),
    (0x004, "source-route-bridge"),
    (0x008, "switch"),
    (0x010, "host"),
    (0x020, "igmp-capable"),
    (0x040, "repeater"),
    (0x080, "voip-phone"),
    (0x100, "remotely-managed"),
    (0x200, "cvta"),
    (0x400, "two-port-mac-relay"),
)

TLV_NAMES = {
    0x01: "device-id",
    0x02: "addresses",
    0x03: "port-id",
    0x04: "capabilities",
    0x05: "software-version",
    0x06: "platform",
    0x07: "ip-prefixes",
    0x08: "protocol-hello",
    0x09: "vtp-management-domain",
    0x0A: "native-vlan",
    0x0B: "duplex",
    0x0E: "voice-vlan-reply",
    0x0F: "voice-vlan-query",
    0x10: "power",
    0x11: "mtu",
    0x12: "trust-bitmap",
    0x13: "untrusted-port-cos",
    0x14: "system-name",
    0x15: "system-oid",
    0x16: "management-addresses",
    0x17: "location",
    0x19: "power-requested",
    0x1A: "power-available",
}

_NLPID_IP = b"\xcc"  # protocol type 1 (NLPID), protocol 0xcc: IPv4
_IPV6_8022 = b"\xaa\xaa\x03\x00\x00\x00\x86\xdd"  # protocol type 2 (802.2), ethertype IPv6


class CdpAdvertisement(FrameEvent, frozen=True, kw_only=True):
    """One CDP announcement: who the neighbour is and on which of its ports it sent it."""

    protocol: ClassVar[str] = "cdp"
    version: int
    ttl: int
    device_id: str | None = None
    addresses: tuple[str, ...] | None = None
    port_id: str | None = None
    capabilities: tuple[str, ...] | None = None
    software_version: str | None = None
    platform: str | None = None
    vtp_domain: str | None = None
    native_vlan: int | None = None
    voice_vlan: int | None = None
    duplex: str | None = None  # "full" | "half"
    mtu: int | None = None
    system_name: str | None = None
    location: str | None = None
    management_addresses: tuple[str, ...] | None = None
    tlv_types: tuple[int, ...] = ()

    @property
    def action(self) -> str:
        return "shutdown" if self.ttl == 0 else "advertisement"


class CdpMalformed(FrameEvent, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "cdp"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int = 0


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\x00")


def capability_names(bits: int) -> tuple[str, ...]:
    return tuple(name for bit, name in CAPABILITIES if bits & bit)


def parse_addresses(value: bytes) -> tuple[str, ...]:
    """The address list of TLVs 0x02 and 0x16: count, then (type, proto, address) entries."""
    if len(value) < 4:
        raise ValueError("address TLV shorter than its count")
    count = struct.unpack_from("!I", value)[0]
    i = 4
    out: list[str] = []
    for _ in range(min(count, 64)):
        if i + 2 > len(value):
            raise ValueError("address entry cut short")
        plen = value[i + 1]
        proto = value[i + 2 : i + 2 + plen]
        i += 2 + plen
        if i + 2 > len(value):
            raise ValueError("address entry cut short")
        alen = struct.unpack_from("!H", value, i)[0]
        addr = value[i + 2 : i + 2 + alen]
        i += 2 + alen
        if len(addr) != alen or len(proto) != plen:
            raise ValueError("address entry cut short")
        if (proto == _NLPID_IP and alen == 4) or (proto == _IPV6_8022 and alen == 16):
            with contextlib.suppress(ValueError):
                out.append(str(ipaddress.ip_address(addr)))
    return tuple(out)


def parse_cdp(p: bytes) -> dict[str, Any]:
    """The fields of a CDP PDU (``p`` starts at the version byte). Raises ValueError."""
    if len(p) < 4:
        raise ValueError("CDP header cut short")
    fields: dict[str, Any] = {"version": p[0], "ttl": p[1]}
    types: list[int] = []
    i = 4
    while i + 4 <= len(p):
        kind, length = struct.unpack_from("!HH", p, i)
        if length < 4:
            raise ValueError(f"TLV 0x{kind:04x} has length {length}")
        value = p[i + 4 : i + length]
        if len(value) < length - 4:
            raise ValueError(f"TLV 0x{kind:04x} cut short")
        i += length
        types.append(kind)
        if kind == 0x01:
            fields["device_id"] = _text(value)
        elif kind == 0x02:
            fields["addresses"] = parse_addresses(value)
        elif kind == 0x03:
            fields["port_id"] = _text(value)
        elif kind == 0x04 and len(value) >= 4:
            fields["capabilities"] = capability_names(struct.unpack_from("!I", value)[0])
        elif kind == 0x05:
            fields["software_version"] = _text(value)
        elif kind == 0x06:
            fields["platform"] = _text(value)
        elif kind == 0x09:
            fields["vtp_domain"] = _text(value)
        elif kind == 0x0A and len(value) >= 2:
            fields["native_vlan"] = struct.unpack_from("!H", value)[0]
        elif kind == 0x0B and value:
            fields["duplex"] = "full" if value[0] else "half"
        elif kind == 0x0E and len(value) >= 3:
            fields["voice_vlan"] = struct.unpack_from("!H", value, 1)[0]
        elif kind == 0x11 and len(value) >= 4:
            fields["mtu"] = struct.unpack_from("!I", value)[0]
        elif kind == 0x14:
            fields["system_name"] = _text(value)
        elif kind == 0x17 and value:
            fields["location"] = _text(value[1:])
        elif kind == 0x16:
            fields["management_addresses"] = parse_addresses(value)
    fields["tlv_types"] = tuple(types)
    return fields


def payload_offset(data: bytes, offset: int) -> int:
    """Where the CDP PDU starts, or -1 if the SNAP header does not carry the Cisco OUI.

    The contract puts ``offset`` after the SNAP header; the decoder of this version stops
    at the LLC header for SNAP frames with a non-zero OUI, so both placements are accepted.
    """
    if data[offset : offset + 3] == b"\xaa\xaa\x03" and data[offset + 3 : offset + 8] == CISCO_SNAP:
        return offset + 8
    if offset >= 5 and data[offset - 5 : offset] == CISCO_SNAP:
        return offset
    return -1


class CdpDissector(FrameDissector):
    name: ClassVar[str] = "cdp"
    ethertypes: ClassVar[frozenset[int]] = frozenset({CDP_PID})

    def __init__(self) -> None:
        super().__init__()
        self.not_cisco = 0  # SNAP 0x2000 frames of another OUI (ignored)

    def on_frame(self, data: bytes, ctx: FrameContext) -> Iterable[BaseEvent]:
        off = payload_offset(data, ctx.offset)
        if off < 0:
            self.not_cisco += 1
            return ()
        try:
            fields = parse_cdp(data[off:])
        except ValueError as exc:
            self.malformed += 1
            return (CdpMalformed(reason=str(exc), length=len(data) - off, **self.endpoints(ctx)),)
        return (CdpAdvertisement(**fields, **self.endpoints(ctx)),)
