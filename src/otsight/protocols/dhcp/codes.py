"""DHCP (RFC 2131/2132) and DHCPv6 (RFC 8415) code tables with an ``unknown-N`` fallback."""

from __future__ import annotations

MESSAGE_TYPES: dict[int, str] = {
    1: "discover",
    2: "offer",
    3: "request",
    4: "decline",
    5: "ack",
    6: "nak",
    7: "release",
    8: "inform",
    9: "force-renew",
    10: "lease-query",
    11: "lease-unassigned",
    12: "lease-unknown",
    13: "lease-active",
    14: "bulk-lease-query",
    15: "lease-query-done",
    16: "active-lease-query",
    17: "lease-query-status",
    18: "tls",
}
OPS: dict[int, str] = {1: "request", 2: "reply"}
V6_MESSAGE_TYPES: dict[int, str] = {
    1: "solicit",
    2: "advertise",
    3: "request",
    4: "confirm",
    5: "renew",
    6: "rebind",
    7: "reply",
    8: "release",
    9: "decline",
    10: "reconfigure",
    11: "information-request",
    12: "relay-forward",
    13: "relay-reply",
    14: "lease-query",
    15: "lease-query-reply",
    16: "lease-query-done",
    17: "lease-query-data",
}


def message_type_name(code: int) -> str:
    return MESSAGE_TYPES.get(code, f"unknown-{code}")


def v6_message_type_name(code: int) -> str:
    return V6_MESSAGE_TYPES.get(code, f"unknown-{code}")


def op_name(code: int) -> str:
    return OPS.get(code, f"unknown-{code}")
