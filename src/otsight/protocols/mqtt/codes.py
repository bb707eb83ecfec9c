"""MQTT code tables (OASIS MQTT 3.1.1 and 5.0), with ``unknown-N`` fallbacks."""

from __future__ import annotations

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = (
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
)

MESSAGE_TYPES: dict[int, str] = {
    CONNECT: "connect",
    CONNACK: "connack",
    PUBLISH: "publish",
    PUBACK: "puback",
    PUBREC: "pubrec",
    PUBREL: "pubrel",
    PUBCOMP: "pubcomp",
    SUBSCRIBE: "subscribe",
    SUBACK: "suback",
    UNSUBSCRIBE: "unsubscribe",
    UNSUBACK: "unsuback",
    PINGREQ: "pingreq",
    PINGRESP: "pingresp",
    DISCONNECT: "disconnect",
    AUTH: "auth",
}
# Fixed-header flags every type but PUBLISH must carry (MQTT 3.1.1 section 2.2.2).
REQUIRED_FLAGS: dict[int, int] = {t: 0 for t in MESSAGE_TYPES if t != PUBLISH}
REQUIRED_FLAGS.update({PUBREL: 2, SUBSCRIBE: 2, UNSUBSCRIBE: 2})

# response type -> the request type it answers
RESPONSE_TO: dict[int, int] = {
    CONNACK: CONNECT,
    PUBACK: PUBLISH,
    PUBREC: PUBLISH,
    PUBREL: PUBREC,
    PUBCOMP: PUBREL,
    SUBACK: SUBSCRIBE,
    UNSUBACK: UNSUBSCRIBE,
    PINGRESP: PINGREQ,
}

PROTOCOL_LEVELS: dict[int, str] = {3: "3.1", 4: "3.1.1", 5: "5.0"}

CONNACK_V3: dict[int, str] = {
    0: "accepted",
    1: "unacceptable-protocol-version",
    2: "identifier-rejected",
    3: "server-unavailable",
    4: "bad-user-name-or-password",
    5: "not-authorized",
}
# MQTT 5 reason codes (section 2.4); 0 reads "granted-qos-0" in SUBACK, "normal-disconnection"
# in DISCONNECT, "success" elsewhere.
REASON_CODES: dict[int, str] = {
    0x00: "success",
    0x01: "granted-qos-1",
    0x02: "granted-qos-2",
    0x04: "disconnect-with-will-message",
    0x10: "no-matching-subscribers",
    0x11: "no-subscription-existed",
    0x18: "continue-authentication",
    0x19: "re-authenticate",
    0x80: "unspecified-error",
    0x81: "malformed-packet",
    0x82: "protocol-error",
    0x83: "implementation-specific-error",
    0x84: "unsupported-protocol-version",
    0x85: "client-identifier-not-valid",
    0x86: "bad-user-name-or-password",
    0x87: "not-authorized",
    0x88: "server-unavailable",
    0x89: "server-busy",
    0x8A: "banned",
    0x8B: "server-shutting-down",
    0x8C: "bad-authentication-method",
    0x8D: "keep-alive-timeout",
    0x8E: "session-taken-over",
    0x8F: "topic-filter-invalid",
    0x90: "topic-name-invalid",
    0x91: "packet-identifier-in-use",
    0x92: "packet-identifier-not-found",
    0x93: "receive-maximum-exceeded",
    0x94: "topic-alias-invalid",
    0x95: "packet-too-large",
    0x96: "message-rate-too-high",
    0x97: "quota-exceeded",
    0x98: "administrative-action",
    0x99: "payload-format-invalid",
    0x9A: "retain-not-supported",
    0x9B: "qos-not-supported",
    0x9C: "use-another-server",
    0x9D: "server-moved",
    0x9E: "shared-subscriptions-not-supported",
    0x9F: "connection-rate-exceeded",
    0xA0: "maximum-connect-time",
    0xA1: "subscription-identifiers-not-supported",
    0xA2: "wildcard-subscriptions-not-supported",
}
SUBACK_V3: dict[int, str] = {
    0: "granted-qos-0",
    1: "granted-qos-1",
    2: "granted-qos-2",
    0x80: "failure",
}


def message_type_name(code: int) -> str:
    return MESSAGE_TYPES.get(code, f"unknown-{code}")


def protocol_version(level: int | None) -> str | None:
    if level is None:
        return None
    return PROTOCOL_LEVELS.get(level, f"unknown-{level}")


def reason_name(message_type: int, code: int, level: int | None) -> str:
    """Name of a CONNACK return code (3.x) or a reason code (5.0) in ``message_type``."""
    if level != 5:
        if message_type == CONNACK:
            return CONNACK_V3.get(code, f"unknown-{code}")
        if message_type == SUBACK:
            return SUBACK_V3.get(code, f"unknown-{code}")
    if code == 0:
        if message_type == SUBACK:
            return "granted-qos-0"
        if message_type == DISCONNECT:
            return "normal-disconnection"
    return REASON_CODES.get(code, f"unknown-{code}")
