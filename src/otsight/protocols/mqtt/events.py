"""MQTT events: one per control packet; answers are paired with what they answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttMessage(Event):
    """One MQTT control packet. Answers (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK,
    UNSUBACK, PINGRESP) carry ``matched``, ``request_frame`` and ``latency``."""

    protocol: ClassVar[str] = "mqtt"
    message_type: int
    message_type_name: str
    flags: int
    remaining_length: int
    protocol_level: int | None = None  # of the connection, from its CONNECT (None: not seen)
    packet_id: int | None = None
    reason_code: int | None = None
    reason: str | None = None
    properties_length: int | None = None  # MQTT 5 properties (skipped)
    from_client: bool | None = None
    violation: str | None = None  # e.g. "PUBLISH with QoS 3": parsed anyway, counted malformed
    matched: bool | None = None
    request_frame: int | None = None
    latency: float | None = None

    @property
    def action(self) -> str:
        return self.message_type_name


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConnect(MqttMessage):
    """CONNECT. The password is never kept: only ``password_present``."""

    protocol_name: str
    protocol_version: str | None
    clean_session: bool
    keep_alive: int
    client_id: str
    will_flag: bool
    will_qos: int
    will_retain: bool
    will_topic: str | None
    username_present: bool
    username: str | None
    password_present: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttConnAck(MqttMessage):
    session_present: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttPublish(MqttMessage):
    topic: str
    qos: int
    retain: bool
    dup: bool
    payload_length: int
    payload_preview: str | None  # the first bytes, only when printable text


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttSubscribe(MqttMessage):
    """SUBSCRIBE (with ``requested_qos``) or UNSUBSCRIBE."""

    topic_filters: tuple[str, ...]
    requested_qos: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttSubAck(MqttMessage):
    """SUBACK or UNSUBACK (MQTT 5): one reason code per filter of the request."""

    reason_codes: tuple[int, ...]
    reasons: tuple[str, ...]
    topic_filters: tuple[str, ...] = ()  # of the matched request


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttMalformed(Event):
    """Bytes on an MQTT flow that do not form a valid packet (counted, with a reason)."""

    protocol: ClassVar[str] = "mqtt"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
    message_type: int | None = None
