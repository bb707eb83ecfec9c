"""The L2-L4 decode kernel: exact column values for every supported encapsulation.

Each :data:`CASES` entry is one frame under one link type with the whole row it must decode to
(every column not named is 0), so a stray write into any column shows up. The same catalogue
is written to pcap files and checked against tshark, and :mod:`.test_kernel_fuzz` mutates it.
Truncations are decoded interleaved with a sentinel frame whose row must never change.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest

from otsight.capture.batch import FrameBatch
from otsight.capture.sources import read_stream
from otsight.capture.writer import PcapWriter
from otsight.core.types import LinkType, ip_from_words, mac_to_str
from otsight.decode.kernel import decode_batch
from otsight.decode.table import (
    ERR_ARP_SHORT,
    ERR_IP_BAD,
    ERR_IP_SHORT,
    ERR_IPV6_EXT,
    ERR_L2_SHORT,
    ERR_L4_SHORT,
    ERR_LINKTYPE,
    ERR_NONE,
    ERR_TCP_BAD,
    L3_ARP,
    L3_IPV4,
    L3_IPV6,
    L3_LLC,
    L3_OTHER,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_SCTP,
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_PSH,
    TCP_SYN,
    PacketTable,
)
from otsight.testing import tshark
from otsight.testing.packets import (
    ARP_REPLY,
    ARP_REQUEST,
    BROADCAST_MAC,
    arp,
    checksum,
    ethernet,
    icmp,
    icmp_echo,
    icmpv6_echo,
    ip_bytes,
    ipv4,
    ipv6,
    mac_bytes,
    tcp,
    udp,
)

Row = dict[str, int]

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_QINQ_OLD = 0x9100
ETH_MPLS = 0x8847
ETH_PPPOE = 0x8864
ETH_LLDP = 0x88CC
ETH_TEB = 0x6558  # transparent Ethernet bridging (GRE)

LT_PPI = 192
LT_IEEE802_11 = 105  # a real link type otsight does not decode

MAC_A = "00:1b:1b:01:02:03"
MAC_B = "00:80:f4:0a:0b:0c"
MAC_C = "02:00:00:00:0c:0c"
MAC_D = "02:00:00:00:0d:0d"
A4, B4 = "192.0.2.10", "198.51.100.20"
C4, D4 = "10.1.0.1", "10.2.0.2"  # inner addresses of tunnels
A6, B6 = "2001:db8::1", "2001:db8:0:1::2"
C6, D6 = "fd00::c", "fd00::d"

SPORT, DPORT = 49152, 502
SEQ, ACK = 0xDEADBEEF, 0x80000001  # high bit set: uint32 columns must not sign-extend
WINDOW = 0xFFF0
TTL, IDENT = 61, 0xBEEF
OUTER_TTL, OUTER_ID = 250, 0x0102
PAYLOAD = b"modbus!"
PA = TCP_PSH | TCP_ACK
DF = 0x4000
MF = 0x2000
U64 = (1 << 64) - 1

ZERO: Row = {f.name: 0 for f in fields(PacketTable)}


# ============================================================================ frame builders


def eth(payload: bytes, ethertype: int = ETH_IPV4, *, src: str = MAC_A, dst: str = MAC_B) -> bytes:
    return ethernet(dst, src, ethertype, payload)


def tags(*pairs: tuple[int, int]) -> bytes:
    """VLAN tags as (TPID, TCI) pairs; the caller appends the final ethertype."""
    return b"".join(struct.pack(">HH", tpid, tci) for tpid, tci in pairs)


def l2(ethertype_and_rest: bytes, *, src: str = MAC_A, dst: str = MAC_B) -> bytes:
    """Ethernet addresses followed by whatever the caller lays out (tags, length, ...)."""
    return mac_bytes(dst) + mac_bytes(src) + ethertype_and_rest


def segment(
    src: str = A4,
    dst: str = B4,
    payload: bytes = PAYLOAD,
    *,
    flags: int | str = PA,
    options: bytes = b"",
    seq: int = SEQ,
    ack: int = ACK,
) -> bytes:
    return tcp(
        SPORT, DPORT, seq, ack, flags, payload, WINDOW, src_ip=src, dst_ip=dst, options=options
    )


def tcp4(src: str = A4, dst: str = B4, payload: bytes = PAYLOAD) -> bytes:
    return ipv4(src, dst, PROTO_TCP, segment(src, dst, payload), TTL, IDENT, DF)


def tcp6(src: str = A6, dst: str = B6, payload: bytes = PAYLOAD) -> bytes:
    return ipv6(src, dst, PROTO_TCP, segment(src, dst, payload), TTL)


def udp4(sport: int, dport: int, payload: bytes, src: str = A4, dst: str = B4) -> bytes:
    return ipv4(src, dst, PROTO_UDP, udp(sport, dport, payload, src_ip=src, dst_ip=dst), TTL, IDENT)


def ipv4_raw(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    *,
    options: bytes = b"",
    total: int | None = None,
    flags_offset: int = 0,
    ttl: int = TTL,
    ident: int = IDENT,
    version_ihl: int | None = None,
) -> bytes:
    """IPv4 with options and any total length / first byte (for TSO and malformed headers)."""
    assert len(options) % 4 == 0
    assert len(options) <= 40
    ihl = 20 + len(options)
    first = 0x40 | ihl // 4 if version_ihl is None else version_ihl
    tot = ihl + len(payload) if total is None else total
    header = struct.pack(
        ">BBHHHBBH4s4s", first, 0, tot, ident, flags_offset, ttl, proto, 0,
        ip_bytes(src), ip_bytes(dst),
    ) + options
    return header[:10] + struct.pack(">H", checksum(header)) + header[12:] + payload


def ext(next_header: int, body: bytes) -> bytes:
    """A hop-by-hop, routing or destination options header (``body`` after the two bytes)."""
    data = bytes([next_header, 0]) + body
    assert len(data) % 8 == 0
    return bytes([next_header, len(data) // 8 - 1]) + body


PADN6 = bytes([1, 4, 0, 0, 0, 0])  # PadN option filling a minimal options header


def hop_by_hop(next_header: int) -> bytes:
    return ext(next_header, PADN6)


def dest_options(next_header: int) -> bytes:
    return ext(next_header, PADN6)


def routing(next_header: int) -> bytes:
    # type 0, segments left 0, reserved, one address: 24 bytes
    return ext(next_header, bytes([0, 0, 0, 0, 0, 0]) + ip_bytes("2001:db8::99"))


def auth_header(next_header: int, icv: bytes = bytes(12)) -> bytes:
    total = 12 + len(icv)
    return struct.pack(">BBHII", next_header, total // 4 - 2, 0, 0x1000, 7) + icv


def frag6(next_header: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack(">BBHI", next_header, 0, offset << 3 | int(more), ident)


def gre(proto: int, payload: bytes, *, csum: bool = False, key: int | None = None,
        seq: int | None = None) -> bytes:
    flags = (0x8000 if csum else 0) | (0x2000 if key is not None else 0)
    flags |= 0x1000 if seq is not None else 0
    head = struct.pack(">HH", flags, proto)
    if csum:
        head += struct.pack(">HH", 0, 0)
    if key is not None:
        head += struct.pack(">I", key)
    if seq is not None:
        head += struct.pack(">I", seq)
    if csum:
        value = checksum(head + payload)
        head = head[:4] + struct.pack(">H", value) + head[6:]
    return head + payload


def vxlan(vni: int, inner_frame: bytes) -> bytes:
    return struct.pack(">II", 0x08000000, vni << 8) + inner_frame


def sctp(sport: int, dport: int) -> bytes:
    # common header + one INIT chunk (checksum left 0: the kernel does not check it)
    init = struct.pack(">BBHIIHHI", 1, 0, 20, 0x11223344, 65535, 10, 10, 1)
    return struct.pack(">HHII", sport, dport, 0, 0) + init


def mpls(label: int, bottom: bool, ttl: int = 64) -> bytes:
    return struct.pack(">I", label << 12 | int(bottom) << 8 | ttl)


def pppoe_session(session: int, ppp_proto: int, payload: bytes) -> bytes:
    return struct.pack(">BBHHH", 0x11, 0, session, len(payload) + 2, ppp_proto) + payload


def sll(proto: int, *, hatype: int = 1, addr: str = MAC_A, pkttype: int = 0) -> bytes:
    return struct.pack(">HHH", pkttype, hatype, 6) + mac_bytes(addr) + b"\0\0" + struct.pack(
        ">H", proto
    )


def sll2(proto: int, *, hatype: int = 1, addr: str = MAC_A, pkttype: int = 4) -> bytes:
    return (
        struct.pack(">HHIHBB", proto, 0, 3, hatype, pkttype, 6) + mac_bytes(addr) + b"\0\0"
    )


def ppi(dlt: int, fields_blob: bytes = b"") -> bytes:
    return struct.pack("<BBHI", 0, 0, 8 + len(fields_blob), dlt) + fields_blob


def llc_frame(llc_and_payload: bytes, *, dst: str = "01:80:c2:00:00:00") -> bytes:
    """802.3: the type field is a length."""
    return l2(struct.pack(">H", len(llc_and_payload)) + llc_and_payload, dst=dst)


# ============================================================================ expected rows


def words(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    value = int(ipaddress.IPv6Address(f"::ffff:{ip}")) if ip.version == 4 else int(ip)
    return value >> 64, value & U64


def addrs(src: str, dst: str) -> Row:
    src_hi, src_lo = words(src)
    dst_hi, dst_lo = words(dst)
    return {"src_hi": src_hi, "src_lo": src_lo, "dst_hi": dst_hi, "dst_lo": dst_lo}


def mac(text: str) -> int:
    return int.from_bytes(mac_bytes(text), "big")


def macs(src: str = MAC_A, dst: str = MAC_B) -> Row:
    return {"src_mac": mac(src), "dst_mac": mac(dst)}


def ip4(
    l3_off: int, src: str = A4, dst: str = B4, proto: int = PROTO_TCP, *, ttl: int = TTL,
    ident: int = IDENT,
) -> Row:
    return {
        "l3": L3_IPV4, "ethertype": ETH_IPV4, "l3_off": l3_off, **addrs(src, dst),
        "proto": proto, "ttl": ttl, "ip_id": ident,
    }


def ip6(l3_off: int, src: str = A6, dst: str = B6, proto: int = PROTO_TCP, *, hlim: int = TTL
        ) -> Row:
    return {
        "l3": L3_IPV6, "ethertype": ETH_IPV6, "l3_off": l3_off, **addrs(src, dst),
        "proto": proto, "ttl": hlim,
    }


def tcp_cols(
    l4_off: int, payload_len: int = len(PAYLOAD), *, wire: int | None = None, header: int = 20,
    flags: int = PA, seq: int = SEQ, ack: int = ACK,
) -> Row:
    return {
        "has_ports": 1, "sport": SPORT, "dport": DPORT, "seq": seq, "ack": ack,
        "window": WINDOW, "tcp_flags": flags, "pl_off": l4_off + header, "pl_len": payload_len,
        "pl_wire": payload_len if wire is None else wire,
    }


def udp_cols(l4_off: int, payload_len: int, sport: int, dport: int) -> Row:
    return {
        "has_ports": 1, "sport": sport, "dport": dport, "pl_off": l4_off + 8,
        "pl_len": payload_len, "pl_wire": payload_len,
    }


def row(*parts: Row, **values: int) -> Row:
    out = dict(ZERO)
    for part in [*parts, values]:
        unknown = set(part) - set(ZERO)
        assert not unknown, f"not PacketTable columns: {unknown}"
        out.update(part)
    return out


# ============================================================================ the catalogue


@dataclass(frozen=True)
class Case:
    name: str
    linktype: int
    frame: bytes
    expected: Row
    wirelen: int | None = None  # length on the wire when the frame is a snaplen-truncated capture
    tshark: bool = True  # also cross-checked against tshark


def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, linktype: int, frame: bytes, *parts: Row, wirelen: int | None = None,
            tshark: bool = True, **values: int) -> None:
        cases.append(Case(name, linktype, frame, row(*parts, **values), wirelen, tshark))

    eth_tcp = macs() | ip4(14) | tcp_cols(34)
    # ----------------------------------------------------------------- link layers
    add("ethernet-ipv4-tcp", 1, eth(tcp4()), eth_tcp)
    add("ethernet-ipv6-tcp", 1, eth(tcp6(), ETH_IPV6), macs(), ip6(14), tcp_cols(54))
    add("vlan", 1, ethernet(MAC_B, MAC_A, ETH_IPV4, tcp4(), vlan=100, vlan_pcp=5),
        macs(), ip4(18), tcp_cols(38), vlan=100)
    add("qinq-88a8", 1,
        l2(tags((ETH_QINQ, 3 << 13 | 200), (ETH_VLAN, 300)) + struct.pack(">H", ETH_IPV4)
           + tcp4()),
        macs(), ip4(22), tcp_cols(42), vlan=200)
    add("qinq-9100", 1,
        l2(tags((ETH_QINQ_OLD, 4095), (ETH_VLAN, 7)) + struct.pack(">H", ETH_IPV6) + tcp6()),
        macs(), ip6(22), tcp_cols(62), vlan=4095)
    stp = bytes([0x42, 0x42, 0x03]) + bytes(35)
    add("llc-stp", 1, llc_frame(stp), macs(dst="01:80:c2:00:00:00"), l3=L3_LLC, l3_off=14)
    cdp = bytes.fromhex("aaaa0300000c2000") + bytes(20)
    add("snap-cdp", 1, llc_frame(cdp, dst="01:00:0c:cc:cc:cc"),
        macs(dst="01:00:0c:cc:cc:cc"), l3=L3_LLC, l3_off=22, ethertype=0x2000)
    snap_ip = bytes.fromhex("aaaa030000000800") + tcp4()
    add("snap-ipv4", 1, llc_frame(snap_ip, dst=MAC_B), macs(), ip4(22), tcp_cols(42))
    add("mpls-ipv4", 1,
        eth(mpls(100, False) + mpls(200, True) + tcp4(), ETH_MPLS), macs(), ip4(22), tcp_cols(42))
    add("mpls-ipv6", 1, eth(mpls(16, True) + tcp6(), ETH_MPLS), macs(), ip6(18), tcp_cols(58))
    add("pppoe-ipv4", 1, eth(pppoe_session(0x1234, 0x0021, tcp4()), ETH_PPPOE),
        macs(), ip4(22), tcp_cols(42))
    add("pppoe-ipv6", 1, eth(pppoe_session(7, 0x0057, tcp6()), ETH_PPPOE),
        macs(), ip6(22), tcp_cols(62))
    add("lldp", 1, eth(bytes(30), ETH_LLDP, dst="01:80:c2:00:00:0e"),
        macs(dst="01:80:c2:00:00:0e"), l3=L3_OTHER, ethertype=ETH_LLDP, l3_off=14)
    add("arp-request", 1,
        ethernet(BROADCAST_MAC, MAC_A, ETH_ARP,
                 arp(ARP_REQUEST, MAC_A, A4, "00:00:00:00:00:00", B4), pad=True),
        macs(dst=BROADCAST_MAC), addrs(A4, B4),
        l3=L3_ARP, ethertype=ETH_ARP, l3_off=14, sport=ARP_REQUEST)
    add("arp-reply-vlan", 1,
        ethernet(MAC_A, MAC_B, ETH_ARP, arp(ARP_REPLY, MAC_B, B4, MAC_A, A4), vlan=5),
        macs(MAC_B, MAC_A), addrs(B4, A4),
        l3=L3_ARP, ethertype=ETH_ARP, l3_off=18, sport=ARP_REPLY, vlan=5)
    add("sll-v1-ipv4", LinkType.LINUX_SLL, sll(ETH_IPV4) + tcp4(),
        ip4(16), tcp_cols(36), src_mac=mac(MAC_A))
    add("sll-v1-vlan", LinkType.LINUX_SLL,
        sll(ETH_VLAN, pkttype=4) + struct.pack(">HH", 42, ETH_IPV4) + tcp4(),
        ip4(20), tcp_cols(40), src_mac=mac(MAC_A), vlan=42)
    add("sll-v1-not-ethernet", LinkType.LINUX_SLL, sll(ETH_IPV4, hatype=772) + tcp4(),
        ip4(16), tcp_cols(36))
    add("sll-v2-ipv6", LinkType.LINUX_SLL2, sll2(ETH_IPV6) + tcp6(),
        ip6(20), tcp_cols(60), src_mac=mac(MAC_A))
    add("sll-v2-ipv4", LinkType.LINUX_SLL2, sll2(ETH_IPV4, addr=MAC_C) + tcp4(),
        ip4(20), tcp_cols(40), src_mac=mac(MAC_C))
    add("null-le-ipv4", LinkType.NULL, struct.pack("<I", 2) + tcp4(), ip4(4), tcp_cols(24))
    add("null-be-ipv4", LinkType.NULL, struct.pack(">I", 2) + tcp4(), ip4(4), tcp_cols(24))
    for family in (24, 28, 30):
        for order in "<>":
            add(f"null-{'le' if order == '<' else 'be'}-ipv6-{family}", LinkType.NULL,
                struct.pack(order + "I", family) + tcp6(), ip6(4), tcp_cols(44))
    add("null-unknown-family", LinkType.NULL, struct.pack("<I", 7) + bytes(30),
        l3=L3_OTHER, tshark=False)
    add("loop-ipv4", LinkType.LOOP, struct.pack(">I", 2) + tcp4(), ip4(4), tcp_cols(24))
    add("loop-ipv6", LinkType.LOOP, struct.pack(">I", 24) + tcp6(), ip6(4), tcp_cols(44))
    add("raw-ipv4", LinkType.RAW, tcp4(), ip4(0), tcp_cols(20))
    add("raw-ipv6", LinkType.RAW, tcp6(), ip6(0), tcp_cols(40))
    add("raw-12-ipv4", LinkType.RAW_OPENBSD, tcp4(), ip4(0), tcp_cols(20))
    add("raw-14-ipv6", LinkType.RAW_BSD, tcp6(), ip6(0), tcp_cols(40))
    add("raw-228", LinkType.IPV4, tcp4(), ip4(0), tcp_cols(20))
    add("raw-229", LinkType.IPV6, tcp6(), ip6(0), tcp_cols(40))
    add("ppi-ethernet", LT_PPI, ppi(1) + eth(tcp4()), macs(), ip4(22), tcp_cols(42))
    # a PPI header with one field (an unknown type, 4 bytes of data) before the frame
    add("ppi-field-ethernet", LT_PPI, ppi(1, struct.pack("<HH", 30000, 4) + b"abcd")
        + eth(tcp4()), macs(), ip4(30), tcp_cols(50), tshark=False)
    add("unsupported-linktype", LT_IEEE802_11, bytes(64), err=ERR_LINKTYPE, tshark=False)
    add("ppi-unsupported-inner", LT_PPI, ppi(LT_IEEE802_11) + bytes(40), err=ERR_LINKTYPE,
        tshark=False)

    # ----------------------------------------------------------------- IPv4
    opts = bytes([0x94, 0x04, 0, 0])  # router alert
    add("ipv4-options", 1, eth(ipv4_raw(A4, B4, PROTO_TCP, segment(), options=opts)),
        macs(), ip4(14), tcp_cols(38))
    nops = bytes([1] * 39 + [0])
    add("ipv4-options-max", 1, eth(ipv4_raw(A4, B4, PROTO_TCP, segment(), options=nops)),
        macs(), ip4(14), tcp_cols(74))
    add("ipv4-tso-length-0", 1, eth(ipv4_raw(A4, B4, PROTO_TCP, segment(), total=0)),
        eth_tcp)
    syn = ethernet(MAC_B, MAC_A, ETH_IPV4,
                   ipv4(A4, B4, PROTO_TCP, segment(payload=b"", flags="S", ack=0), TTL, IDENT),
                   pad=True)
    assert len(syn) == 60
    add("ipv4-padding-tcp", 1, syn, macs(), ip4(14),
        tcp_cols(34, 0, flags=TCP_SYN, ack=0))
    add("ipv4-padding-udp", 1,
        ethernet(MAC_B, MAC_A, ETH_IPV4, udp4(5000, 5001, b"hi"), pad=True),
        macs(), ip4(14, proto=PROTO_UDP), udp_cols(34, 2, 5000, 5001))
    dgram = udp(1234, 161, bytes(range(36)), src_ip=A4, dst_ip=B4)  # 44 bytes
    add("ipv4-first-fragment", 1,
        eth(ipv4(A4, B4, PROTO_UDP, dgram[:24], TTL, IDENT, MF)),
        macs(), ip4(14, proto=PROTO_UDP), frag=1, pl_off=34, pl_len=24, pl_wire=24)
    add("ipv4-later-fragment", 1,
        eth(ipv4(A4, B4, PROTO_UDP, dgram[24:], TTL, IDENT, 3)),
        macs(), ip4(14, proto=PROTO_UDP), frag=1, pl_off=34, pl_len=20, pl_wire=20)
    add("ipv4-middle-fragment-padded", 1,
        ethernet(MAC_B, MAC_A, ETH_IPV4,
                 ipv4(A4, B4, PROTO_UDP, dgram[8:16], TTL, IDENT, MF | 1), pad=True),
        macs(), ip4(14, proto=PROTO_UDP), frag=1, pl_off=34, pl_len=8, pl_wire=8)

    # ----------------------------------------------------------------- IPv6
    chain = (
        hop_by_hop(43) + routing(60) + dest_options(51) + auth_header(44)
        + frag6(PROTO_TCP, 0, False, 0xCAFEF00D)
    )
    assert len(chain) == 8 + 24 + 8 + 24 + 8
    add("ipv6-extension-chain", 1, eth(ipv6(A6, B6, 0, chain + segment(A6, B6), TTL), ETH_IPV6),
        macs(), ip6(14), tcp_cols(14 + 40 + len(chain)), ip_id=0xCAFEF00D)
    dgram6 = udp(1234, 161, bytes(range(40)), src_ip=A6, dst_ip=B6)  # 48 bytes
    add("ipv6-first-fragment", 1,
        eth(ipv6(A6, B6, 0, hop_by_hop(44) + frag6(PROTO_UDP, 0, True, 77) + dgram6[:16], TTL),
            ETH_IPV6),
        macs(), ip6(14, proto=PROTO_UDP), frag=1, ip_id=77, pl_off=70, pl_len=16, pl_wire=16)
    add("ipv6-last-fragment", 1,
        eth(ipv6(A6, B6, 44, frag6(PROTO_UDP, 2, False, 77) + dgram6[16:], TTL), ETH_IPV6),
        macs(), ip6(14, proto=PROTO_UDP), frag=1, ip_id=77, pl_off=62, pl_len=32, pl_wire=32)
    add("ipv6-esp", 1, eth(ipv6(A6, B6, 50, bytes(24), TTL), ETH_IPV6),
        macs(), ip6(14, proto=50), pl_off=54, pl_len=24)
    tso6 = bytearray(eth(tcp6(), ETH_IPV6))
    tso6[14 + 4 : 14 + 6] = b"\0\0"  # payload length 0: TSO (or a jumbogram)
    add("ipv6-payload-length-0", 1, bytes(tso6), macs(), ip6(14), tcp_cols(54), tshark=False)
    add("ipv6-no-next-header", 1, eth(ipv6(A6, B6, 60, dest_options(59), TTL), ETH_IPV6),
        macs(), ip6(14, proto=59), pl_off=62)

    # ----------------------------------------------------------------- transport
    syn_ack = segment(flags=TCP_SYN | TCP_ACK | 0x40, options=bytes.fromhex("020405b4010303070402"),
                      payload=b"", seq=0xFFFFFFFF, ack=1)
    add("tcp-syn-ack-options", 1, eth(ipv4(A4, B4, PROTO_TCP, syn_ack, TTL, IDENT, DF)),
        macs(), ip4(14), tcp_cols(34, 0, header=32, flags=0x52, seq=0xFFFFFFFF, ack=1))
    ns = bytearray(eth(tcp4()))
    ns[14 + 20 + 12] |= 1  # the NS bit, the ninth flag
    add("tcp-ns-flag", 1, bytes(ns), eth_tcp | {"tcp_flags": 0x100 | PA}, tshark=False)
    big = eth(tcp4(payload=bytes(range(256)) * 4))
    add("tcp-snaplen-truncated", 1, big[:154], macs(), ip4(14),
        tcp_cols(34, 100, wire=1024), wirelen=len(big))
    udp_short = struct.pack(">HHHH", 7, 9, 12, 0) + b"data" + b"trailer!!!"
    add("udp-length-shorter-than-ip", 1, eth(ipv4(A4, B4, PROTO_UDP, udp_short, TTL, IDENT)),
        macs(), ip4(14, proto=PROTO_UDP), udp_cols(34, 4, 7, 9))
    add("udp-ipv6", 1,
        eth(ipv6(A6, B6, PROTO_UDP, udp(546, 547, b"dhcp", src_ip=A6, dst_ip=B6), TTL), ETH_IPV6),
        macs(), ip6(14, proto=PROTO_UDP), udp_cols(54, 4, 546, 547))
    add("icmp-echo", 1, eth(ipv4(A4, B4, PROTO_ICMP, icmp_echo(7, 1, b"ping!"), TTL, IDENT)),
        macs(), ip4(14, proto=PROTO_ICMP), sport=8, dport=0, pl_off=38, pl_len=9)
    add("icmp-unreachable", 1,
        eth(ipv4(A4, B4, PROTO_ICMP, icmp(3, 3, bytes(4) + udp4(1, 2, b"")[:28]), TTL, IDENT)),
        macs(), ip4(14, proto=PROTO_ICMP), sport=3, dport=3, pl_off=38, pl_len=32, tshark=False)
    add("icmpv6-echo", 1,
        eth(ipv6(A6, B6, PROTO_ICMPV6, icmpv6_echo(7, 1, b"ping6", src_ip=A6, dst_ip=B6), TTL),
            ETH_IPV6),
        macs(), ip6(14, proto=PROTO_ICMPV6), sport=128, dport=0, pl_off=58, pl_len=9)
    add("sctp", 1, eth(ipv4(A4, B4, PROTO_SCTP, sctp(2905, 2906), TTL, IDENT)),
        macs(), ip4(14, proto=PROTO_SCTP), has_ports=1, sport=2905, dport=2906, pl_off=34,
        pl_len=32)

    # ----------------------------------------------------------------- tunnels
    outer = {"ttl": OUTER_TTL, "ident": OUTER_ID}
    add("ipip", 1, eth(ipv4(A4, B4, 4, tcp4(C4, D4), **outer)),
        macs(), ip4(34, C4, D4), tcp_cols(54), tunnel=1)
    add("6in4", 1, eth(ipv4(A4, B4, 41, tcp6(C6, D6), **outer)),
        macs(), ip6(34, C6, D6), tcp_cols(74), tunnel=1)
    add("4in6", 1, eth(ipv6(A6, B6, 4, tcp4(C4, D4), OUTER_TTL), ETH_IPV6),
        macs(), ip4(54, C4, D4), tcp_cols(74), tunnel=1)
    add("6in6", 1, eth(ipv6(A6, B6, 41, tcp6(C6, D6), OUTER_TTL), ETH_IPV6),
        macs(), ip6(54, C6, D6), tcp_cols(94), tunnel=1)
    add("gre-ipv4", 1, eth(ipv4(A4, B4, 47, gre(ETH_IPV4, tcp4(C4, D4)), **outer)),
        macs(), ip4(38, C4, D4), tcp_cols(58), tunnel=2)
    add("gre-csum-key-seq-ipv4", 1,
        eth(ipv4(A4, B4, 47, gre(ETH_IPV4, tcp4(C4, D4), csum=True, key=9, seq=3), **outer)),
        macs(), ip4(50, C4, D4), tcp_cols(70), tunnel=2)
    add("gre-key-ipv6", 1,
        eth(ipv4(A4, B4, 47, gre(ETH_IPV6, tcp6(C6, D6), key=1), **outer)),
        macs(), ip6(42, C6, D6), tcp_cols(82), tunnel=2)
    add("gre-teb-ipv4", 1,
        eth(ipv4(A4, B4, 47, gre(ETH_TEB, eth(tcp4(C4, D4), src=MAC_C, dst=MAC_D), key=5),
                 **outer)),
        macs(), ip4(56, C4, D4), tcp_cols(76), tunnel=2)
    inner_udp = udp4(40000, 5020, b"inner", C4, D4)
    add("vxlan-ipv4", 1,
        eth(udp4(54321, 4789, vxlan(42, eth(inner_udp, src=MAC_C, dst=MAC_D)))),
        macs(), ip4(64, C4, D4, PROTO_UDP), udp_cols(84, 5, 40000, 5020), tunnel=3)
    add("vxlan-vlan-tcp", 1,
        eth(udp4(54321, 4789, vxlan(42, ethernet(MAC_D, MAC_C, ETH_IPV4, tcp4(C4, D4), vlan=9)))),
        macs(), ip4(68, C4, D4), tcp_cols(88), tunnel=3, vlan=9)
    inner_arp = ethernet(BROADCAST_MAC, MAC_C, ETH_ARP,
                         arp(ARP_REQUEST, MAC_C, C4, "00:00:00:00:00:00", D4))
    add("vxlan-arp-not-decapsulated", 1, eth(udp4(54321, 4789, vxlan(42, inner_arp))),
        macs(), ip4(14, proto=PROTO_UDP), udp_cols(34, 8 + 42, 54321, 4789))
    tagged_arp = ethernet(BROADCAST_MAC, MAC_C, ETH_ARP,
                          arp(ARP_REQUEST, MAC_C, C4, "00:00:00:00:00:00", D4), vlan=33)
    add("vxlan-vlan-arp-not-decapsulated", 1, eth(udp4(54321, 4789, vxlan(42, tagged_arp))),
        macs(), ip4(14, proto=PROTO_UDP), udp_cols(34, 8 + 46, 54321, 4789))
    add("gre-teb-arp-not-decapsulated", 1, eth(ipv4(A4, B4, 47, gre(ETH_TEB, inner_arp), **outer)),
        macs(), ip4(14, proto=47, ttl=OUTER_TTL, ident=OUTER_ID), pl_off=34, pl_len=4 + 42)
    vx6 = udp(54321, 4789, vxlan(7, eth(tcp4(C4, D4))), src_ip=A6, dst_ip=B6)
    add("vxlan-over-ipv6", 1, eth(ipv6(A6, B6, PROTO_UDP, vx6, OUTER_TTL), ETH_IPV6),
        macs(), ip4(84, C4, D4), tcp_cols(104), tunnel=3)
    add("gre-over-ipv6", 1, eth(ipv6(A6, B6, 47, gre(ETH_IPV4, tcp4(C4, D4)), OUTER_TTL), ETH_IPV6),
        macs(), ip4(58, C4, D4), tcp_cols(78), tunnel=2)
    add("ipip-inner-fragment", 1,
        eth(ipv4(A4, B4, 4, ipv4(C4, D4, PROTO_UDP, dgram[:24], TTL, IDENT, MF), **outer)),
        macs(), ip4(34, C4, D4, PROTO_UDP), frag=1, pl_off=54, pl_len=24, pl_wire=24, tunnel=1)
    add("outer-fragment-not-decapsulated", 1,
        eth(ipv4(A4, B4, 4, tcp4(C4, D4)[:24], OUTER_TTL, OUTER_ID, MF)),
        macs(), ip4(14, proto=4, ttl=OUTER_TTL, ident=OUTER_ID), frag=1, pl_off=34, pl_len=24,
        pl_wire=24)
    return cases


CASES = _cases()
CASE_IDS = [c.name for c in CASES]


# ============================================================================ helpers


def batch_of(frames: Iterable[tuple[int, bytes]]) -> FrameBatch:
    """A batch mixing link types: ``(linktype, frame)`` pairs."""
    items = list(frames)
    batch = FrameBatch.from_frames([f for _, f in items], 1)
    batch.linktype[:] = np.asarray([lt for lt, _ in items], dtype=np.int32)
    return batch


def decode_one(linktype: int, frame: bytes) -> Row:
    return decode_batch(batch_of([(linktype, frame)])).row(0)


SENTINEL = CASES[0]
assert SENTINEL.name == "ethernet-ipv4-tcp"


def assert_row(got: Row, expected: Row, name: str) -> None:
    diff = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert not diff, f"{name}: column (got, expected): {diff}"


# ============================================================================ exact rows


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_decodes_exactly(case: Case) -> None:
    assert_row(decode_one(case.linktype, case.frame), case.expected, case.name)


def test_whole_catalogue_in_one_batch() -> None:
    """Many link types in one batch: each row is what the frame decodes to alone."""
    batch = batch_of([(c.linktype, c.frame) for c in CASES])
    table = decode_batch(batch)
    assert len(table) == len(CASES)
    for i, case in enumerate(CASES):
        assert_row(table.row(i), case.expected, case.name)


def test_addresses_read_back() -> None:
    by_name = {c.name: c.expected for c in CASES}
    r = by_name["ethernet-ipv4-tcp"]
    assert ip_from_words(r["src_hi"], r["src_lo"]) == A4
    assert ip_from_words(r["dst_hi"], r["dst_lo"]) == B4
    assert mac_to_str(r["src_mac"]) == MAC_A
    r = by_name["6in4"]
    assert ip_from_words(r["src_hi"], r["src_lo"]) == C6
    assert ip_from_words(r["dst_hi"], r["dst_lo"]) == D6


def test_empty_batch() -> None:
    table = decode_batch(FrameBatch.from_frames([], 1))
    assert len(table) == 0


def test_frames_at_large_offsets() -> None:
    """Offsets are int64: a frame far into the buffer decodes the same."""
    filler = bytes(70_000)
    batch = batch_of([(1, filler), (1, SENTINEL.frame)])
    table = decode_batch(batch)
    assert_row(table.row(1), SENTINEL.expected, "after filler")
    assert table.err[0] == ERR_NONE
    assert table.l3[0] == L3_LLC  # type 0 is an 802.3 length


# ============================================================================ malformed headers


def _malformed() -> list[tuple[str, int, bytes, Row]]:
    seg = segment()
    bad_doff = bytearray(seg)
    bad_doff[12] = 0x40  # data offset 4 words: shorter than the fixed header
    return [
        ("ipv4-version-6", 1, eth(ipv4_raw(A4, B4, 6, seg, version_ihl=0x65)),
         row(macs(), l3=L3_IPV4, ethertype=ETH_IPV4, l3_off=14, err=ERR_IP_BAD)),
        ("ipv4-ihl-4", 1, eth(ipv4_raw(A4, B4, 6, seg, version_ihl=0x44)),
         row(macs(), l3=L3_IPV4, ethertype=ETH_IPV4, l3_off=14, err=ERR_IP_BAD)),
        ("ipv4-total-below-ihl", 1, eth(ipv4_raw(A4, B4, 6, seg, total=19)),
         row(macs(), ip4(14), err=ERR_IP_BAD)),
        ("ipv4-options-beyond-capture", 1,
         eth(ipv4_raw(A4, B4, 6, b"", version_ihl=0x4F, total=60)),
         row(macs(), ip4(14), err=ERR_IP_SHORT)),
        ("tcp-data-offset-4", 1, eth(ipv4(A4, B4, 6, bytes(bad_doff), TTL, IDENT)),
         row(macs(), ip4(14), tcp_cols(34), pl_off=0, pl_len=0, pl_wire=0, err=ERR_TCP_BAD)),
        ("tcp-options-beyond-ip", 1,
         eth(ipv4(A4, B4, 6, segment(options=bytes(12), payload=b"")[:24], TTL, IDENT)),
         row(macs(), ip4(14), tcp_cols(34), pl_off=0, pl_len=0, pl_wire=0, err=ERR_L4_SHORT)),
        ("ipv6-version-4", 1, eth(bytes([0x45]) + tcp6()[1:], ETH_IPV6),
         row(macs(), l3=L3_IPV6, ethertype=ETH_IPV6, l3_off=14, err=ERR_IP_BAD)),
        ("ipv6-ext-beyond-payload-length", 1, eth(_ipv6_lying_ext(), ETH_IPV6),
         row(macs(), ip6(14, proto=60), pl_wire=8, err=ERR_IPV6_EXT)),
        ("raw-version-5", LinkType.RAW, bytes([0x50]) + bytes(39),
         row(err=ERR_IP_BAD)),
        ("raw-228-holding-ipv6", LinkType.IPV4, tcp6(),
         row(l3=L3_IPV4, ethertype=ETH_IPV4, err=ERR_IP_BAD)),
        ("raw-229-holding-ipv4", LinkType.IPV6, tcp4() + bytes(20),
         row(l3=L3_IPV6, ethertype=ETH_IPV6, err=ERR_IP_BAD)),
        ("ppi-header-length-7", LT_PPI, struct.pack("<BBHI", 0, 0, 7, 1) + eth(tcp4()),
         row(err=ERR_L2_SHORT)),
        ("ppi-header-beyond-frame", LT_PPI, struct.pack("<BBHI", 0, 0, 999, 1) + eth(tcp4()),
         row(err=ERR_L2_SHORT)),
        ("mpls-pseudowire", 1, eth(mpls(5, True) + bytes(4) + eth(tcp4()), ETH_MPLS),
         row(macs(), l3=L3_OTHER, l3_off=18)),
        ("pppoe-lcp", 1, eth(pppoe_session(1, 0xC021, bytes(10)), ETH_PPPOE),
         row(macs(), l3=L3_OTHER, ethertype=ETH_PPPOE, l3_off=22)),
        ("arp-not-ipv4", 1, eth(struct.pack(">HHBBH", 1, ETH_IPV6, 6, 16, 1) + bytes(44),
                                ETH_ARP),
         row(macs(), l3=L3_ARP, ethertype=ETH_ARP, l3_off=14)),
    ]


def _ipv6_lying_ext() -> bytes:
    """IPv6 whose payload length ends inside a destination options header."""
    packet = bytearray(ipv6(A6, B6, 60, ext(59, PADN6 + bytes(8)), TTL))
    struct.pack_into(">H", packet, 4, 8)  # says 8 bytes, the header says 16
    return bytes(packet)


MALFORMED = _malformed()


@pytest.mark.parametrize(
    ("linktype", "frame", "expected"),
    [pytest.param(lt, f, e, id=n) for n, lt, f, e in MALFORMED],
)
def test_malformed(linktype: int, frame: bytes, expected: Row) -> None:
    assert_row(decode_one(linktype, frame), expected, "malformed")


# ============================================================================ truncation


@dataclass(frozen=True)
class Cut:
    name: str
    linktype: int
    frame: bytes
    bounds: list[tuple[int, int]]  # (up to, err): a cut below ``up to`` gives ``err``
    tunnel: tuple[int, int] = (0, 0)  # (from cut, tunnel column value from there on)


def _cuts() -> list[Cut]:
    ipopt = eth(ipv4_raw(A4, B4, PROTO_TCP, segment(options=bytes(12)), options=bytes(4)))
    chain = (
        hop_by_hop(43) + routing(60) + dest_options(51) + auth_header(44) + frag6(6, 0, False, 1)
    )
    return [
        Cut("ethernet-ipv4opt-tcpopt", 1, ipopt,
            [(14, ERR_L2_SHORT), (38, ERR_IP_SHORT), (70, ERR_L4_SHORT)]),
        Cut("vlan-udp", 1, ethernet(MAC_B, MAC_A, ETH_IPV4, udp4(1, 2, b"xyz"), vlan=3),
            [(18, ERR_L2_SHORT), (38, ERR_IP_SHORT), (46, ERR_L4_SHORT)]),
        Cut("qinq-icmpv6", 1,
            l2(tags((ETH_QINQ, 1), (ETH_VLAN, 2)) + struct.pack(">H", ETH_IPV6)
               + ipv6(A6, B6, 58, icmpv6_echo(1, 1, src_ip=A6, dst_ip=B6))),
            [(22, ERR_L2_SHORT), (62, ERR_IP_SHORT), (66, ERR_L4_SHORT)]),
        Cut("mpls-ipv6-hbh-udp", 1,
            eth(mpls(1, False) + mpls(2, True)
                + ipv6(A6, B6, 0, hop_by_hop(17) + udp(1, 2, b"ab", src_ip=A6, dst_ip=B6)),
                ETH_MPLS),
            # the IP version is read from the first byte after the stack: 22 bytes are too few
            [(23, ERR_L2_SHORT), (62, ERR_IP_SHORT), (70, ERR_IPV6_EXT), (78, ERR_L4_SHORT)]),
        Cut("pppoe-icmp", 1,
            eth(pppoe_session(9, 0x0021, ipv4(A4, B4, 1, icmp_echo(1, 2))), ETH_PPPOE),
            [(22, ERR_L2_SHORT), (42, ERR_IP_SHORT), (46, ERR_L4_SHORT)]),
        Cut("snap-udp", 1, llc_frame(bytes.fromhex("aaaa030000000800") + udp4(1, 2, b"")),
            [(22, ERR_L2_SHORT), (42, ERR_IP_SHORT), (50, ERR_L4_SHORT)]),
        Cut("arp", 1, eth(arp(ARP_REQUEST, MAC_A, A4, MAC_B, B4), ETH_ARP),
            [(14, ERR_L2_SHORT), (42, ERR_ARP_SHORT)]),
        Cut("sll-udp", LinkType.LINUX_SLL, sll(ETH_IPV4) + udp4(1, 2, b"q"),
            [(16, ERR_L2_SHORT), (36, ERR_IP_SHORT), (44, ERR_L4_SHORT)]),
        Cut("sll2-tcp6", LinkType.LINUX_SLL2, sll2(ETH_IPV6) + tcp6(),
            [(20, ERR_L2_SHORT), (60, ERR_IP_SHORT), (80, ERR_L4_SHORT)]),
        Cut("null-tcp", LinkType.NULL, struct.pack("<I", 2) + tcp4(),
            [(4, ERR_L2_SHORT), (24, ERR_IP_SHORT), (44, ERR_L4_SHORT)]),
        Cut("loop-tcp6", LinkType.LOOP, struct.pack(">I", 30) + tcp6(),
            [(4, ERR_L2_SHORT), (44, ERR_IP_SHORT), (64, ERR_L4_SHORT)]),
        Cut("raw-tcp", LinkType.RAW, tcp4(),
            [(1, ERR_L2_SHORT), (20, ERR_IP_SHORT), (40, ERR_L4_SHORT)]),
        Cut("raw-228-udp", LinkType.IPV4, udp4(1, 2, b""),
            [(1, ERR_L2_SHORT), (20, ERR_IP_SHORT), (28, ERR_L4_SHORT)]),
        Cut("raw-229-ext-chain", LinkType.IPV6,
            ipv6(A6, B6, 0, chain + segment(A6, B6)),
            [(1, ERR_L2_SHORT), (40, ERR_IP_SHORT), (48, ERR_IPV6_EXT), (72, ERR_IPV6_EXT),
             (80, ERR_IPV6_EXT), (104, ERR_IPV6_EXT), (112, ERR_IPV6_EXT), (132, ERR_L4_SHORT)]),
        Cut("ppi-udp", LT_PPI, ppi(1) + eth(udp4(1, 2, b"")),
            [(8, ERR_L2_SHORT), (22, ERR_L2_SHORT), (42, ERR_IP_SHORT), (50, ERR_L4_SHORT)]),
        Cut("ipip", 1, eth(ipv4(A4, B4, 4, tcp4(C4, D4))),
            [(14, ERR_L2_SHORT), (34, ERR_IP_SHORT), (54, ERR_IP_SHORT), (74, ERR_L4_SHORT)],
            tunnel=(34, 1)),
        Cut("gre-csum-key-seq", 1,
            eth(ipv4(A4, B4, 47, gre(ETH_IPV4, udp4(1, 2, b"", C4, D4), csum=True, key=1, seq=2))),
            # a GRE header cut short is not decapsulated: the outer packet is the row
            [(14, ERR_L2_SHORT), (34, ERR_IP_SHORT), (50, ERR_NONE), (70, ERR_IP_SHORT),
             (78, ERR_L4_SHORT)],
            tunnel=(50, 2)),
        Cut("vxlan-tcp", 1, eth(udp4(9, 4789, vxlan(1, eth(tcp4(C4, D4))))),
            [(14, ERR_L2_SHORT), (34, ERR_IP_SHORT), (42, ERR_L4_SHORT), (64, ERR_NONE),
             (84, ERR_IP_SHORT), (104, ERR_L4_SHORT)],
            tunnel=(64, 3)),
    ]


CUTS = _cuts()


def expected_err(bounds: list[tuple[int, int]], cut: int) -> int:
    for upto, err in bounds:
        if cut < upto:
            return err
    return ERR_NONE


@pytest.mark.parametrize("case", CUTS, ids=[c.name for c in CUTS])
def test_truncated_at_every_byte(case: Cut) -> None:
    """Every prefix of the frame, each between two sentinels whose rows must not change."""
    items: list[tuple[int, bytes]] = [(SENTINEL.linktype, SENTINEL.frame)]
    for cut in range(len(case.frame) + 1):
        items += [(case.linktype, case.frame[:cut]), (SENTINEL.linktype, SENTINEL.frame)]
    table = decode_batch(batch_of(items))
    assert_row(table.row(0), SENTINEL.expected, "first sentinel")
    for cut in range(len(case.frame) + 1):
        i = 2 * cut + 1
        r = table.row(i)
        assert r["err"] == expected_err(case.bounds, cut), (case.name, cut, r)
        assert 0 <= r["l3_off"] <= cut, (case.name, cut, r)
        assert r["pl_len"] >= 0, (case.name, cut, r)
        assert r["pl_off"] >= 0, (case.name, cut, r)
        assert r["pl_off"] + r["pl_len"] <= cut, (case.name, cut, r)
        from_cut, value = case.tunnel
        assert r["tunnel"] == (value if cut >= from_cut else 0), (case.name, cut, r)
        assert_row(table.row(i + 1), SENTINEL.expected, f"sentinel after cut {cut}")
    assert_row(table.row(2 * len(case.frame) + 1), decode_one(case.linktype, case.frame), "full")


def test_truncated_tcp_payload_keeps_wire_length() -> None:
    full = eth(tcp4(payload=bytes(300)))
    for cut in range(54, len(full) + 1, 7):
        r = decode_one(1, full[:cut])
        assert r["err"] == ERR_NONE
        assert (r["pl_off"], r["pl_len"], r["pl_wire"]) == (54, cut - 54, 300)


def test_tunnels_nested_too_deep() -> None:
    """Four IP headers are decoded; a fifth is left as the fourth's opaque payload."""
    packet = tcp4(C4, D4)
    for level in range(3):  # three IP-in-IP headers around it: all decoded away
        packet = ipv4(A4, B4, 4, packet, 31 + level, level)
    assert_row(decode_one(1, eth(packet)), row(macs(), ip4(74, C4, D4), tcp_cols(94), tunnel=1),
               "three tunnels")
    frame = eth(ipv4(A4, B4, 4, packet, 34, 3))  # a fourth: its payload is not decoded
    fourth = ip4(74, A4, B4, proto=4, ttl=31, ident=0)
    assert_row(decode_one(1, frame),
               row(macs(), fourth, tunnel=1, pl_off=94, pl_len=len(frame) - 94), "four tunnels")


@pytest.mark.parametrize(
    "gre_header",
    [
        # PPTP's enhanced GRE (version 1, key and sequence present), carrying PPP
        pytest.param(struct.pack(">HHHHI", 0x3001, 0x880B, 4, 1, 1), id="version-1"),
        # RFC 1701 routing present: checksum/offset, then source route entries up to a null
        # one, before the payload; reading the payload at offset 4 would decode garbage
        pytest.param(struct.pack(">HHHHHBB", 0x4000, ETH_IPV4, 0, 0, 0, 0, 0), id="routing"),
    ],
)
def test_gre_not_decapsulated(gre_header: bytes) -> None:
    """GRE that otsight cannot walk is left as the outer packet's opaque payload."""
    packet = gre_header + tcp4(C4, D4)
    r = decode_one(1, eth(ipv4(A4, B4, 47, packet, TTL, IDENT)))
    assert_row(r, row(macs(), ip4(14, proto=47), pl_off=34, pl_len=len(packet)), "gre")


# ============================================================================ tshark oracle


needs_tshark = pytest.mark.skipif(not tshark.available(), reason="tshark not installed")

TSHARK_FIELDS = [
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
    "udp.dstport", "sctp.srcport", "sctp.dstport", "icmp.type", "icmp.code", "icmpv6.type",
    "icmpv6.code", "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "vlan.id",
    "ieee8021ad.id",
    "eth.src", "sll.src.eth", "tcp.seq_raw", "tcp.window_size_value", "tcp.len",
]


def _first(value: str) -> str:
    return value.split(",", maxsplit=1)[0]


def _last(value: str) -> str:
    return value.rsplit(",", maxsplit=1)[-1]


def _tshark_view(r: Row) -> dict[str, str]:
    """What tshark should show for a decoded row (innermost layer for tunnels)."""
    out: dict[str, str] = {}
    src = ip_from_words(r["src_hi"], r["src_lo"])
    dst = ip_from_words(r["dst_hi"], r["dst_lo"])
    if r["l3"] == L3_IPV4:
        out |= {"ip.src": src, "ip.dst": dst}
    elif r["l3"] == L3_IPV6:
        out |= {"ipv6.src": src, "ipv6.dst": dst}
    elif r["l3"] == L3_ARP:
        out |= {"arp.src.proto_ipv4": src, "arp.dst.proto_ipv4": dst, "arp.opcode": str(r["sport"])}
    if r["frag"]:
        return out
    names = {PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_SCTP: "sctp"}
    if r["has_ports"] and r["proto"] in names:
        name = names[r["proto"]]
        out |= {f"{name}.srcport": str(r["sport"]), f"{name}.dstport": str(r["dport"])}
    if r["proto"] == PROTO_TCP and r["has_ports"]:
        out |= {"tcp.seq_raw": str(r["seq"]), "tcp.window_size_value": str(r["window"])}
        out["tcp.len"] = str(r["pl_wire"])
    if r["l3"] in (L3_IPV4, L3_IPV6) and r["proto"] in (PROTO_ICMP, PROTO_ICMPV6):
        name = "icmp" if r["proto"] == PROTO_ICMP else "icmpv6"
        out |= {f"{name}.type": str(r["sport"]), f"{name}.code": str(r["dport"])}
    if r["vlan"]:
        out["vlan.id"] = str(r["vlan"])
    if r["src_mac"]:
        out["mac"] = mac_to_str(r["src_mac"])
    return out


def _normal(name: str, value: str) -> str:
    if name.startswith("ipv6.") and value:
        return str(ipaddress.IPv6Address(value))
    return value


@needs_tshark
@pytest.mark.parametrize("linktype", sorted({c.linktype for c in CASES if c.tshark}))
def test_tshark_agrees(tmp_path: Path, linktype: int) -> None:
    """Write the catalogue as a pcap, read it back with otsight's reader, compare with tshark."""
    cases = [c for c in CASES if c.tshark and c.linktype == linktype]
    path = tmp_path / f"lt{linktype}.pcap"
    with path.open("wb") as fh:
        writer = PcapWriter(fh, linktype)
        for i, c in enumerate(cases):
            writer.write(c.frame, 1_700_000_000_000_000_000 + i * 1000, c.wirelen)
    with path.open("rb") as fh:
        batches = list(read_stream(fh, path.name))
    rows = [decode_batch(b).row(i) for b in batches for i in range(len(b))]
    assert [b.wirelen.tolist() for b in batches] == [
        [c.wirelen or len(c.frame) for c in cases]
    ]
    shark = tshark.fields(path, TSHARK_FIELDS)
    assert len(rows) == len(shark) == len(cases)
    for c, got, values in zip(cases, rows, shark, strict=True):
        assert_row(got, c.expected, c.name)
        fields_of = dict(zip(TSHARK_FIELDS, values, strict=True))
        view = _tshark_view(got)
        assert view, c.name
        for name, want in view.items():
            if name == "mac":
                seen = {_first(fields_of["eth.src"]), _first(fields_of["sll.src.eth"])}
                assert want in seen, (c.name, name, want, seen)
                continue
            if name == "vlan.id":  # the outer tag; tshark names an 802.1ad one differently
                outer = _first(fields_of["ieee8021ad.id"] or fields_of["vlan.id"])
                assert outer == want, (c.name, name, fields_of, want)
                continue
            pick = _first if name in ("vlan.id", "icmp.type", "icmp.code") else _last
            assert _normal(name, pick(fields_of[name])) == _normal(name, want), (
                c.name, name, fields_of[name], want,
            )
