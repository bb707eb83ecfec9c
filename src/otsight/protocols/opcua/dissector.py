"""The OPC UA binary dissector: frames UA-TCP chunks, follows secure channel policies."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import FramedDissector
from .codes import (
    CHUNK_TYPES,
    POLICY_PREFIX,
    REQUEST_TYPES,
    SECURITY_MODES,
    message_type_name,
    policy_name,
    service_name,
)
from .events import OpcuaError, OpcuaHello, OpcuaMalformed, OpcuaMessage, OpcuaOpenSecureChannel
from .parser import Message, frame_length, looks_like_opcua, parse_message

MAX_PENDING = 1024


class OpcuaDissector(FramedDissector):
    name: ClassVar[str] = "opcua"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({4840})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.policy_none: bool | None = None  # from the OPN seen on this flow
        # (direction, request id) -> (ts_ns, frame) of requests
        self.pending: OrderedDict[tuple[int, int], tuple[int, int]] = OrderedDict()

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_opcua(data)

    def message_length(self, buf: bytes | bytearray) -> int:
        return frame_length(buf)

    def skipped(self, direction: int, nbytes: int, ts_ns: int, frame: int) -> Event:
        return OpcuaMalformed(
            ts=ts_ns / 1e9,
            frame=frame,
            reason="bytes that do not frame as UA-TCP skipped",
            length=nbytes,
            **self.endpoints(direction),
        )

    def message(self, direction: int, msg: bytes, ts_ns: int, frame: int) -> Event:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            m = parse_message(msg, self.policy_none)
        except Malformed as exc:
            self.malformed += 1
            return OpcuaMalformed(**base, reason=str(exc), length=len(msg))
        t = m.message_type.decode("latin-1")
        common: dict[str, Any] = {
            **base,
            "message_type": t,
            "message_type_name": message_type_name(m.message_type),
            "chunk_type": CHUNK_TYPES.get(m.chunk_type, "unknown"),
            "message_size": m.size,
            "secure_channel_id": m.secure_channel_id,
            "token_id": m.token_id if m.token_id is not None else m.revised_token_id,
            "sequence_number": m.sequence_number,
            "request_id": m.request_id,
            "service_node_id": m.service_node,
            "service": service_name(m.service_node) if m.body_readable else None,
            "request_handle": m.request_handle,
            "service_result": m.service_result,
        }
        if t in ("OPN", "MSG", "CLO"):
            common["encrypted"] = not m.body_readable and self.policy_none is False
            self._pair(direction, m, common, ts_ns, frame)
        if t in ("HEL", "ACK", "RHE"):
            return OpcuaHello(
                **common,
                protocol_version=m.protocol_version,
                receive_buffer_size=m.receive_buffer_size,
                send_buffer_size=m.send_buffer_size,
                max_message_size=m.max_message_size,
                max_chunk_count=m.max_chunk_count,
                endpoint_url=m.endpoint_url,
                server_uri=m.server_uri,
            )
        if t == "ERR":
            return OpcuaError(**common, status_code=m.status_code or 0, reason=m.reason)
        if t == "OPN":
            none = m.security_policy_uri in (None, POLICY_PREFIX + "None")
            self.policy_none = none
            common["encrypted"] = not none
            return OpcuaOpenSecureChannel(
                **common,
                security_policy_uri=m.security_policy_uri,
                security_policy=policy_name(m.security_policy_uri),
                sender_certificate_length=-1
                if m.sender_certificate_length is None
                else m.sender_certificate_length,
                receiver_thumbprint_present=bool(m.receiver_thumbprint_present),
                request_type=None
                if m.request_type is None
                else REQUEST_TYPES.get(m.request_type, f"unknown-{m.request_type}"),
                security_mode=None
                if m.security_mode is None
                else SECURITY_MODES.get(m.security_mode, f"unknown-{m.security_mode}"),
            )
        return OpcuaMessage(**common)

    def _pair(
        self, direction: int, m: Message, common: dict[str, Any], ts_ns: int, frame: int
    ) -> None:
        name = common["service"]
        if m.request_id is None or not isinstance(name, str) or m.chunk_type != ord("F"):
            return
        if name.endswith("Request"):
            self.pending[(direction, m.request_id)] = (ts_ns, frame)
            if len(self.pending) > MAX_PENDING:
                self.pending.popitem(last=False)
        else:
            found = self.pending.pop((1 - direction, m.request_id), None)
            common["matched"] = found is not None
            if found is not None:
                common["request_frame"] = found[1]
                common["latency"] = (ts_ns - found[0]) / 1e9
