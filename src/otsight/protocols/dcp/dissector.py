"""Profinet DCP: identify, hello, get and set of device names, addresses and resets.

DCP rides on ethertype 0x8892 (Profinet RT) with frame ids 0xFEFC..0xFEFF; cyclic RT frames on
the same ethertype are ignored here. A Set request is how a station name or an IP address is
changed, or a device is reset to factory settings, without any authentication: each one is
emitted as :class:`DcpSet` with the changes it asks for, so detectors need not re-parse blocks.
Responses are paired with their request by xid (and the swapped MAC pair).
"""

from __future__ import annotations

import ipaddress
import struct
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.events import BaseEvent, FrameEvent
from ...core.plugins import FrameContext
from ..base import FrameDissector
from .codes import (
    FRAME_IDS,
    IP_BLOCK_INFO,
    RESET_MODES,
    block_error_name,
    option_name,
    role_names,
    service_name,
    service_type_name,
)

PROFINET_ETHERTYPE = 0x8892
MAX_PENDING = 1024
PENDING_TIMEOUT_NS = 30 * 1_000_000_000
_HEADER = struct.Struct("!HBBIHH")  # frame id, service id, service type, xid, delay, length


class DcpMessage(FrameEvent, frozen=True, kw_only=True):
    """One DCP PDU with what its blocks say (fields are None when no block carried them)."""

    protocol: ClassVar[str] = "pn_dcp"
    frame_id: int
    service_id: int
    service: str  # get | set | identify | hello | unknown-N
    service_type: int
    service_type_name: str  # request | response-success | response-unsupported
    xid: int
    response_delay: int | None = None  # identify requests only
    blocks: tuple[str, ...] = ()  # "option/suboption" names in order
    name_of_station: str | None = None  # also the name filter of an identify request
    type_of_station: str | None = None  # DeviceVendorValue (2/1)
    vendor_id: int | None = None
    device_id: int | None = None
    device_roles: tuple[str, ...] | None = None
    device_options: tuple[str, ...] | None = None
    alias_name: str | None = None
    device_instance: int | None = None
    oem_vendor_id: int | None = None
    oem_device_id: int | None = None
    mac_address: str | None = None
    ip_address: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    ip_block_info: str | None = None  # ip-set | ip-not-set | ip-set-by-dhcp
    ip_conflict: bool | None = None
    dhcp: tuple[str, ...] | None = None  # DHCP suboptions present
    control: tuple[str, ...] | None = None  # control suboptions (signal, factory-reset...)
    block_errors: tuple[str, ...] | None = None  # set/get responses: "ip/ip-parameter:ok"
    matched: bool = False
    request_frame: int | None = None
    latency: float | None = None

    @property
    def action(self) -> str:
        kind = "request" if self.service_type == 0 else "response"
        return f"{self.service}-{kind}"


class DcpSet(DcpMessage, frozen=True, kw_only=True):
    """A Set request: something on the device is being renamed, re-addressed or reset."""

    changes: tuple[str, ...] = ()  # e.g. name-of-station=plc-1, ip=10.0.0.5/..., factory-reset
    permanent: bool | None = None  # block qualifier bit 0 of the first data block


class DcpMalformed(FrameEvent, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "pn_dcp"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int = 0


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _ip(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(raw))


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\x00")


def parse_dcp(p: bytes) -> dict[str, Any]:
    """Fields of a DCP PDU (``p`` starts at the frame id). Raises ValueError when malformed."""
    if len(p) < _HEADER.size:
        raise ValueError("DCP header cut short")
    frame_id, sid, stype, xid, delay, length = _HEADER.unpack_from(p)
    body = p[_HEADER.size : _HEADER.size + length]
    if len(body) < length:
        raise ValueError(f"DCP data length {length} exceeds the frame")
    fields: dict[str, Any] = {
        "frame_id": frame_id,
        "service_id": sid,
        "service": service_name(sid),
        "service_type": stype,
        "service_type_name": service_type_name(stype),
        "xid": xid,
    }
    if sid == 5 and stype == 0:
        fields["response_delay"] = delay
    if sid == 3 and stype == 0:  # get request: bare option/suboption pairs
        fields["blocks"] = tuple(
            option_name(body[i], body[i + 1]) for i in range(0, len(body) - 1, 2)
        )
        return fields
    # identify requests carry filter blocks without a leading BlockInfo/BlockQualifier
    lead = 0 if (sid == 5 and stype == 0) else 2
    is_set_request = sid == 4 and stype == 0
    blocks: list[str] = []
    changes: list[str] = []
    lists: dict[str, list[str]] = {}
    i = 0
    while i + 4 <= len(body):
        opt, sub, blen = body[i], body[i + 1], struct.unpack_from("!H", body, i + 2)[0]
        value = body[i + 4 : i + 4 + blen]
        if len(value) < blen:
            raise ValueError(f"block {opt}/{sub} cut short")
        i += 4 + blen + (blen & 1)  # blocks are padded to an even length
        name = option_name(opt, sub)
        blocks.append(name)
        if opt == 5 and sub == 4 and len(value) >= 3:  # response to a set/get block
            lists.setdefault("block_errors", []).append(
                f"{option_name(value[0], value[1])}:{block_error_name(value[2])}"
            )
            continue
        if opt == 255 or len(value) < lead:
            continue
        info = struct.unpack_from("!H", value)[0] if lead else 0
        if is_set_request and "permanent" not in fields and opt != 5:
            fields["permanent"] = bool(info & 1)
        data = value[lead:]
        _block(opt, sub, info, data, fields, lists)
        if is_set_request:
            changes.append(_change(opt, sub, info, data))
    fields["blocks"] = tuple(blocks)
    for key, items in lists.items():
        fields[key] = tuple(items)
    if is_set_request:
        fields["changes"] = tuple(changes)
    return fields


def _block(
    opt: int, sub: int, info: int, data: bytes, fields: dict[str, Any], lists: dict[str, list[str]]
) -> None:
    if opt == 1:
        if sub == 1 and len(data) >= 6:
            fields["mac_address"] = _mac(data[:6])
        elif sub in (2, 3) and len(data) >= 12:
            fields["ip_address"] = _ip(data[0:4])
            fields["netmask"] = _ip(data[4:8])
            fields["gateway"] = _ip(data[8:12])
            if fields["service_type"] != 0 or fields["service_id"] == 6:
                fields["ip_block_info"] = IP_BLOCK_INFO.get(info & 0x7F, f"unknown-{info & 0x7F}")
                fields["ip_conflict"] = bool(info & 0x80)
    elif opt == 2:
        if sub == 1:
            fields["type_of_station"] = _text(data)
        elif sub == 2:
            fields["name_of_station"] = _text(data)
        elif sub == 3 and len(data) >= 4:
            fields["vendor_id"], fields["device_id"] = struct.unpack_from("!HH", data)
        elif sub == 4 and data:
            fields["device_roles"] = role_names(data[0])
        elif sub == 5:
            fields["device_options"] = tuple(
                option_name(data[k], data[k + 1]) for k in range(0, len(data) - 1, 2)
            )
        elif sub == 6:
            fields["alias_name"] = _text(data)
        elif sub == 7 and len(data) >= 2:
            fields["device_instance"] = data[0] << 8 | data[1]
        elif sub == 8 and len(data) >= 4:
            fields["oem_vendor_id"], fields["oem_device_id"] = struct.unpack_from("!HH", data)
    elif opt == 3:
        lists.setdefault("dhcp", []).append(option_name(opt, sub).split("/", 1)[1])
    elif opt == 5:
        lists.setdefault("control", []).append(option_name(opt, sub).split("/", 1)[1])


def _change(opt: int, sub: int, qualifier: int, data: bytes) -> str:
    """One line saying what a Set block changes."""
    name = option_name(opt, sub)
    if opt == 1 and sub in (2, 3) and len(data) >= 12:
        return f"ip={_ip(data[0:4])}/{_ip(data[4:8])} gw={_ip(data[8:12])}"
    if opt == 2 and sub in (2, 6):
        return f"{name.split('/', 1)[1]}={_text(data)}"
    if opt == 5 and sub == 6:
        mode = RESET_MODES.get(qualifier >> 1, f"mode-{qualifier >> 1}")
        return f"reset-to-factory:{mode}"
    if opt == 5:
        return name.split("/", 1)[1]
    return name


class DcpDissector(FrameDissector):
    name: ClassVar[str] = "pn_dcp"
    ethertypes: ClassVar[frozenset[int]] = frozenset({PROFINET_ETHERTYPE})

    def __init__(self) -> None:
        super().__init__()
        self.not_dcp = 0  # Profinet RT frames that are not DCP (cyclic data, alarms...)
        self.pending: OrderedDict[tuple[int, str], tuple[int, int]] = OrderedDict()

    def on_frame(self, data: bytes, ctx: FrameContext) -> Iterable[BaseEvent]:
        p = data[ctx.offset :]
        if len(p) >= 2 and (p[0] << 8 | p[1]) not in FRAME_IDS:
            self.not_dcp += 1
            return ()
        try:
            fields = parse_dcp(p)
        except (ValueError, struct.error) as exc:
            self.malformed += 1
            return (DcpMalformed(reason=str(exc), length=len(p), **self.endpoints(ctx)),)
        if fields["service_type"] == 0:
            key = (fields["xid"], ctx.src_mac)
            self.pending[key] = (ctx.ts_ns, ctx.frame)
            self._expire(ctx.ts_ns)
        else:
            # identify responses answer a multicast request: match on xid and the requester
            found = self.pending.get((fields["xid"], ctx.dst_mac))
            if found is not None:
                fields["matched"] = True
                fields["request_frame"] = found[1]
                fields["latency"] = (ctx.ts_ns - found[0]) / 1e9
                if fields["service_id"] != 5:  # identify gets many answers, keep it
                    del self.pending[(fields["xid"], ctx.dst_mac)]
        cls = DcpSet if "changes" in fields else DcpMessage
        return (cls(**fields, **self.endpoints(ctx)),)

    def _expire(self, now: int) -> None:
        while self.pending:
            _key, (ts, _frame) = next(iter(self.pending.items()))
            if len(self.pending) > MAX_PENDING or now - ts > PENDING_TIMEOUT_NS:
                self.pending.popitem(last=False)
            else:
                break
