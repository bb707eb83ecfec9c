"""The BACnet/IP dissector: one event per datagram, responses paired by (peer, invoke id)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector
from . import services
from .codes import (
    ABORT_REASONS,
    APDU_TYPES,
    BVLC_FUNCTIONS,
    CONFIRMED_SERVICES,
    NETWORK_MESSAGES,
    REJECT_REASONS,
    UNCONFIRMED_SERVICES,
    lookup,
)
from .events import BacnetIAm, BacnetMalformed, BacnetMessage
from .parser import looks_like_bacnet, parse_apdu, parse_bvlc, parse_npdu, walk

MAX_PENDING = 256  # unanswered confirmed requests kept per flow
PENDING_TIMEOUT_NS = 60 * 1_000_000_000
RESPONSE_TYPES = frozenset({2, 3, 5, 6, 7})  # simple-ack, complex-ack, error, reject, abort


class BacnetDissector(Dissector):
    """BACnet/IP over UDP (port 47808, 0xBAC0)."""

    name: ClassVar[str] = "bacnet"
    transport: ClassVar[str] = "udp"
    ports: ClassVar[frozenset[int]] = frozenset({47808})
    max_score: ClassVar[float] = 0.7  # looks_like_bacnet

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        # (direction of the request, invoke id) -> (service, ts_ns, frame)
        self.pending: OrderedDict[tuple[int, int], tuple[int, int, int]] = OrderedDict()

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_bacnet(data)

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        if not data:
            return ()
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            return (self._message(direction, data, base, ts_ns, frame),)
        except Malformed as exc:
            self.malformed += 1
            return (BacnetMalformed(**base, reason=str(exc), length=len(data)),)

    def _message(
        self, direction: int, data: bytes, base: dict[str, Any], ts_ns: int, frame: int
    ) -> Event:
        bvlc = parse_bvlc(data)
        f: dict[str, Any] = {
            "bvlc_function": bvlc.function,
            "bvlc_name": lookup(BVLC_FUNCTIONS, bvlc.function),
            "bvlc_length": bvlc.length,
            "forwarded_from": bvlc.forwarded_from,
            "bvlc_result": bvlc.result,
            "foreign_device_ttl": bvlc.ttl,
        }
        if bvlc.npdu is None:
            return BacnetMessage(**base, **f)
        npdu = parse_npdu(bvlc.npdu)
        f.update(
            npdu_control=npdu.control,
            dnet=npdu.dnet,
            dadr=npdu.dadr,
            snet=npdu.snet,
            sadr=npdu.sadr,
            hop_count=npdu.hop_count,
            expecting_reply=bool(npdu.control & 0x04),
            priority=npdu.control & 0x03,
        )
        if npdu.network_message:
            assert npdu.message_type is not None
            f["network_message_type"] = npdu.message_type
            f["network_message"] = (
                f"proprietary-{npdu.message_type}"
                if npdu.message_type >= 0x80
                else lookup(NETWORK_MESSAGES, npdu.message_type)
            )
            f["network_vendor_id"] = npdu.vendor_id
            return BacnetMessage(**base, **f)
        apdu = parse_apdu(npdu.apdu)
        t = apdu.pdu_type
        f.update(
            apdu_type=t,
            apdu_type_name=lookup(APDU_TYPES, t),
            invoke_id=apdu.invoke_id,
            segmented=apdu.segmented,
            more_follows=apdu.more_follows,
            sequence_number=apdu.sequence_number,
            service_choice=apdu.service,
        )
        if apdu.service is not None:
            table = UNCONFIRMED_SERVICES if t == 1 else CONFIRMED_SERVICES
            f["service"] = lookup(table, apdu.service)
        tags = walk(apdu.data)
        f["complete"] = tags.complete
        if t == 0 and apdu.service is not None:
            services.confirmed_request(apdu.service, tags, f)
            if apdu.invoke_id is not None and not apdu.more_follows:
                self._remember((direction, apdu.invoke_id), apdu.service, ts_ns, frame)
        elif t == 1 and apdu.service is not None:
            services.unconfirmed_request(apdu.service, tags, f)
        elif t == 3 and apdu.service is not None:
            services.complex_ack(apdu.service, tags, f)
        elif t == 5:
            services.error(tags, f)
        elif t == 6 and apdu.reason is not None:
            f["reason"] = lookup(REJECT_REASONS, apdu.reason)
        elif t == 7 and apdu.reason is not None:
            f["reason"] = lookup(ABORT_REASONS, apdu.reason)
        if (
            t in RESPONSE_TYPES
            and apdu.invoke_id is not None
            and not (t == 3 and apdu.more_follows)
        ):
            found = self.pending.pop((1 - direction, apdu.invoke_id), None)
            if found is not None:
                service, req_ts, req_frame = found
                f.update(
                    matched=True,
                    request_frame=req_frame,
                    request_service=lookup(CONFIRMED_SERVICES, service),
                    latency=(ts_ns - req_ts) / 1e9,
                )
        if t == 1 and apdu.service == 0:
            return BacnetIAm(**base, **f)
        for key in ("device_instance", "max_apdu", "segmentation", "vendor_id", "vendor_name"):
            f.pop(key, None)
        return BacnetMessage(**base, **f)

    def _remember(self, key: tuple[int, int], service: int, ts_ns: int, frame: int) -> None:
        self.pending.pop(key, None)
        self.pending[key] = (service, ts_ns, frame)
        while self.pending:
            _key, (_s, old_ts, _f) = next(iter(self.pending.items()))
            if len(self.pending) > MAX_PENDING or ts_ns - old_ts > PENDING_TIMEOUT_NS:
                self.pending.popitem(last=False)
            else:
                break
