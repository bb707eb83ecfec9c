"""The S7comm dissector: TPKT framing, COTP reassembly, S7comm/S7comm-plus PDUs, pairing.

Jobs are paired with their ack/ack-data and userdata requests with their responses by PDU
reference; S7comm-plus responses with their request by sequence number. Userdata responses
split over several PDUs ("last data unit" = no) are reassembled, so read-szl fields (SZL id,
module identification) appear on the PDU that completes the list, as Wireshark shows them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import Dissector, StreamBuffer
from .codes import (
    PI_SERVICES,
    cotp_pdu_name,
    error_class_name,
    function_group_name,
    function_name,
    return_code_name,
    rosctr_name,
    s7plus_function_name,
    s7plus_opcode_name,
    s7plus_version_name,
    subfunction_name,
    szl_list_name,
    userdata_type_name,
)
from .events import (
    S7Connection,
    S7Malformed,
    S7PlusMessage,
    S7Request,
    S7Response,
    S7UserData,
)
from .parser import (
    COTP_CC,
    COTP_CR,
    COTP_DC,
    COTP_DR,
    COTP_DT,
    S7_PROTOCOL_ID,
    S7PLUS_PROTOCOL_ID,
    S7Pdu,
    S7PlusPdu,
    looks_like_s7,
    parse_block_request,
    parse_clock,
    parse_cotp,
    parse_s7,
    parse_s7plus,
    parse_szl_request,
    parse_szl_response,
    tpkt_length,
    tsap_rack_slot,
    tsap_text,
)

MAX_PENDING = 1024  # unanswered requests kept per flow and kind
PENDING_TIMEOUT_NS = 60 * 1_000_000_000
MAX_TSDU = 1 << 16  # COTP / userdata reassembly cap (bytes)

_Pending = tuple[Any, int, int]  # (pdu, ts_ns, frame)


class S7Dissector(Dissector):
    name: ClassVar[str] = "s7comm"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({102})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.buffers = (StreamBuffer(), StreamBuffer())
        self.tsdu = (bytearray(), bytearray())  # COTP DT fragments until EOT, per direction
        self.pending: OrderedDict[tuple[str, int], _Pending] = OrderedDict()
        self.fragments: dict[tuple[int, int, int, int], bytearray] = {}
        self.plus_seen = False

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_s7(data)

    def on_gap(self, direction: int, nbytes: int) -> None:
        self.buffers[direction].reset()
        self.tsdu[direction].clear()
        for key in [k for k in self.fragments if k[0] == direction]:
            del self.fragments[key]

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> Iterable[Event]:
        buf = self.buffers[direction]
        buf.feed(data)
        skipped = buf.skipped
        for tpkt in buf.messages(tpkt_length):
            yield from self._tpkt(direction, tpkt, ts_ns, frame)
        if buf.skipped != skipped:
            self.malformed += 1
            yield S7Malformed(
                ts=ts_ns / 1e9,
                frame=frame,
                reason="bytes that do not frame as TPKT skipped",
                length=buf.skipped - skipped,
                **self.endpoints(direction),
            )

    # ------------------------------------------------------------------ layers
    def _base(self, direction: int, ts_ns: int, frame: int) -> dict[str, Any]:
        return {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}

    def _bad(self, direction: int, ts_ns: int, frame: int, reason: str, n: int) -> Event:
        self.malformed += 1
        return S7Malformed(**self._base(direction, ts_ns, frame), reason=reason, length=n)

    def _tpkt(self, direction: int, tpkt: bytes, ts_ns: int, frame: int) -> Iterator[Event]:
        try:
            cotp = parse_cotp(tpkt)
        except Malformed as exc:
            yield self._bad(direction, ts_ns, frame, str(exc), len(tpkt))
            return
        if cotp.pdu_type == COTP_DT:
            tsdu = self.tsdu[direction]
            tsdu += cotp.payload
            if len(tsdu) > MAX_TSDU:
                tsdu.clear()
                yield self._bad(direction, ts_ns, frame, "COTP TSDU too long", MAX_TSDU)
                return
            if not cotp.eot:
                return
            payload = bytes(tsdu)
            tsdu.clear()
            if payload:
                yield from self._payload(direction, payload, ts_ns, frame)
        elif cotp.pdu_type in (COTP_CR, COTP_CC, COTP_DR, COTP_DC):
            rack_slot = tsap_rack_slot(cotp.dst_tsap)
            yield S7Connection(
                **self._base(direction, ts_ns, frame),
                pdu_type=cotp_pdu_name(cotp.pdu_type),
                src_tsap=tsap_text(cotp.src_tsap),
                dst_tsap=tsap_text(cotp.dst_tsap),
                tpdu_size=cotp.tpdu_size,
                rack=rack_slot[0] if rack_slot else None,
                slot=rack_slot[1] if rack_slot else None,
            )

    def _payload(self, direction: int, payload: bytes, ts_ns: int, frame: int) -> Iterator[Event]:
        try:
            if payload[0] == S7_PROTOCOL_ID:
                yield self._s7(direction, parse_s7(payload), ts_ns, frame)
            elif payload[0] == S7PLUS_PROTOCOL_ID:
                self.plus_seen = True
                yield self._s7plus(direction, parse_s7plus(payload), ts_ns, frame)
            elif not self.plus_seen:  # S7comm-plus continuation fragments carry no header
                yield self._bad(
                    direction, ts_ns, frame, f"unknown protocol id {payload[0]:#x}", len(payload)
                )
        except Malformed as exc:
            yield self._bad(direction, ts_ns, frame, str(exc), len(payload))

    # ------------------------------------------------------------------ S7comm
    def _s7(self, direction: int, pdu: S7Pdu, ts_ns: int, frame: int) -> Event:
        base = self._base(direction, ts_ns, frame)
        head: dict[str, Any] = {
            "rosctr": pdu.rosctr,
            "rosctr_name": rosctr_name(pdu.rosctr),
            "pdu_ref": pdu.pdu_ref,
            "param_length": pdu.param_length,
            "data_length": pdu.data_length,
        }
        if pdu.rosctr == 7:
            return self._userdata(direction, pdu, ts_ns, frame, base, head)
        if pdu.rosctr == 1:
            self._remember(("job", pdu.pdu_ref), pdu, ts_ns, frame)
            return S7Request(**base, **head, **_job_fields(pdu))
        found = self.pending.pop(("job", pdu.pdu_ref), None) if pdu.rosctr in (2, 3) else None
        fields = _job_fields(pdu)
        extra: dict[str, Any] = {}
        if found is not None:
            req: S7Pdu = found[0]
            for k, v in _job_fields(req).items():
                if fields.get(k) is None:
                    fields[k] = v
            extra = {
                "matched": True,
                "request_frame": found[2],
                "latency": (ts_ns - found[1]) / 1e9,
            }
        if pdu.error_class:
            extra["error"] = error_class_name(pdu.error_class)
        return S7Response(
            **base,
            **head,
            **fields,
            error_class=pdu.error_class,
            error_code=pdu.error_code,
            return_codes=tuple(return_code_name(c) for c in pdu.return_codes)
            if pdu.return_codes
            else None,
            **extra,
        )

    def _userdata(
        self,
        direction: int,
        pdu: S7Pdu,
        ts_ns: int,
        frame: int,
        base: dict[str, Any],
        head: dict[str, Any],
    ) -> Event:
        group = pdu.function_group or 0
        sub = pdu.subfunction or 0
        utype = pdu.userdata_type or 0
        fields: dict[str, Any] = {}
        payload: bytes | None = pdu.userdata_payload
        fragment = False
        # userdata reassembly: "last data unit" = no means more PDUs of this answer follow
        key = (direction, group, sub, pdu.data_unit_ref or 0)
        if pdu.last_data_unit is False:
            frag = self.fragments.setdefault(key, bytearray())
            if len(frag) + len(pdu.userdata_payload) <= MAX_TSDU:
                frag += pdu.userdata_payload
            payload, fragment = None, True
        elif key in self.fragments:
            payload = bytes(self.fragments.pop(key)) + pdu.userdata_payload
        ok = pdu.data_return_code == 0xFF
        if payload is not None and ok:
            if group == 4 and sub == 1:
                szl = parse_szl_response(payload) if utype == 8 else parse_szl_request(payload)
                if szl is not None:
                    fields.update(
                        szl_id=szl.szl_id,
                        szl_index=szl.szl_index,
                        szl_list=szl_list_name(szl.szl_id),
                        szl_record_count=szl.record_count,
                    )
                    if szl.identification:
                        fields["module_identification"] = dict(szl.identification)
            elif group == 3 and utype == 4 and sub in (2, 3):
                fields["block_type"], fields["block_number"] = parse_block_request(payload)
            elif group == 7 and sub in (1, 2, 3, 4):
                fields["clock"] = parse_clock(payload)
        if utype == 4:
            self._remember(("userdata", pdu.pdu_ref), pdu, ts_ns, frame)
        elif utype == 8 and not fragment:
            found = self.pending.pop(("userdata", pdu.pdu_ref), None)
            if found is not None:
                fields.update(
                    matched=True, request_frame=found[2], latency=(ts_ns - found[1]) / 1e9
                )
        return S7UserData(
            **base,
            **head,
            method=userdata_type_name(utype),
            function_group=group,
            function_group_name=function_group_name(group),
            subfunction=sub,
            subfunction_name=subfunction_name(group, sub),
            sequence_number=pdu.sequence_number or 0,
            data_unit_ref=pdu.data_unit_ref,
            last_data_unit=pdu.last_data_unit,
            fragment=fragment,
            userdata_error=pdu.userdata_error,
            return_code=return_code_name(pdu.data_return_code)
            if pdu.data_return_code is not None
            else None,
            **fields,
        )

    # ------------------------------------------------------------------ S7comm-plus
    def _s7plus(self, direction: int, pdu: S7PlusPdu, ts_ns: int, frame: int) -> Event:
        extra: dict[str, Any] = {}
        session = pdu.session_id
        if pdu.opcode == 0x31 and pdu.sequence_number is not None:
            self._remember(("plus", pdu.sequence_number), pdu, ts_ns, frame)
        elif pdu.opcode in (0x32, 0x02) and pdu.sequence_number is not None:
            found = self.pending.pop(("plus", pdu.sequence_number), None)
            if found is not None:
                req: S7PlusPdu = found[0]
                extra = {
                    "matched": True,
                    "request_frame": found[2],
                    "latency": (ts_ns - found[1]) / 1e9,
                }
                session = req.session_id
            if pdu.function_code == 0x04CA and pdu.object_ids:
                session = pdu.object_ids[0]  # create-object answers with the new session id
        return S7PlusMessage(
            **self._base(direction, ts_ns, frame),
            version=pdu.version,
            version_name=s7plus_version_name(pdu.version),
            data_length=pdu.data_length,
            integrity=pdu.integrity,
            opcode=pdu.opcode,
            opcode_name=s7plus_opcode_name(pdu.opcode) if pdu.opcode is not None else None,
            function_code=pdu.function_code,
            function=s7plus_function_name(pdu.function_code)
            if pdu.function_code is not None
            else None,
            sequence_number=pdu.sequence_number,
            session_id=session,
            **extra,
        )

    def _remember(self, key: tuple[str, int], pdu: Any, ts_ns: int, frame: int) -> None:
        self.pending.pop(key, None)
        self.pending[key] = (pdu, ts_ns, frame)
        while self.pending:
            _key, (_old, old_ts, _f) = next(iter(self.pending.items()))
            if len(self.pending) > MAX_PENDING or ts_ns - old_ts > PENDING_TIMEOUT_NS:
                self.pending.popitem(last=False)
            else:
                break


def _job_fields(p: S7Pdu) -> dict[str, Any]:
    fc = p.function_code
    pi = p.pi_service
    return {
        "function_code": fc,
        "function": function_name(fc) if fc is not None else None,
        "item_count": p.item_count,
        "items": tuple(p.items) if p.items else None,
        "max_amq_calling": p.max_amq_calling,
        "max_amq_called": p.max_amq_called,
        "pdu_length": p.pdu_length,
        "filename": p.filename,
        "block_type": p.block_type,
        "block_number": p.block_number,
        "file_system": p.file_system,
        "pi_service": pi,
        "pi_service_name": PI_SERVICES.get(pi, f"unknown-{pi}") if pi is not None else None,
        "pi_arguments": p.pi_arguments,
    }
