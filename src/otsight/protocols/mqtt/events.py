"""MQTT events: one per control packet; answers are paired with what they answer."""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class MqttMessage(Event, frozen=True, kw_only=True):
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


class MqttConnect(MqttMessage, frozen=True, kw_only=True):
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


class MqttConnAck(MqttMessage, frozen=True, kw_only=True):
    session_present: bool


class MqttPublish(MqttMessage, frozen=True, kw_only=True):
    topic: str
    qos: int
    retain: bool
    dup: bool
    payload_length: int
    payload_preview: str | None  # the first bytes, only when printable text


class MqttSubscribe(MqttMessage, frozen=True, kw_only=True):
    """SUBSCRIBE (with ``requested_qos``) or UNSUBSCRIBE."""

    topic_filters: tuple[str, ...]
    requested_qos: tuple[int, ...] = ()


class MqttSubAck(MqttMessage, frozen=True, kw_only=True):
    """SUBACK or UNSUBACK (MQTT 5): one reason code per filter of the request."""

    reason_codes: tuple[int, ...]
    reasons: tuple[str, ...]
    topic_filters: tuple[str, ...] = ()  # of the matched request


class MqttMalformed(Event, frozen=True, kw_only=True):
    """Bytes on an MQTT flow that do not form a valid packet (counted, with a reason)."""

    protocol: ClassVar[str] = "mqtt"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
    message_type: int | None = None
