"""The MQTT dissector: frames each direction, tracks the protocol level, pairs answers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, ClassVar

from ...core.errors import Malformed
from ...core.events import Event
from ...core.plugins import FlowContext
from ..base import FramedDissector
from .codes import (
    CONNACK,
    CONNECT,
    PUBACK,
    PUBLISH,
    PUBREC,
    RESPONSE_TO,
    SUBACK,
    SUBSCRIBE,
    UNSUBACK,
    UNSUBSCRIBE,
    message_type_name,
    protocol_version,
    reason_name,
)
from .events import (
    MqttConnAck,
    MqttConnect,
    MqttMalformed,
    MqttMessage,
    MqttPublish,
    MqttSubAck,
    MqttSubscribe,
)
from .parser import Packet, frame_length, looks_like_mqtt, parse_packet

MAX_PENDING = 1024
PENDING_TIMEOUT_NS = 120 * 1_000_000_000
# PINGREQ and CONNECT have no packet id: they pair on this key
NO_ID = -1


class MqttDissector(FramedDissector):
    name: ClassVar[str] = "mqtt"
    transport: ClassVar[str] = "tcp"
    ports: ClassVar[frozenset[int]] = frozenset({1883})

    def __init__(self, flow: FlowContext) -> None:
        super().__init__(flow)
        self.level: int | None = None
        self.client_direction = self.client_side()
        # (direction of the request, request type, packet id) -> (packet, ts_ns, frame)
        self.pending: OrderedDict[tuple[int, int, int], tuple[Packet, int, int]] = OrderedDict()

    @classmethod
    def probe(cls, data: bytes, direction: int) -> float:
        return looks_like_mqtt(data)

    def message_length(self, buf: bytes | bytearray) -> int:
        return frame_length(buf)

    def skipped(self, direction: int, nbytes: int, ts_ns: int, frame: int) -> Event:
        return MqttMalformed(
            ts=ts_ns / 1e9,
            frame=frame,
            reason="bytes that do not frame as MQTT skipped",
            length=nbytes,
            **self.endpoints(direction),
        )

    def on_end(self, ts_ns: int) -> Iterable[Event]:
        for direction, buf in enumerate(self.buffers):
            if buf.data:
                self.malformed += 1
                yield MqttMalformed(
                    ts=ts_ns / 1e9,
                    reason="flow ended inside a packet (truncated)",
                    length=len(buf.data),
                    message_type=buf.data[0] >> 4,
                    **self.endpoints(direction),
                )
                buf.reset()

    def message(self, direction: int, msg: bytes, ts_ns: int, frame: int) -> Event:
        base: dict[str, Any] = {"ts": ts_ns / 1e9, "frame": frame, **self.endpoints(direction)}
        try:
            p = parse_packet(msg, self.level)
        except Malformed as exc:
            self.malformed += 1
            return MqttMalformed(**base, reason=str(exc), length=len(msg), message_type=msg[0] >> 4)
        t = p.message_type
        if p.violation is not None:
            self.malformed += 1
        if t == CONNECT:
            self.level = p.protocol_level
            self.client_direction = direction
        elif t == CONNACK and self.level is None and p.remaining_length > 2:
            # Joined mid-stream: only MQTT 5 has CONNACK properties. A CONNACK that is not
            # valid MQTT 5 either is reported as malformed, like any other bad packet.
            try:
                p5 = parse_packet(msg, 5)
            except Malformed as exc:
                self.malformed += 1
                return MqttMalformed(
                    **base, reason=str(exc), length=len(msg), message_type=msg[0] >> 4
                )
            self.level = 5
            p = p5
        common: dict[str, Any] = {
            **base,
            "message_type": t,
            "message_type_name": message_type_name(t),
            "flags": p.flags,
            "remaining_length": p.remaining_length,
            "protocol_level": self.level,
            "packet_id": p.packet_id,
            "reason_code": p.reason_code,
            "reason": None if p.reason_code is None else reason_name(t, p.reason_code, self.level),
            "properties_length": p.properties_length,
            "from_client": direction == self.client_direction,
            "violation": p.violation,
        }
        request = self._pair(direction, p, ts_ns, frame, common)
        if t == CONNECT:
            assert p.protocol_name is not None
            assert p.client_id is not None
            return MqttConnect(
                **common,
                protocol_name=p.protocol_name,
                protocol_version=protocol_version(p.protocol_level),
                clean_session=bool(p.clean_session),
                keep_alive=p.keep_alive or 0,
                client_id=p.client_id,
                will_flag=bool(p.will_flag),
                will_qos=p.will_qos or 0,
                will_retain=bool(p.will_retain),
                will_topic=p.will_topic,
                username_present=bool(p.username_present),
                username=p.username,
                password_present=bool(p.password_present),
            )
        if t == CONNACK:
            return MqttConnAck(**common, session_present=bool(p.session_present))
        if t == PUBLISH:
            return MqttPublish(
                **common,
                topic=p.topic or "",
                qos=p.qos or 0,
                retain=bool(p.retain),
                dup=bool(p.dup),
                payload_length=p.payload_length or 0,
                payload_preview=p.payload_preview,
            )
        if t in (SUBSCRIBE, UNSUBSCRIBE):
            return MqttSubscribe(
                **common, topic_filters=p.topic_filters, requested_qos=p.requested_qos
            )
        if t == SUBACK or (t == UNSUBACK and p.reason_codes):
            return MqttSubAck(
                **common,
                reason_codes=p.reason_codes,
                reasons=tuple(reason_name(t, c, self.level) for c in p.reason_codes),
                topic_filters=request.topic_filters if request is not None else (),
            )
        return MqttMessage(**common)

    def _pair(
        self, direction: int, p: Packet, ts_ns: int, frame: int, common: dict[str, Any]
    ) -> Packet | None:
        """Remember what expects an answer; find the request of an answer (sets ``common``)."""
        t = p.message_type
        pid = NO_ID if p.packet_id is None else p.packet_id
        request: Packet | None = None
        answer_of = RESPONSE_TO.get(t)
        if answer_of is not None:
            common["matched"] = False
            found = self.pending.pop((1 - direction, answer_of, pid), None)
            if found is not None:
                want_qos = {PUBACK: 1, PUBREC: 2}.get(t)
                if want_qos is None or found[0].qos == want_qos:
                    request = found[0]
                    common["matched"] = True
                    common["request_frame"] = found[2]
                    common["latency"] = (ts_ns - found[1]) / 1e9
        expects_answer = (t in RESPONSE_TO.values() and t != PUBLISH) or (t == PUBLISH and p.qos)
        if expects_answer:
            self.pending[(direction, t, pid)] = (p, ts_ns, frame)
            while self.pending:
                _key, (_old, old_ts, _f) = next(iter(self.pending.items()))
                if len(self.pending) > MAX_PENDING or ts_ns - old_ts > PENDING_TIMEOUT_NS:
                    self.pending.popitem(last=False)
                else:
                    break
        return request
