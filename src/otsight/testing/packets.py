"""Small, fast packet factories: plain bytes in, plain bytes out.

Each function builds one layer and returns its bytes; wrap layers by passing one function's result
as the next one's ``payload``::

    seg = tcp(49152, 502, seq=1, ack=1, flags="PA", payload=adu, src_ip=a, dst_ip=b)
    frame = ethernet(plc_mac, hmi_mac, ETH_IPV4, ipv4(a, b, IPPROTO_TCP, seg))

``tcp_frame`` / ``udp_frame`` do all three layers at once. Every checksum is correct (IPv4
header, TCP/UDP/ICMPv6 with the IPv4 or IPv6 pseudo-header, ICMP), so tshark with checksum
validation on reports them as good. Addresses are strings: ``"192.0.2.1"``, ``"2001:db8::1"``,
``"00:11:22:33:44:55"``. No third-party packet library is used.
"""

from __future__ import annotations

import socket
import struct
from functools import lru_cache

__all__ = [
    "ACK",
    "ARP_REPLY",
    "ARP_REQUEST",
    "BROADCAST_MAC",
    "CWR",
    "ECE",
    "ETH_8021Q",
    "ETH_ARP",
    "ETH_IPV4",
    "ETH_IPV6",
    "FIN",
    "IPPROTO_ICMP",
    "IPPROTO_ICMPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "PSH",
    "RST",
    "SYN",
    "URG",
    "arp",
    "checksum",
    "ethernet",
    "icmp",
    "icmp_echo",
    "icmpv6",
    "icmpv6_echo",
    "ip_bytes",
    "ipv4",
    "ipv6",
    "ipv6_multicast_mac",
    "mac_bytes",
    "modbus_exception_response",
    "modbus_read_request",
    "modbus_read_response",
    "modbus_tcp_adu",
    "modbus_write_multiple_registers",
    "modbus_write_multiple_registers_response",
    "modbus_write_single_register",
    "pseudo_header_sum",
    "tcp",
    "tcp_flags",
    "tcp_frame",
    "udp",
    "udp_frame",
]

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_8021Q = 0x8100
ETH_IPV6 = 0x86DD

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80
_FLAG_LETTERS = {"F": FIN, "S": SYN, "R": RST, "P": PSH, "A": ACK, "U": URG, "E": ECE, "C": CWR}

ARP_REQUEST = 1
ARP_REPLY = 2

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"

_H = struct.Struct(">H")
_ETH = struct.Struct(">6s6sH")
_ETH_VLAN = struct.Struct(">6s6sHHH")
_IPV4 = struct.Struct(">BBHHHBBH4s4s")
_IPV6 = struct.Struct(">IHBB16s16s")
_TCP = struct.Struct(">HHIIBBHHH")
_UDP = struct.Struct(">HHHH")
_ARP = struct.Struct(">HHBBH6s4s6s4s")
_ICMP_ECHO = struct.Struct(">BBHHH")
_MBAP = struct.Struct(">HHHB")


# --------------------------------------------------------------------------- addresses


@lru_cache(maxsize=4096)
def mac_bytes(mac: str) -> bytes:
    """``"00:11:22:33:44:55"`` (or with ``-``, or 12 hex digits) -> 6 bytes."""
    digits = mac.replace(":", "").replace("-", "").replace(".", "")
    raw = bytes.fromhex(digits)
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return raw


@lru_cache(maxsize=4096)
def ip_bytes(address: str) -> bytes:
    """An IPv4 or IPv6 address string -> 4 or 16 bytes (network order)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        return socket.inet_pton(family, address)
    except OSError as exc:
        raise ValueError(f"not an IP address: {address!r}") from exc


def ipv6_multicast_mac(address: str) -> str:
    """The Ethernet multicast MAC for an IPv6 multicast address (``33:33`` + last 4 bytes)."""
    tail = ip_bytes(address)[-4:]
    return "33:33:" + ":".join(f"{b:02x}" for b in tail)


# --------------------------------------------------------------------------- checksums


def _sum(data: bytes) -> int:
    """Sum of the big-endian 16-bit words of ``data`` (odd length zero-padded), mod 0xFFFF.

    Because 65536 == 1 (mod 65535), the whole buffer read as one big integer is congruent to the
    sum of its 16-bit words, which is what the one's complement sum folds to.
    """
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    return value % 0xFFFF


def checksum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 Internet checksum of ``data``; ``initial`` is a partial sum (pseudo-header).

    The result is never 0xFFFF, so it is valid as-is for IPv4, TCP and ICMP; UDP maps 0 to
    0xFFFF itself (see :func:`udp`).
    """
    return -(initial + _sum(data)) % 0xFFFF


def pseudo_header_sum(src_ip: str, dst_ip: str, protocol: int, length: int) -> int:
    """Partial sum of the IPv4 or IPv6 pseudo-header, chosen by the address family."""
    src = ip_bytes(src_ip)
    dst = ip_bytes(dst_ip)
    if len(src) != len(dst):
        raise ValueError(f"mixed address families: {src_ip} -> {dst_ip}")
    # For IPv6 the length is 32 bits and the next header sits in the low byte of the last word;
    # both are congruent to the IPv4 layout's (protocol + length) mod 0xFFFF.
    return int.from_bytes(src, "big") + int.from_bytes(dst, "big") + protocol + length


# --------------------------------------------------------------------------- layer 2


def ethernet(
    dst_mac: str,
    src_mac: str,
    ethertype: int,
    payload: bytes,
    vlan: int | None = None,
    *,
    vlan_pcp: int = 0,
    pad: bool = False,
) -> bytes:
    """Ethernet II frame (no FCS); ``vlan`` inserts an 802.1Q tag with that VLAN id.

    ``pad`` zero-pads the frame to the 60-byte minimum, as it appears on a real wire.
    """
    if vlan is None:
        frame = _ETH.pack(mac_bytes(dst_mac), mac_bytes(src_mac), ethertype) + payload
    else:
        if not 0 <= vlan <= 0xFFF:
            raise ValueError(f"VLAN id out of range: {vlan}")
        tci = (vlan_pcp & 7) << 13 | vlan
        frame = (
            _ETH_VLAN.pack(mac_bytes(dst_mac), mac_bytes(src_mac), ETH_8021Q, tci, ethertype)
            + payload
        )
    if pad and len(frame) < 60:
        frame += bytes(60 - len(frame))
    return frame


def arp(
    op: int,
    sender_mac: str,
    sender_ip: str,
    target_mac: str,
    target_ip: str,
) -> bytes:
    """ARP for IPv4 over Ethernet (28 bytes); ``op`` is ``ARP_REQUEST`` or ``ARP_REPLY``."""
    return _ARP.pack(
        1,
        ETH_IPV4,
        6,
        4,
        op,
        mac_bytes(sender_mac),
        ip_bytes(sender_ip),
        mac_bytes(target_mac),
        ip_bytes(target_ip),
    )


# --------------------------------------------------------------------------- layer 3


def ipv4(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    ttl: int = 64,
    ident: int = 0,
    flags_offset: int = 0,
    *,
    tos: int = 0,
) -> bytes:
    """IPv4 packet with a 20-byte header and a correct header checksum.

    ``flags_offset`` is the raw 16-bit flags + fragment offset word (``0x4000`` = DF).
    """
    total = 20 + len(payload)
    if total > 0xFFFF:
        raise ValueError(f"IPv4 packet too long: {total}")
    src_b = ip_bytes(src)
    dst_b = ip_bytes(dst)
    if len(src_b) != 4 or len(dst_b) != 4:
        raise ValueError(f"not IPv4 addresses: {src} -> {dst}")
    header = _IPV4.pack(0x45, tos, total, ident, flags_offset, ttl, proto, 0, src_b, dst_b)
    csum = checksum(header)
    return header[:10] + _H.pack(csum) + header[12:] + payload


def ipv6(
    src: str,
    dst: str,
    next_header: int,
    payload: bytes,
    hop_limit: int = 64,
    *,
    traffic_class: int = 0,
    flow_label: int = 0,
) -> bytes:
    """IPv6 packet with a fixed 40-byte header and no extension headers."""
    src_b = ip_bytes(src)
    dst_b = ip_bytes(dst)
    if len(src_b) != 16 or len(dst_b) != 16:
        raise ValueError(f"not IPv6 addresses: {src} -> {dst}")
    first = 6 << 28 | (traffic_class & 0xFF) << 20 | (flow_label & 0xFFFFF)
    return _IPV6.pack(first, len(payload), next_header, hop_limit, src_b, dst_b) + payload


def icmp(icmp_type: int, code: int, rest: bytes = b"") -> bytes:
    """ICMPv4 message: type, code, checksum, then ``rest`` (identifier/sequence and data)."""
    body = bytes((icmp_type, code, 0, 0)) + rest
    return body[:2] + _H.pack(checksum(body)) + body[4:]


def icmp_echo(ident: int, seq: int, payload: bytes = b"", reply: bool = False) -> bytes:
    """ICMPv4 echo request (type 8) or reply (type 0) with a correct checksum."""
    body = _ICMP_ECHO.pack(0 if reply else 8, 0, 0, ident, seq) + payload
    return body[:2] + _H.pack(checksum(body)) + body[4:]


def icmpv6(icmp_type: int, code: int, body: bytes, *, src_ip: str, dst_ip: str) -> bytes:
    """ICMPv6 message (type, code, checksum over the IPv6 pseudo-header, then ``body``)."""
    msg = bytes((icmp_type, code, 0, 0)) + body
    csum = checksum(msg, pseudo_header_sum(src_ip, dst_ip, IPPROTO_ICMPV6, len(msg)))
    return msg[:2] + _H.pack(csum) + msg[4:]


def icmpv6_echo(
    ident: int, seq: int, payload: bytes = b"", reply: bool = False, *, src_ip: str, dst_ip: str
) -> bytes:
    """ICMPv6 echo request (128) or reply (129)."""
    return icmpv6(
        129 if reply else 128,
        0,
        struct.pack(">HH", ident, seq) + payload,
        src_ip=src_ip,
        dst_ip=dst_ip,
    )


# --------------------------------------------------------------------------- layer 4


def tcp_flags(flags: int | str) -> int:
    """``"SA"``, ``"PA"``, ``"FA"`` ... (letters F S R P A U E C) or an int -> flag bits."""
    if isinstance(flags, int):
        return flags
    value = 0
    for letter in flags.upper():
        try:
            value |= _FLAG_LETTERS[letter]
        except KeyError:
            raise ValueError(f"unknown TCP flag letter {letter!r} in {flags!r}") from None
    return value


def tcp(
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int | str,
    payload: bytes = b"",
    window: int = 65535,
    *,
    src_ip: str,
    dst_ip: str,
    options: bytes = b"",
    urgent: int = 0,
) -> bytes:
    """TCP segment with a checksum over the IPv4 or IPv6 pseudo-header of ``src_ip``/``dst_ip``.

    ``options`` is zero-padded to a multiple of 4 bytes (at most 40).
    """
    if len(options) & 3:
        options += bytes(4 - (len(options) & 3))
    if len(options) > 40:
        raise ValueError("TCP options longer than 40 bytes")
    header_len = 20 + len(options)
    seg = (
        _TCP.pack(
            sport,
            dport,
            seq & 0xFFFFFFFF,
            ack & 0xFFFFFFFF,
            (header_len // 4) << 4,
            tcp_flags(flags),
            window,
            0,
            urgent,
        )
        + options
        + payload
    )
    csum = checksum(seg, pseudo_header_sum(src_ip, dst_ip, IPPROTO_TCP, len(seg)))
    return seg[:16] + _H.pack(csum) + seg[18:]


def udp(
    sport: int,
    dport: int,
    payload: bytes = b"",
    *,
    src_ip: str,
    dst_ip: str,
) -> bytes:
    """UDP datagram with a checksum over the IPv4 or IPv6 pseudo-header (never 0)."""
    length = 8 + len(payload)
    if length > 0xFFFF:
        raise ValueError(f"UDP datagram too long: {length}")
    dgram = _UDP.pack(sport, dport, length, 0) + payload
    csum = checksum(dgram, pseudo_header_sum(src_ip, dst_ip, IPPROTO_UDP, length)) or 0xFFFF
    return dgram[:6] + _H.pack(csum) + dgram[8:]


# --------------------------------------------------------------------------- whole frames


def _ip_frame(
    *,
    src_mac: str,
    dst_mac: str,
    src_ip: str,
    dst_ip: str,
    proto: int,
    l4: bytes,
    ttl: int,
    ident: int,
    vlan: int | None,
) -> bytes:
    if ":" in src_ip:
        return ethernet(dst_mac, src_mac, ETH_IPV6, ipv6(src_ip, dst_ip, proto, l4, ttl), vlan)
    packet = ipv4(src_ip, dst_ip, proto, l4, ttl, ident, 0x4000 if proto == IPPROTO_TCP else 0)
    return ethernet(dst_mac, src_mac, ETH_IPV4, packet, vlan, pad=True)


def tcp_frame(
    src_ip: str,
    dst_ip: str,
    sport: int,
    dport: int,
    *,
    seq: int = 0,
    ack: int = 0,
    flags: int | str = "PA",
    payload: bytes = b"",
    src_mac: str = "02:00:00:00:00:01",
    dst_mac: str = "02:00:00:00:00:02",
    window: int = 65535,
    ttl: int = 64,
    ident: int = 0,
    vlan: int | None = None,
    options: bytes = b"",
) -> bytes:
    """Ethernet + IPv4/IPv6 (by address family) + TCP in one call."""
    seg = tcp(
        sport,
        dport,
        seq,
        ack,
        flags,
        payload,
        window,
        src_ip=src_ip,
        dst_ip=dst_ip,
        options=options,
    )
    return _ip_frame(
        src_mac=src_mac,
        dst_mac=dst_mac,
        src_ip=src_ip,
        dst_ip=dst_ip,
        proto=IPPROTO_TCP,
        l4=seg,
        ttl=ttl,
        ident=ident,
        vlan=vlan,
    )


def udp_frame(
    src_ip: str,
    dst_ip: str,
    sport: int,
    dport: int,
    payload: bytes = b"",
    *,
    src_mac: str = "02:00:00:00:00:01",
    dst_mac: str = "02:00:00:00:00:02",
    ttl: int = 64,
    ident: int = 0,
    vlan: int | None = None,
) -> bytes:
    """Ethernet + IPv4/IPv6 (by address family) + UDP in one call."""
    dgram = udp(sport, dport, payload, src_ip=src_ip, dst_ip=dst_ip)
    return _ip_frame(
        src_mac=src_mac,
        dst_mac=dst_mac,
        src_ip=src_ip,
        dst_ip=dst_ip,
        proto=IPPROTO_UDP,
        l4=dgram,
        ttl=ttl,
        ident=ident,
        vlan=vlan,
    )


# --------------------------------------------------------------------------- Modbus/TCP


def modbus_tcp_adu(transaction_id: int, unit_id: int, pdu: bytes, protocol_id: int = 0) -> bytes:
    """Modbus/TCP ADU: MBAP header (transaction, protocol, length = len(pdu) + 1, unit) + PDU."""
    return _MBAP.pack(transaction_id & 0xFFFF, protocol_id, len(pdu) + 1, unit_id) + pdu


def modbus_read_request(function_code: int, address: int, count: int) -> bytes:
    """Read request PDU (FC 1-4): function code, start address, quantity."""
    return struct.pack(">BHH", function_code, address, count)


def modbus_read_response(function_code: int, values: bytes) -> bytes:
    """Read response PDU: function code, byte count, data (registers big-endian or coil bits)."""
    return struct.pack(">BB", function_code, len(values)) + values


def modbus_write_single_register(address: int, value: int) -> bytes:
    """FC 6 request PDU; the normal response is an echo of the request."""
    return struct.pack(">BHH", 6, address, value & 0xFFFF)


def modbus_write_multiple_registers(address: int, values: list[int]) -> bytes:
    """FC 16 request PDU: address, quantity, byte count, values."""
    data = struct.pack(f">{len(values)}H", *(v & 0xFFFF for v in values))
    return struct.pack(">BHHB", 16, address, len(values), len(data)) + data


def modbus_write_multiple_registers_response(address: int, count: int) -> bytes:
    """FC 16 response PDU: address and quantity written."""
    return struct.pack(">BHH", 16, address, count)


def modbus_exception_response(function_code: int, exception_code: int) -> bytes:
    """Exception response PDU: function code with bit 7 set, exception code."""
    return bytes((function_code | 0x80, exception_code))
