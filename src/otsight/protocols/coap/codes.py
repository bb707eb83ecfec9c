"""CoAP code tables (RFC 7252, 7641, 7959, 8132), each with an ``unknown-N`` fallback."""

from __future__ import annotations

TYPES = {0: "confirmable", 1: "non-confirmable", 2: "acknowledgement", 3: "reset"}

METHODS = {1: "GET", 2: "POST", 3: "PUT", 4: "DELETE", 5: "FETCH", 6: "PATCH", 7: "iPATCH"}

RESPONSES = {
    65: "2.01 Created",
    66: "2.02 Deleted",
    67: "2.03 Valid",
    68: "2.04 Changed",
    69: "2.05 Content",
    95: "2.31 Continue",
    128: "4.00 Bad Request",
    129: "4.01 Unauthorized",
    130: "4.02 Bad Option",
    131: "4.03 Forbidden",
    132: "4.04 Not Found",
    133: "4.05 Method Not Allowed",
    134: "4.06 Not Acceptable",
    136: "4.08 Request Entity Incomplete",
    137: "4.09 Conflict",
    140: "4.12 Precondition Failed",
    141: "4.13 Request Entity Too Large",
    143: "4.15 Unsupported Content-Format",
    150: "4.22 Unprocessable Entity",
    157: "4.29 Too Many Requests",
    160: "5.00 Internal Server Error",
    161: "5.01 Not Implemented",
    162: "5.02 Bad Gateway",
    163: "5.03 Service Unavailable",
    164: "5.04 Gateway Timeout",
    165: "5.05 Proxying Not Supported",
}

OPTIONS = {
    1: "If-Match",
    3: "Uri-Host",
    4: "ETag",
    5: "If-None-Match",
    6: "Observe",
    7: "Uri-Port",
    8: "Location-Path",
    9: "OSCORE",
    11: "Uri-Path",
    12: "Content-Format",
    14: "Max-Age",
    15: "Uri-Query",
    17: "Accept",
    20: "Location-Query",
    23: "Block2",
    27: "Block1",
    28: "Size2",
    35: "Proxy-Uri",
    39: "Proxy-Scheme",
    60: "Size1",
}

CONTENT_FORMATS = {
    0: "text/plain; charset=utf-8",
    40: "application/link-format",
    41: "application/xml",
    42: "application/octet-stream",
    47: "application/exi",
    50: "application/json",
    60: "application/cbor",
    110: "application/senml+json",
    112: "application/senml+cbor",
    11542: "application/vnd.oma.lwm2m+tlv",
    11543: "application/vnd.oma.lwm2m+json",
}


def type_name(code: int) -> str:
    return TYPES.get(code, f"unknown-{code}")


def code_name(code: int) -> str:
    """``GET``, ``2.05 Content``, ``empty``, or ``unknown-c.dd``."""
    if code == 0:
        return "empty"
    if code in METHODS:
        return METHODS[code]
    return RESPONSES.get(code, f"unknown-{code >> 5}.{code & 31:02d}")


def option_name(number: int) -> str:
    return OPTIONS.get(number, f"unknown-{number}")


def content_format_name(number: int) -> str:
    return CONTENT_FORMATS.get(number, f"unknown-{number}")
