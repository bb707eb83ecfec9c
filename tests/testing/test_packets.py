"""Packet factories: layouts, checksums (against a plain reference and tshark), Modbus helpers."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.capture.writer import PcapWriter
from otsight.testing import packets as pk

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None, reason="tshark not installed (apt-get install tshark)"
)
CHECKSUM_PREFS = [
    "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
]

V4A, V4B = "192.0.2.10", "198.51.100.20"
V6A, V6B = "2001:db8::1", "2001:db8:0:1::2"
MAC_A, MAC_B = "00:1b:1b:01:02:03", "00:80:f4:0a:0b:0c"


def ref_sum(data: bytes) -> int:
    """One's complement 16-bit sum, the textbook way (independent of the module's trick)."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack(">H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return total


def pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    s, d = pk.ip_bytes(src), pk.ip_bytes(dst)
    if len(s) == 4:
        return s + d + struct.pack(">BBH", 0, proto, length)
    return s + d + struct.pack(">IxxxB", length, proto)


def verifies(data: bytes) -> bool:
    """A buffer that includes its checksum sums to 0xFFFF (negative zero)."""
    return ref_sum(data) == 0xFFFF


# ----------------------------------------------------------------------------- unit


def test_rfc1071_example() -> None:
    # RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
    assert pk.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_addresses() -> None:
    assert pk.mac_bytes("00:11:22:33:44:55") == bytes.fromhex("001122334455")
    assert pk.mac_bytes("00-11-22-33-44-55") == bytes.fromhex("001122334455")
    assert pk.ip_bytes("192.0.2.1") == bytes((192, 0, 2, 1))
    assert pk.ip_bytes("2001:db8::1") == bytes.fromhex("20010db8000000000000000000000001")
    assert pk.ipv6_multicast_mac("ff02::1:ff00:1234") == "33:33:ff:00:12:34"
    with pytest.raises(ValueError, match="MAC"):
        pk.mac_bytes("00:11:22")
    with pytest.raises(ValueError, match="IP"):
        pk.ip_bytes("300.1.1.1")
    with pytest.raises(ValueError, match="mixed"):
        pk.tcp(1, 2, 0, 0, "S", src_ip=V4A, dst_ip=V6B)


def test_ethernet_and_vlan() -> None:
    frame = pk.ethernet(MAC_B, MAC_A, pk.ETH_IPV4, b"xyz")
    assert frame == pk.mac_bytes(MAC_B) + pk.mac_bytes(MAC_A) + b"\x08\x00xyz"
    tagged = pk.ethernet(MAC_B, MAC_A, pk.ETH_ARP, b"", vlan=30, vlan_pcp=5)
    assert tagged[12:18] == struct.pack(">HHH", 0x8100, 5 << 13 | 30, 0x0806)
    assert len(pk.ethernet(MAC_B, MAC_A, pk.ETH_ARP, b"", pad=True)) == 60
    with pytest.raises(ValueError, match="VLAN"):
        pk.ethernet(MAC_B, MAC_A, pk.ETH_IPV4, b"", vlan=4096)


def test_ipv4_header() -> None:
    packet = pk.ipv4(V4A, V4B, pk.IPPROTO_UDP, b"abcd", ttl=30, ident=0x1234, flags_offset=0x4000)
    version_ihl, _tos, total, ident, ff, ttl, proto = struct.unpack_from(">BBHHHBB", packet)
    assert (version_ihl, total, ident, ff, ttl, proto) == (0x45, 24, 0x1234, 0x4000, 30, 17)
    assert packet[12:16] == pk.ip_bytes(V4A)
    assert packet[16:20] == pk.ip_bytes(V4B)
    assert verifies(packet[:20])
    assert packet[20:] == b"abcd"


def test_ipv6_header() -> None:
    packet = pk.ipv6(V6A, V6B, pk.IPPROTO_TCP, b"12345", hop_limit=7, flow_label=0xABCDE)
    first, length, nxt, hop = struct.unpack_from(">IHBB", packet)
    assert (first >> 28, first & 0xFFFFF, length, nxt, hop) == (6, 0xABCDE, 5, 6, 7)
    assert len(packet) == 45


def test_tcp_layout_and_flags() -> None:
    seg = pk.tcp(49152, 502, 1000, 2000, "SA", window=8192, src_ip=V4A, dst_ip=V4B,
                 options=bytes.fromhex("020405b4"))
    sport, dport, seq, ack, off, flags, win = struct.unpack_from(">HHIIBBH", seg)
    assert (sport, dport, seq, ack, off >> 4, flags, win) == (49152, 502, 1000, 2000, 6, 0x12, 8192)
    assert pk.tcp_flags("FPA") == pk.FIN | pk.PSH | pk.ACK
    assert pk.tcp_flags(0x18) == 0x18
    with pytest.raises(ValueError, match="flag"):
        pk.tcp_flags("SX")
    padded = pk.tcp(1, 2, 0, 0, "S", src_ip=V4A, dst_ip=V4B, options=b"\x01\x01\x01")
    assert padded[12] >> 4 == 6


def test_udp_checksum_zero_is_sent_as_ffff() -> None:
    # Choose a payload word so that the checksum comes out as 0: it must be sent as 0xFFFF.
    head = pseudo(V4A, V4B, 17, 10) + struct.pack(">HHHH", 1000, 2000, 10, 0)
    filler = (0xFFFF - ref_sum(head)) & 0xFFFF
    dgram = pk.udp(1000, 2000, struct.pack(">H", filler), src_ip=V4A, dst_ip=V4B)
    assert dgram[6:8] == b"\xff\xff"
    assert verifies(pseudo(V4A, V4B, 17, len(dgram)) + dgram)


@settings(max_examples=150, deadline=None)
@given(
    payload=st.binary(max_size=300),
    seq=st.integers(0, 0xFFFFFFFF),
    ack=st.integers(0, 0xFFFFFFFF),
    ports=st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
    v6=st.booleans(),
)
def test_checksums_verify(
    payload: bytes, seq: int, ack: int, ports: tuple[int, int], v6: bool
) -> None:
    src, dst = (V6A, V6B) if v6 else (V4A, V4B)
    seg = pk.tcp(ports[0], ports[1], seq, ack, "PA", payload, src_ip=src, dst_ip=dst)
    assert verifies(pseudo(src, dst, 6, len(seg)) + seg)
    dgram = pk.udp(ports[0], ports[1], payload, src_ip=src, dst_ip=dst)
    assert dgram[6:8] != b"\x00\x00"
    assert verifies(pseudo(src, dst, 17, len(dgram)) + dgram)
    echo = pk.icmp_echo(ports[0], ports[1], payload)
    assert verifies(echo)
    echo6 = pk.icmpv6_echo(ports[0], ports[1], payload, src_ip=src if v6 else V6A,
                           dst_ip=dst if v6 else V6B)
    assert verifies(pseudo(src if v6 else V6A, dst if v6 else V6B, 58, len(echo6)) + echo6)
    if not v6 and len(payload) < 1000:
        assert verifies(pk.ipv4(src, dst, 6, payload, ident=seq & 0xFFFF)[:20])


def test_arp_layout() -> None:
    body = pk.arp(pk.ARP_REPLY, MAC_A, V4A, MAC_B, V4B)
    assert len(body) == 28
    assert struct.unpack_from(">HHBBH", body) == (1, 0x0800, 6, 4, 2)
    assert body[8:14] == pk.mac_bytes(MAC_A)
    assert body[24:28] == pk.ip_bytes(V4B)


def test_modbus_helpers() -> None:
    pdu = pk.modbus_read_request(3, 100, 10)
    adu = pk.modbus_tcp_adu(0x1_0007, 17, pdu)  # transaction id wraps to 16 bits
    assert adu == struct.pack(">HHHB", 7, 0, 6, 17) + pdu
    assert pdu == bytes.fromhex("030064000a")
    assert pk.modbus_read_response(3, b"\x00\x01\x00\x02") == bytes.fromhex("030400010002")
    assert pk.modbus_write_single_register(5, -1) == bytes.fromhex("060005ffff")
    assert pk.modbus_write_multiple_registers(1, [1, 2]) == bytes.fromhex("1000010002040001" "0002")
    assert pk.modbus_write_multiple_registers_response(1, 2) == bytes.fromhex("1000010002")
    assert pk.modbus_exception_response(3, 2) == b"\x83\x02"


def test_whole_frames() -> None:
    frame = pk.tcp_frame(V4A, V4B, 1, 502, seq=5, flags="S", vlan=12)
    assert frame[12:14] == b"\x81\x00"
    assert frame[16:18] == b"\x08\x00"
    assert len(frame) == 60  # 18 + 20 + 20, padded
    frame6 = pk.udp_frame(V6A, V6B, 1, 2, b"hi")
    assert frame6[12:14] == b"\x86\xdd"
    assert len(frame6) == 14 + 40 + 8 + 2


# ----------------------------------------------------------------------------- tshark oracle


def oracle_frames() -> list[bytes]:
    adu = pk.modbus_tcp_adu(0x0102, 1, pk.modbus_read_request(3, 0, 10))
    resp = pk.modbus_tcp_adu(0x0102, 1, pk.modbus_read_response(3, bytes(range(20))))
    return [
        pk.tcp_frame(V4A, V4B, 49152, 502, seq=1, ack=1, flags="PA", payload=adu,
                     src_mac=MAC_A, dst_mac=MAC_B, ident=9),
        pk.tcp_frame(V4B, V4A, 502, 49152, seq=1, ack=13, flags="PA", payload=resp,
                     src_mac=MAC_B, dst_mac=MAC_A, ttl=30),
        pk.tcp_frame(V6A, V6B, 40000, 443, seq=7, flags="S", options=bytes.fromhex("020405a0")),
        pk.tcp_frame(V4A, V4B, 1, 80, payload=b"odd", vlan=30),
        pk.udp_frame(V4A, V4B, 5353, 53, b"\x12\x34\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
        pk.udp_frame(V6A, V6B, 546, 547, b"\x01\x00\x00\x01"),
        pk.ethernet(MAC_B, MAC_A, pk.ETH_IPV4,
                    pk.ipv4(V4A, V4B, pk.IPPROTO_ICMP, pk.icmp_echo(7, 1, b"ping!"))),
        pk.ethernet(MAC_B, MAC_A, pk.ETH_IPV6,
                    pk.ipv6(V6A, V6B, pk.IPPROTO_ICMPV6,
                            pk.icmpv6_echo(7, 1, b"ping6", src_ip=V6A, dst_ip=V6B))),
        pk.ethernet(pk.BROADCAST_MAC, MAC_A, pk.ETH_ARP,
                    pk.arp(pk.ARP_REQUEST, MAC_A, V4A, "00:00:00:00:00:00", V4B), pad=True),
    ]


def tshark_fields(path: Path, names: list[str]) -> list[list[str]]:
    assert TSHARK is not None
    cmd = [TSHARK, "-n", "-r", str(path), *CHECKSUM_PREFS, "-T", "fields", "-E", "separator=|"]
    for name in names:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


@needs_tshark
def test_tshark_agrees(tmp_path: Path) -> None:
    path = tmp_path / "factories.pcap"
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        for i, frame in enumerate(oracle_frames()):
            writer.write(frame, 1_700_000_000_000_000_000 + i * 1000)
    names = [
        "frame.protocols", "ip.checksum.status", "tcp.checksum.status", "udp.checksum.status",
        "icmp.checksum.status", "icmpv6.checksum.status", "_ws.malformed", "vlan.id",
        "mbtcp.trans_id", "modbus.func_code", "modbus.regval_uint16", "arp.dst.proto_ipv4",
        "ip.ttl", "tcp.options.mss_val", "icmp.seq",
    ]
    rows = [dict(zip(names, row, strict=True)) for row in tshark_fields(path, names)]
    assert len(rows) == 9
    for row in rows:
        assert row["_ws.malformed"] == "", row
        for key in names[1:6]:
            assert row[key] in ("", "1"), (key, row)  # 1 = Good
    assert sum(row["tcp.checksum.status"] == "1" for row in rows) == 4
    assert sum(row["udp.checksum.status"] == "1" for row in rows) == 2
    assert sum(row["ip.checksum.status"] == "1" for row in rows) == 5
    assert rows[6]["icmp.checksum.status"] == "1"
    assert rows[7]["icmpv6.checksum.status"] == "1"
    assert rows[0]["mbtcp.trans_id"] == "258"
    assert rows[0]["modbus.func_code"] == "3"
    assert rows[1]["modbus.regval_uint16"].split(",")[:2] == ["1", "515"]
    assert rows[1]["ip.ttl"] == "30"
    assert rows[2]["tcp.options.mss_val"] == "1440"
    assert rows[3]["vlan.id"] == "30"
    assert rows[6]["icmp.seq"] == "1"
    assert rows[8]["arp.dst.proto_ipv4"] == V4B
    protocols = [row["frame.protocols"] for row in rows]
    assert protocols[0].endswith("tcp:mbtcp:modbus")
    assert "ipv6:tcp" in protocols[2]
    assert protocols[4].endswith("udp:dns")
    assert protocols[5].endswith("udp:dhcpv6")
