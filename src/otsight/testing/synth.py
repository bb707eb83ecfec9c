"""Deterministic synthetic OT plant traffic, as seen on a core switch's SPAN port.

``generate(path, packets, seed)`` writes a classic pcap (Ethernet, microseconds). The same seed
gives the same bytes; nothing reads the wall clock, and all randomness comes from one
``random.Random(seed)`` (each traffic source gets a child generator seeded from it). Generating
N packets gives a prefix of generating more with the same seed.

The plant (about 50 hosts with real vendor OUI prefixes):

- ``192.168.10.0/24``: cell network with PLCs (Siemens, Schneider, Rockwell, WAGO, Phoenix,
  Beckhoff), two Moxa Modbus gateways with serial devices behind them, power meters, HMIs and an
  engineering workstation.
- ``192.168.30.0/24``: a packaging cell on VLAN 30, seen 802.1Q-tagged on the trunk.
- ``10.20.0.0/16``: level 3 / IT: SCADA servers, historian, MES, DNS/NTP, monitoring,
  workstations and a printer. Routed traffic is seen on the OT leg (router MAC on one side).

Traffic: long-lived Modbus/TCP polling (FC 3/4 in cycles every 100 ms-1 s, occasional FC 6 and
FC 16 writes, pipelined masters, gateway exceptions for an offline serial device) with proper
handshakes, sequence/acknowledgement numbers, delayed ACKs, rare retransmissions and out-of-order
segments, and reconnects; plus roughly 30% IT traffic: DNS, HTTP and TLS 1.3 sessions with
handshakes, segmentation and FIN/RST teardown, NTP, ARP, ICMP echo from a monitoring server and
IPv6 chatter (mDNS, LLMNR, DHCPv6, ICMPv6 RS/NS/NA). All checksums are correct.

External DNS names resolve into the documentation range 198.51.100.0/24; no traffic is sent
anywhere, this only writes a file.

Known tshark behaviour on the output: a reordered pipelined Modbus request is marked out-of-order
and not dissected as Modbus, so its response shows no request frame; exception responses never
show one either. ``tshark -z expert`` reports no errors (with checksum validation on).

Speed: TCP frames (the bulk) are built from per-direction precomputed headers whose checksums are
summed arithmetically (mod 0xFFFF) instead of over the bytes: 1M packets (~240 MB of frames,
~26 minutes of traffic) take about 5-7 s of CPU on a 2-core machine.
"""

from __future__ import annotations

import argparse
import functools
import heapq
import random
import struct
import sys
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from ..capture.writer import PcapWriter
from . import packets as pk

__all__ = [
    "DEFAULT_START_TS_NS",
    "SynthStats",
    "generate",
    "iter_chunks",
    "iter_frames",
    "main",
]

DEFAULT_START_TS_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z

MS = 1_000_000
US = 1_000
SEC = 1_000_000_000

ACK = pk.ACK
SYN = pk.SYN
FIN = pk.FIN
PSH = pk.PSH
RST = pk.RST
PA = PSH | ACK
MSS = 1460

# An item a traffic source yields: (timestamp ns, frame) or (timestamp ns, a new source).
Source = Generator[tuple[int, "bytes | Source"], None, None]
Flow = Generator[tuple[int, bytes], None, int]

_IPTCP = struct.Struct(">BBHHHBBH4s4sHHIIHHHH")
_MBAP = struct.Struct(">HHHB")
_ZEROS = bytes(64)


def _adu(transaction_id: int, unit_id: int, pdu: bytes) -> bytes:
    """Modbus/TCP ADU (as :func:`packets.modbus_tcp_adu`, minus the call overhead)."""
    return _MBAP.pack(transaction_id, 0, len(pdu) + 1, unit_id) + pdu


# TCP SYN options per stack: (SYN options, window scale or None, SYN window, established window)
_STACKS: dict[str, tuple[bytes, int | None, int, int]] = {
    # MSS 1460, NOP, WS 8, NOP, NOP, SACK permitted
    "windows": (bytes.fromhex("020405b40103030801010402"), 8, 64240, 1026),
    # MSS 1460, NOP, NOP, SACK permitted, NOP, WS 7
    "linux": (bytes.fromhex("020405b40101040201030307"), 7, 64240, 502),
    # MSS 1460 only (PLCs, gateways, meters, panels)
    "embedded": (bytes.fromhex("020405b4"), None, 8192, 8192),
}
_TTL = {"windows": 128, "linux": 64, "embedded": 64}


# ----------------------------------------------------------------------------- hosts

# (name, ip, OUI prefix, role, stack, ttl override or 0). The prefixes are real vendor OUIs
# (checked against Wireshark's manuf): only the first three bytes come from here.
_HOSTS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("core-rtr", "", "00:00:0c", "router", "embedded", 255),
    # cell network 192.168.10.0/24
    ("plc-press-1", "192.168.10.11", "28:63:36", "plc", "embedded", 30),  # Siemens S7-1500
    ("plc-press-2", "192.168.10.12", "00:1b:1b", "plc", "embedded", 30),  # Siemens S7-1200
    ("plc-oven-1", "192.168.10.13", "00:80:f4", "plc", "embedded", 0),  # Schneider M580
    ("plc-oven-2", "192.168.10.14", "00:00:54", "plc", "embedded", 0),  # Schneider M340
    ("plc-conv-1", "192.168.10.15", "00:1d:9c", "plc", "embedded", 0),  # Rockwell
    ("plc-conv-2", "192.168.10.16", "f4:54:33", "plc", "embedded", 0),  # Rockwell
    ("plc-pump-1", "192.168.10.17", "00:30:de", "plc", "embedded", 0),  # WAGO
    ("plc-pump-2", "192.168.10.18", "00:a0:45", "plc", "embedded", 0),  # Phoenix Contact
    ("plc-wrap-1", "192.168.10.19", "00:01:05", "plc", "embedded", 0),  # Beckhoff
    ("gw-serial-1", "192.168.10.21", "00:90:e8", "gateway", "embedded", 0),  # Moxa MGate
    ("gw-serial-2", "192.168.10.22", "00:90:e8", "gateway", "embedded", 0),  # Moxa MGate
    ("meter-1", "192.168.10.31", "00:80:f4", "meter", "embedded", 0),  # Schneider PM
    ("meter-2", "192.168.10.32", "00:80:f4", "meter", "embedded", 0),
    ("meter-3", "192.168.10.33", "00:00:54", "meter", "embedded", 0),
    ("meter-4", "192.168.10.34", "00:00:54", "meter", "embedded", 0),
    ("hmi-press", "192.168.10.51", "00:0e:8c", "hmi", "embedded", 0),  # Siemens panel
    ("hmi-oven", "192.168.10.52", "00:d0:c9", "hmi", "windows", 0),  # Advantech panel PC
    ("hmi-conv", "192.168.10.53", "00:01:05", "hmi", "windows", 0),  # Beckhoff panel PC
    ("hmi-pump", "192.168.10.54", "00:80:f4", "hmi", "embedded", 0),  # Schneider Magelis
    ("ews-1", "192.168.10.100", "00:14:22", "ews", "windows", 0),  # Dell
    # packaging cell on VLAN 30
    ("plc-pack-1", "192.168.30.11", "00:00:54", "plc", "embedded", 0),
    ("plc-pack-2", "192.168.30.12", "00:30:de", "plc", "embedded", 0),
    ("hmi-pack", "192.168.30.50", "00:0b:ab", "hmi", "windows", 0),  # Advantech
    # level 3 / IT 10.20.0.0/16
    ("dc-01", "10.20.0.10", "00:50:56", "dns", "windows", 0),  # VMware VM
    ("ntp-01", "10.20.0.11", "00:50:56", "ntp", "linux", 0),
    ("mon-01", "10.20.0.30", "00:50:56", "monitor", "linux", 0),
    ("vcenter", "10.20.0.40", "00:50:56", "web", "linux", 0),
    ("scada-a", "10.20.1.10", "f8:bc:12", "scada", "windows", 0),  # Dell
    ("scada-b", "10.20.1.11", "3c:d9:2b", "scada", "windows", 0),  # HP
    ("historian", "10.20.1.20", "00:1b:78", "historian", "windows", 0),  # HP
    ("mes", "10.20.1.30", "00:50:56", "web", "linux", 0),
    ("printer", "10.20.5.200", "3c:d9:2b", "printer", "embedded", 0),
    # office workstations (Dell, Dell, HP)
    *(
        (
            f"ws-{i:02d}",
            f"10.20.5.{20 + i}",
            ("e4:54:e8", "70:b5:e8", "00:1b:78")[i % 3],
            "workstation",
            "windows",
            0,
        )
        for i in range(1, 16)
    ),
)

_ROUTER_IPS = {"192.168.10": "192.168.10.1", "192.168.30": "192.168.30.1", "10.20": "10.20.0.1"}
_VLANS = {"192.168.30": 30}


@dataclass(slots=True)
class Host:
    """One simulated device."""

    name: str
    ip: str
    mac: str
    role: str
    stack: str
    ttl: int
    subnet: str
    vlan: int | None
    next_port: int = 0
    ip6: str = ""

    @property
    def ot(self) -> bool:
        return self.ip.startswith("192.168.")

    def ephemeral_port(self) -> int:
        port = self.next_port
        low = 49152 if self.stack == "windows" else 32768
        self.next_port = port + 1 if port < 60999 else low
        return port


def _subnet(ip: str) -> str:
    return "10.20" if ip.startswith("10.20.") else ip.rsplit(".", 1)[0]


def _link_local(mac: str) -> str:
    raw = bytearray(pk.mac_bytes(mac))
    raw[0] ^= 0x02
    eui = bytes(raw[:3]) + b"\xff\xfe" + bytes(raw[3:])
    groups = [f"{int.from_bytes(eui[i : i + 2], 'big'):x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


# ----------------------------------------------------------------------------- fast TCP


class _Side:
    """Precomputed Ethernet/IPv4/TCP header of one direction of a connection."""

    __slots__ = (
        "dport",
        "dst",
        "ff",
        "ident",
        "ip_sum",
        "l2",
        "sport",
        "src",
        "tcp_sum",
        "ttl",
        "window",
    )

    def __init__(
        self, l2: bytes, ttl: int, src: bytes, dst: bytes, *, sport: int, dport: int, ident: int
    ) -> None:
        self.l2 = l2
        self.ttl = ttl
        self.ff = 0x4000  # DF
        self.src = src
        self.dst = dst
        self.sport = sport
        self.dport = dport
        self.ident = ident
        self.window = 0
        addr = int.from_bytes(src, "big") + int.from_bytes(dst, "big")
        self.ip_sum = 0x4500 + self.ff + (ttl << 8 | 6) + addr
        self.tcp_sum = addr + 6 + sport + dport

    def seg(self, seq: int, ack: int, flags: int, payload: bytes = b"", opts: bytes = b"") -> bytes:
        n = len(payload)
        hl = 20 + len(opts) if opts else 20
        tcp_len = hl + n
        total = 20 + tcp_len
        ident = self.ident = (self.ident + 1) & 0xFFFF
        word = hl << 10 | flags
        window = self.window
        # One's complement sums mod 0xFFFF: any big-endian number adds as the sum of its words.
        s = self.tcp_sum + tcp_len + seq + ack + word + window
        if n:
            v = int.from_bytes(payload, "big")
            s += v << 8 if n & 1 else v
        if opts:
            s += int.from_bytes(opts, "big")
        frame = (
            self.l2
            + _IPTCP.pack(
                0x45,
                0,
                total,
                ident,
                0x4000,
                self.ttl,
                6,
                -(self.ip_sum + total + ident) % 0xFFFF,
                self.src,
                self.dst,
                self.sport,
                self.dport,
                seq,
                ack,
                word,
                window,
                -s % 0xFFFF,
                0,
            )
            + opts
            + payload
        )
        if total < 46:  # pad to the 60-byte minimum Ethernet frame (64 when tagged)
            frame += _ZEROS[: 46 - total]
        return frame


class _Conn:
    """Both directions of one TCP connection with their next sequence numbers."""

    __slots__ = ("c", "cseq", "s", "sseq", "syn_opts", "synack_opts", "wins")

    def __init__(self, c: _Side, s: _Side, cseq: int, sseq: int) -> None:
        self.c = c
        self.s = s
        self.cseq = cseq
        self.sseq = sseq
        self.syn_opts = b""
        self.synack_opts = b""
        self.wins = (0, 0, 0, 0)  # client SYN, server SYN, client established, server established

    def cl(self, flags: int, payload: bytes = b"", opts: bytes = b"") -> bytes:
        seq = self.cseq
        frame = self.c.seg(seq, self.sseq if flags & ACK else 0, flags, payload, opts)
        self.cseq = (seq + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        return frame

    def sv(self, flags: int, payload: bytes = b"", opts: bytes = b"") -> bytes:
        seq = self.sseq
        frame = self.s.seg(seq, self.cseq if flags & ACK else 0, flags, payload, opts)
        self.sseq = (seq + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        return frame

    def handshake(self, t: int, rng: random.Random) -> Flow:
        """SYN, SYN/ACK, ACK; returns the time of the last one."""
        self.c.window, self.s.window = self.wins[0], self.wins[1]
        yield t, self.cl(SYN, opts=self.syn_opts)
        t += int(rng.uniform(80, 900)) * US
        yield t, self.sv(SYN | ACK, opts=self.synack_opts)
        t += int(rng.uniform(30, 300)) * US
        self.c.window, self.s.window = self.wins[2], self.wins[3]
        yield t, self.cl(ACK)
        return t

    def close(self, t: int, rng: random.Random, client_first: bool = True) -> Flow:
        """FIN teardown (sometimes a client RST instead); returns the time of the last packet."""
        if client_first and rng.random() < 0.1:
            yield t, self.cl(RST | ACK)
            return t
        first, second = (self.cl, self.sv) if client_first else (self.sv, self.cl)
        yield t, first(FIN | ACK)
        t += int(rng.uniform(50, 400)) * US
        if rng.random() < 0.5:
            yield t, second(ACK)
            t += int(rng.uniform(50, 2000)) * US
        yield t, second(FIN | ACK)
        t += int(rng.uniform(30, 300)) * US
        yield t, first(ACK)
        return t


# ----------------------------------------------------------------------------- Modbus model


@dataclass(slots=True)
class _Block:
    """A block of registers a master polls (read) or, rarely, writes."""

    function_code: int
    unit_id: int
    address: int
    values: list[int]
    offline: bool = False  # a serial device behind a gateway that never answers
    request: bytes = b""
    response_format: struct.Struct = field(default_factory=lambda: struct.Struct(">BB"))

    def __post_init__(self) -> None:
        n = len(self.values)
        self.request = pk.modbus_read_request(self.function_code, self.address, n)
        self.response_format = struct.Struct(f">BB{n}H")

    def read(self, rng: random.Random) -> tuple[bytes, bytes]:
        if self.offline:
            return self.request, pk.modbus_exception_response(self.function_code, 0x0B)
        values = self.values
        n = len(values)
        values[0] = (values[0] + 1) & 0xFFFF  # watchdog / heartbeat counter
        r = rng.random
        for _ in range(int(r() * 3)):
            i = int(r() * n)
            values[i] = (values[i] + int(r() * 7) - 3) & 0xFFFF
        return self.request, self.response_format.pack(self.function_code, 2 * n, *values)


@dataclass(slots=True)
class _Pair:
    """A Modbus master polling one server."""

    master: Host
    server: Host
    blocks: list[_Block]
    period_ns: int
    latency_ns: tuple[int, int]
    ack_delay_ns: int
    server_acks_first: bool
    pipelined: bool
    write_chance: float
    lifetime_ns: int
    tid_step: int = 1
    holding: list[int] = field(default_factory=list)


# ----------------------------------------------------------------------------- payloads

_DNS_NAMES_INTERNAL = (
    "dc-01.plant.local",
    "historian.plant.local",
    "mes.plant.local",
    "scada-a.plant.local",
    "scada-b.plant.local",
    "vcenter.plant.local",
    "printer.plant.local",
    "ntp.plant.local",
    "fileserver.plant.local",
)
_DNS_NAMES_EXTERNAL = (
    "time.windows.com",
    "ctldl.windowsupdate.com",
    "www.msftconnecttest.com",
    "ocsp.digicert.com",
    "update.vendor.example",
    "licensing.vendor.example",
)
_WORDS = (
    "line",
    "press",
    "oven",
    "zone",
    "temperature",
    "pressure",
    "setpoint",
    "alarm",
    "batch",
    "recipe",
    "motor",
    "speed",
    "flow",
    "valve",
    "status",
    "running",
    "stopped",
    "fault",
    "counter",
    "shift",
    "order",
    "quality",
    "energy",
    "kWh",
    "pump",
    "level",
    "tank",
)
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
)


def _dns_name(name: str) -> bytes:
    out = b"".join(bytes((len(p),)) + p.encode() for p in name.split("."))
    return out + b"\x00"


def _dns_query(tid: int, name: str, qtype: int, flags: int = 0x0100) -> bytes:
    return (
        struct.pack(">HHHHHH", tid, flags, 1, 0, 0, 0)
        + _dns_name(name)
        + struct.pack(">HH", qtype, 1)
    )


def _dns_response(
    tid: int, name: str, qtype: int, answers: Sequence[tuple[int, int, bytes]], rcode: int = 0
) -> bytes:
    head = struct.pack(">HHHHHH", tid, 0x8180 | rcode, 1, len(answers), 0, 0)
    body = _dns_name(name) + struct.pack(">HH", qtype, 1)
    for rtype, ttl, rdata in answers:
        body += struct.pack(">HHHIH", 0xC00C, rtype, 1, ttl, len(rdata)) + rdata
    return head + body


def _ntp_ts(ts_ns: int) -> int:
    sec, ns = divmod(ts_ns, SEC)
    return ((sec + 2_208_988_800) & 0xFFFFFFFF) << 32 | (ns << 32) // SEC


def _tls_record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack(">BHH", content_type, version, len(body)) + body


def _tls_ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack(">HH", ext_type, len(body)) + body


def _tls_client_hello(rng: random.Random, sni: str) -> bytes:
    name = sni.encode()
    suites = (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8)
    sigs = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
    alpn = b"\x02h2\x08http/1.1"
    exts = b"".join(
        (
            _tls_ext(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name),
            _tls_ext(23, b""),  # extended master secret
            _tls_ext(65281, b"\x00"),  # renegotiation info
            _tls_ext(10, struct.pack(">HHHH", 6, 0x001D, 0x0017, 0x0018)),
            _tls_ext(11, b"\x01\x00"),
            _tls_ext(35, b""),  # session ticket
            _tls_ext(16, struct.pack(">H", len(alpn)) + alpn),
            _tls_ext(13, struct.pack(f">H{len(sigs)}H", 2 * len(sigs), *sigs)),
            _tls_ext(51, struct.pack(">HHH", 36, 0x001D, 32) + rng.randbytes(32)),
            _tls_ext(45, b"\x01\x01"),
            _tls_ext(43, b"\x04\x03\x04\x03\x03"),
        )
    )
    body = (
        b"\x03\x03"
        + rng.randbytes(32)
        + b"\x20"
        + rng.randbytes(32)
        + struct.pack(f">H{len(suites)}H", 2 * len(suites), *suites)
        + b"\x01\x00"
        + struct.pack(">H", len(exts))
        + exts
    )
    return _tls_record(0x16, b"\x01" + len(body).to_bytes(3, "big") + body, 0x0301)


def _tls_server_hello(rng: random.Random, session_id: bytes) -> bytes:
    exts = _tls_ext(43, b"\x03\x04") + _tls_ext(
        51, struct.pack(">HH", 0x001D, 32) + rng.randbytes(32)
    )
    body = (
        b"\x03\x03"
        + rng.randbytes(32)
        + bytes((len(session_id),))
        + session_id
        + b"\x13\x02\x00"
        + struct.pack(">H", len(exts))
        + exts
    )
    return _tls_record(0x16, b"\x02" + len(body).to_bytes(3, "big") + body)


_TLS_CCS = _tls_record(0x14, b"\x01")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(idat: bytes) -> bytes:
    """A structurally valid PNG (signature, IHDR, IDAT with opaque data, IEND)."""
    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


# ----------------------------------------------------------------------------- the plant


class _Plant:
    """All hosts, traffic sources and shared helpers for one generated capture."""

    def __init__(self, seed: int, start_ts_ns: int) -> None:
        self.rng = random.Random(seed)
        self.start = start_ts_ns
        rng = self.rng
        self.hosts: list[Host] = []
        for name, ip, oui, role, stack, ttl in _HOSTS:
            mac = oui + ":" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
            host = Host(
                name,
                ip,
                mac,
                role,
                stack,
                ttl or _TTL[stack],
                _subnet(ip) if ip else "",
                _VLANS.get(_subnet(ip)) if ip else None,
            )
            low = 49152 if stack == "windows" else 32768
            host.next_port = low + rng.randrange(8000)
            host.ip6 = _link_local(mac)
            self.hosts.append(host)
        self.by_name = {h.name: h for h in self.hosts}
        self.router = self.by_name["core-rtr"]
        self.gateways: dict[str, Host] = {}
        for subnet, ip in _ROUTER_IPS.items():
            self.gateways[subnet] = Host(
                "core-rtr",
                ip,
                self.router.mac,
                "router",
                "embedded",
                255,
                subnet,
                _VLANS.get(subnet),
            )
        self.pool = rng.randbytes(1 << 18)  # "ciphertext"
        words = _WORDS
        self.html_rows = [
            f"<tr><td>{rng.choice(words)}_{i}</td><td>{rng.randrange(10000)}</td></tr>\n".encode()
            for i in range(1000)
        ]
        self.json_rows = [
            (
                f'{{"id":{rng.randrange(100000)},'
                f'"{rng.choice(words)}":{rng.randrange(10000) / 10}}}'
            ).encode()
            for _ in range(1000)
        ]
        self.css_rows = [
            f".{rng.choice(words)}-{i}{{color:#{rng.randrange(1 << 24):06x}}}\n".encode()
            for i in range(1000)
        ]
        self._l2: dict[tuple[str, str], tuple[str, str, int | None, int]] = {}
        self._eth: dict[tuple[str, str, int], bytes] = {}

    def sub_rng(self) -> random.Random:
        return random.Random(self.rng.getrandbits(64))

    def h(self, name: str) -> Host:
        return self.by_name[name]

    def of_role(self, *roles: str) -> list[Host]:
        return [h for h in self.hosts if h.role in roles]

    # -- layer 2 ------------------------------------------------------------------------

    def route(self, a: Host, b: Host) -> tuple[str, str, int | None, int]:
        """(src MAC, dst MAC, VLAN, TTL) of a frame from a to b as the SPAN port sees it.

        Same subnet: direct. Routed: seen on the OT leg (or the sender's leg), so one MAC is
        the router's and the TTL is one less when the sender is on the far side.
        """
        key = (a.ip, b.ip)
        cached = self._l2.get(key)
        if cached is not None:
            return cached
        if a.subnet == b.subnet:
            out = (a.mac, b.mac, a.vlan, a.ttl)
        elif a.ot or not b.ot:
            out = (a.mac, self.router.mac, a.vlan, a.ttl)
        else:
            out = (self.router.mac, b.mac, b.vlan, a.ttl - 1)
        self._l2[key] = out
        return out

    def eth_header(self, src_mac: str, dst_mac: str, vlan: int | None, ethertype: int) -> bytes:
        return pk.ethernet(dst_mac, src_mac, ethertype, b"", vlan)

    def ip4_frame(self, a: Host, b: Host, proto: int, l4: bytes, ident: int) -> bytes:
        src_mac, dst_mac, vlan, ttl = self.route(a, b)
        packet = pk.ipv4(a.ip, b.ip, proto, l4, ttl, ident & 0xFFFF)
        return pk.ethernet(dst_mac, src_mac, pk.ETH_IPV4, packet, vlan, pad=True)

    def udp4(
        self, a: Host, b: Host, sport: int, dport: int, payload: bytes, *, ident: int
    ) -> bytes:
        dgram = pk.udp(sport, dport, payload, src_ip=a.ip, dst_ip=b.ip)
        return self.ip4_frame(a, b, pk.IPPROTO_UDP, dgram, ident)

    def conn(self, client: Host, server: Host, dport: int, rng: random.Random) -> _Conn:
        sport = client.ephemeral_port()
        c_src, c_dst, c_vlan, c_ttl = self.route(client, server)
        s_src, s_dst, s_vlan, s_ttl = self.route(server, client)
        c = _Side(
            self.eth_header(c_src, c_dst, c_vlan, pk.ETH_IPV4),
            c_ttl,
            pk.ip_bytes(client.ip),
            pk.ip_bytes(server.ip),
            sport=sport,
            dport=dport,
            ident=rng.randrange(65536),
        )
        s = _Side(
            self.eth_header(s_src, s_dst, s_vlan, pk.ETH_IPV4),
            s_ttl,
            pk.ip_bytes(server.ip),
            pk.ip_bytes(client.ip),
            sport=dport,
            dport=sport,
            ident=rng.randrange(65536),
        )
        conn = _Conn(c, s, rng.getrandbits(32), rng.getrandbits(32))
        c_opts, c_ws, c_syn_win, c_win = _STACKS[client.stack]
        s_opts, s_ws, s_syn_win, s_win = _STACKS[server.stack]
        scaled = c_ws is not None and s_ws is not None
        conn.syn_opts = c_opts
        conn.synack_opts = s_opts if c_ws is not None else s_opts[:4]
        conn.wins = (
            c_syn_win,
            s_syn_win,
            c_win if scaled else c_syn_win,
            s_win if scaled else s_syn_win,
        )
        return conn

    # -- Modbus -------------------------------------------------------------------------

    def modbus_pairs(self) -> list[_Pair]:
        rng = self.rng
        h = self.h
        pairs: list[_Pair] = []

        def blocks_for(server: Host, n: int) -> list[_Block]:
            if server.role == "gateway":
                out = [
                    _Block(3, unit, 0, [rng.randrange(3000) for _ in range(rng.choice((4, 8, 10)))])
                    for unit in range(1, 7)
                ]
                if server.name == "gw-serial-2":
                    out[-1].offline = True
                return out
            if server.role == "meter":
                return [
                    _Block(4, 1, 3000, [rng.randrange(65536) for _ in range(30)]),
                    _Block(3, 1, 2700, [rng.randrange(500) for _ in range(12)]),
                ]
            unit = rng.choice((1, 1, 1, 255, 0))
            out = []
            for i in range(n):
                fc = 3 if i % 2 == 0 else 4
                count = rng.choice((10, 16, 20, 32, 50, 64, 100, 125))
                out.append(
                    _Block(
                        fc,
                        unit,
                        rng.randrange(0, 400) * 10,
                        [rng.randrange(4096) for _ in range(count)],
                    )
                )
            return out

        def add(
            master: str,
            server: str,
            period_ms: tuple[int, int],
            *,
            n_blocks: int,
            write_chance: float,
            lifetime_s: float,
            pipelined: bool = False,
        ) -> None:
            m, s = h(master), h(server)
            gateway = s.role == "gateway"
            latency = (
                (15 * MS, 60 * MS)
                if gateway
                else ((1 * MS, 12 * MS) if s.role == "plc" else (3 * MS, 25 * MS))
            )
            pairs.append(
                _Pair(
                    master=m,
                    server=s,
                    blocks=blocks_for(s, n_blocks),
                    period_ns=int(rng.uniform(*period_ms)) * MS,
                    latency_ns=latency,
                    ack_delay_ns=(200 if m.stack == "windows" else 40) * MS,
                    server_acks_first=rng.random() < 0.25 and not gateway,
                    pipelined=pipelined,
                    write_chance=write_chance,
                    lifetime_ns=int(lifetime_s * SEC),
                    holding=[rng.randrange(1000) for _ in range(20)],
                )
            )

        hmi_targets = {
            "hmi-press": ("plc-press-1", "plc-press-2"),
            "hmi-oven": ("plc-oven-1", "plc-oven-2", "meter-1"),
            "hmi-conv": ("plc-conv-1", "plc-conv-2", "plc-wrap-1"),
            "hmi-pump": ("plc-pump-1", "plc-pump-2"),
            "hmi-pack": ("plc-pack-1", "plc-pack-2"),
        }
        for hmi, targets in hmi_targets.items():
            period = (600, 1000) if hmi == "hmi-pack" else (100, 500)
            for target in targets:
                add(hmi, target, period, n_blocks=2, write_chance=0.01, lifetime_s=4 * 3600)
        for server in self.of_role("plc", "gateway", "meter"):
            pipelined = server.role == "plc" and server.name.endswith("-1")
            add(
                "scada-a",
                server.name,
                (500, 1000),
                n_blocks=3,
                write_chance=0.002,
                lifetime_s=8 * 3600,
                pipelined=pipelined,
            )
        for name in ("plc-press-1", "plc-press-2", "plc-oven-1", "plc-oven-2"):
            add("scada-b", name, (800, 1000), n_blocks=1, write_chance=0.0, lifetime_s=8 * 3600)
        for meter in self.of_role("meter"):
            add(
                "historian",
                meter.name,
                (900, 1000),
                n_blocks=1,
                write_chance=0.0,
                lifetime_s=rng.uniform(120, 600),
            )
        return pairs

    def modbus(self, pair: _Pair, t: int) -> Source:
        rng = self.sub_rng()
        r = rng.random
        lat_lo, lat_span = pair.latency_ns[0], pair.latency_ns[1] - pair.latency_ns[0]
        period = pair.period_ns
        tid = rng.randrange(65536) if rng.random() < 0.5 else 0
        while True:
            conn = self.conn(pair.master, pair.server, 502, rng)
            t = yield from conn.handshake(t, rng)
            end = t + int(pair.lifetime_ns * (0.5 + r()))
            cycle = t + int(r() * 20) * MS
            while cycle < end:
                t = max(cycle, t + 200 * US)
                exchanges: list[tuple[int, int, bytes, bytes, int]] = []
                for block in pair.blocks:
                    tid = (tid + pair.tid_step) & 0xFFFF
                    request, response = block.read(rng)
                    latency = lat_lo + int(r() * lat_span)
                    if block.offline:
                        latency = 300 * MS + int(r() * 5) * MS  # gateway's serial timeout
                    exchanges.append((tid, block.unit_id, request, response, latency))
                if r() < pair.write_chance:  # an operator changes a setpoint
                    tid = (tid + pair.tid_step) & 0xFFFF
                    i = int(r() * len(pair.holding))
                    pair.holding[i] = (pair.holding[i] + int(r() * 21) - 10) & 0xFFFF
                    if r() < 0.8:
                        request = pk.modbus_write_single_register(100 + i, pair.holding[i])
                        response = request
                    else:
                        values = pair.holding[i : i + 4]
                        request = pk.modbus_write_multiple_registers(100 + i, values)
                        response = pk.modbus_write_multiple_registers_response(100 + i, len(values))
                    latency = lat_lo + int(r() * lat_span)
                    exchanges.append((tid, pair.blocks[0].unit_id, request, response, latency))
                if pair.pipelined:
                    t = yield from self._modbus_pipelined(conn, exchanges, t, rng)
                else:
                    acks_first = pair.server_acks_first
                    for tid_i, unit, request, response, latency in exchanges:
                        adu = _adu(tid_i, unit, request)
                        seq, ack = conn.cseq, conn.sseq
                        yield t, conn.cl(PA, adu)
                        if r() < 0.001:  # lost beyond the SPAN port: retransmitted
                            t += int(rng.uniform(200, 400)) * MS
                            yield t, conn.c.seg(seq, ack, PA, adu)
                        if acks_first:
                            t += int(80 + r() * 320) * US
                            yield t, conn.sv(ACK)
                        t += latency
                        yield t, conn.sv(PA, _adu(tid_i, unit, response))
                        t += int(300 + r() * 2500) * US
                cycle += period + int((r() - 0.5) * 0.1 * period)
                ack_at = t + pair.ack_delay_ns
                if ack_at < cycle:
                    yield ack_at, conn.cl(ACK)
                    t = ack_at
            t = max(t, cycle) + int(r() * 50) * MS
            t = yield from conn.close(t, rng)
            t += int(rng.uniform(0.5, 3.0) * SEC)

    def _modbus_pipelined(
        self,
        conn: _Conn,
        exchanges: list[tuple[int, int, bytes, bytes, int]],
        t: int,
        rng: random.Random,
    ) -> Flow:
        frames = [
            conn.cl(PA, _adu(tid, unit, request))
            for tid, unit, request, _response, _latency in exchanges
        ]
        if len(frames) > 1 and rng.random() < 0.005:  # reordered on the way to the SPAN port
            frames[0], frames[1] = frames[1], frames[0]
        for frame in frames:
            yield t, frame
            t += int(rng.uniform(15, 80)) * US
        for tid, unit, _request, response, latency in exchanges:
            t += latency // 2
            yield t, conn.sv(PA, _adu(tid, unit, response))
        return t

    # -- generic TCP sessions (HTTP, TLS) -------------------------------------------------

    def _send(
        self, conn: _Conn, from_client: bool, data: bytes, t: int, rng: random.Random
    ) -> Flow:
        """Send ``data`` in MSS segments; the receiver ACKs every second full segment."""
        send = conn.cl if from_client else conn.sv
        recv = conn.sv if from_client else conn.cl
        for n, off in enumerate(range(0, len(data), MSS), 1):
            chunk = data[off : off + MSS]
            last = off + MSS >= len(data)
            yield t, send(PA if last else ACK, chunk)
            if n % 2 == 0 and not last:
                t += int(rng.uniform(10, 60)) * US
                yield t, recv(ACK)
            if n % 10 == 0:
                t += int(rng.uniform(150, 600)) * US  # waiting for the window to open
            t += int(rng.uniform(12, 40)) * US
        return t

    def tcp_session(
        self,
        client: Host,
        server: Host,
        dport: int,
        t: int,
        exchanges: Callable[[random.Random], list[tuple[bytes, bytes, int]]],
    ) -> Source:
        """Handshake, request/response exchanges (request, response, server time), teardown."""
        rng = self.sub_rng()
        conn = self.conn(client, server, dport, rng)
        t = yield from conn.handshake(t, rng)
        t += int(rng.uniform(0.2, 5)) * MS
        items = exchanges(rng)
        for i, (request, response, think) in enumerate(items):
            t = yield from self._send(conn, True, request, t, rng)
            if think > 5 * MS:
                yield t + int(rng.uniform(60, 300)) * US, conn.sv(ACK)
            t += think
            if response:
                t = yield from self._send(conn, False, response, t, rng)
                # the client ACKs now if it has nothing to send soon
                if i == len(items) - 1 or rng.random() < 0.5:
                    t += int(rng.uniform(0.1, 40)) * MS
                    yield t, conn.cl(ACK)
            t += int(rng.uniform(5, 1500)) * MS  # user or application think time
        client_first = rng.random() < 0.6
        t = yield from conn.close(t, rng, client_first)

    def http_exchanges(
        self, server: Host, rng: random.Random, t: int
    ) -> list[tuple[bytes, bytes, int]]:
        host = server.name + ".plant.local" if not server.ot else server.ip
        if server.role == "plc":
            paths = [
                "/Portal/Portal.mwsl?PriNav=Ident",
                "/Portal/Portal.mwsl?PriNav=Diag",
                "/Images/logo.png",
            ]
        elif server.role == "gateway":
            paths = ["/main.htm", "/serial_settings.htm", "/modbus_diag.htm"]
        elif server.role == "printer":
            paths = ["/hp/device/DeviceStatus/Index", "/hp/device/webAccess/index.htm"]
        else:
            paths = ["/api/v1/orders?line=2", "/api/v1/kpi/oee", "/dashboard", "/static/app.css"]
        out: list[tuple[bytes, bytes, int]] = []
        for _ in range(1 + int(rng.random() * 3)):
            path = rng.choice(paths)
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {rng.choice(_USER_AGENTS)}"
                "\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n"
            ).encode()
            roll = rng.random()
            date = formatdate((t + len(out) * SEC) / SEC, usegmt=True)
            if roll < 0.08:
                body = b"<html><body><h1>404 Not Found</h1></body></html>\n"
                status = "404 Not Found"
                ctype = "text/html"
            elif path.startswith("/api/"):
                body = b'{"items":[' + self._rows(self.json_rows, 5, 300, rng, b",") + b"]}"
                status = "200 OK"
                ctype = "application/json"
            elif path.endswith(".png"):
                body = _png(self._cipher(rng, 2000 + int(rng.random() * 20000)))
                status = "200 OK"
                ctype = "image/png"
            elif path.endswith(".css"):
                body = b"body{font-family:sans-serif}\n" + self._rows(self.css_rows, 20, 200, rng)
                status = "200 OK"
                ctype = "text/css"
            else:
                body = (
                    f"<html><head><title>{server.name}</title></head><body><table>\n".encode()
                    + self._rows(self.html_rows, 10, 400, rng)
                    + b"</table></body></html>\n"
                )
                status = "200 OK"
                ctype = "text/html; charset=utf-8"
            head = (
                f"HTTP/1.1 {status}\r\nDate: {date}\r\nServer: {server.name}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            out.append((request, head + body, int(rng.uniform(1, 60)) * MS))
        return out

    @staticmethod
    def _rows(
        rows: list[bytes], low: int, high: int, rng: random.Random, sep: bytes = b""
    ) -> bytes:
        n = low + int(rng.random() * (high - low))
        start = rng.randrange(len(rows) - n)
        return sep.join(rows[start : start + n])

    def _cipher(self, rng: random.Random, n: int) -> bytes:
        pool = self.pool
        out = []
        while n > 0:
            k = min(n, 65536)
            off = rng.randrange(len(pool) - k)
            out.append(pool[off : off + k])
            n -= k
        return b"".join(out)

    def _app_data(self, rng: random.Random, n: int) -> bytes:
        """TLS 1.3 application data records carrying ``n`` bytes of plaintext."""
        out = []
        while n > 0:
            k = min(n, 16384)
            out.append(_tls_record(0x17, self._cipher(rng, k + 17)))
            n -= k
        return b"".join(out)

    def tls_exchanges(self, server: Host, rng: random.Random) -> list[tuple[bytes, bytes, int]]:
        sni = server.name + ".plant.local"
        hello = _tls_client_hello(rng, sni)
        session_id = hello[44:76]
        server_flight = (
            _tls_server_hello(rng, session_id)
            + _TLS_CCS
            + self._app_data(rng, 2500 + int(rng.random() * 2500))  # certificate chain etc.
        )
        out = [(hello, server_flight, int(rng.uniform(1, 8)) * MS)]
        request = _TLS_CCS + self._app_data(rng, 36)  # client Finished
        for i in range(1 + int(rng.random() * 4)):
            request += self._app_data(rng, 300 + int(rng.random() * 600))
            response = self._app_data(
                rng, 200 + int(rng.random() * rng.choice((1500, 4000, 12000, 24000)))
            )
            if i == 0:
                response = self._app_data(rng, 200) + response  # session ticket
            out.append((request, response, int(rng.uniform(2, 80)) * MS))
            request = b""
        out.append((self._app_data(rng, 2), b"", 0))  # encrypted close_notify alert
        return out

    # -- UDP, ARP, ICMP, IPv6 -----------------------------------------------------------

    def dns_lookup(self, client: Host, t: int) -> Source:
        rng = self.sub_rng()
        server = self.h("dc-01")
        names = _DNS_NAMES_INTERNAL if rng.random() < 0.7 else _DNS_NAMES_EXTERNAL
        name = rng.choice(names)
        sport = client.ephemeral_port()
        qtypes = (1, 28) if client.stack == "windows" and rng.random() < 0.5 else (1,)
        ident = rng.randrange(65536)
        if rng.random() < 0.05:
            name = "wpad.plant.local"
        for qtype in qtypes:
            tid = rng.randrange(65536)
            query = _dns_query(tid, name, qtype)
            yield t, self.udp4(client, server, sport, 53, query, ident=ident)
            cached = name.endswith(".local") or rng.random() < 0.6
            t += int(rng.uniform(0.1, 0.9) * MS if cached else rng.uniform(8, 40) * MS)
            if name.startswith("wpad."):
                response = _dns_response(tid, name, qtype, (), rcode=3)
            elif qtype == 28:
                response = _dns_response(tid, name, qtype, ())
            else:
                answers = []
                for _ in range(1 if name.endswith(".local") else 1 + int(rng.random() * 3)):
                    target = self._resolve(name, rng)
                    answers.append(
                        (1, 1200 if name.endswith(".local") else 300, pk.ip_bytes(target))
                    )
                response = _dns_response(tid, name, qtype, answers)
            yield t, self.udp4(server, client, 53, sport, response, ident=ident + 7)
            ident += 1
            t += int(rng.uniform(0.05, 0.5) * MS)

    def _resolve(self, name: str, rng: random.Random) -> str:
        short = name.split(".", 1)[0]
        if short in self.by_name:
            return self.by_name[short].ip
        # Addresses of the documentation ranges for names outside the plant.
        return f"198.51.100.{1 + rng.randrange(250)}"

    def ntp_client(self, client: Host, t: int, period_ns: int) -> Source:
        rng = self.sub_rng()
        server = self.h("ntp-01")
        ident = rng.randrange(65536)
        sport = 123 if client.stack == "linux" else client.ephemeral_port()
        while True:
            req = struct.pack(
                ">BBbbII4sQQQQ",
                0x23,
                0,
                6,
                -20,
                0,
                0,
                b"\0" * 4,
                0,
                0,
                0,
                _ntp_ts(t + int(rng.uniform(-5, 5) * MS)),
            )
            yield t, self.udp4(client, server, sport, 123, req, ident=ident)
            t2 = t + int(rng.uniform(0.2, 1.5) * MS)
            orig = struct.unpack_from(">Q", req, 40)[0]
            resp = struct.pack(
                ">BBbbII4sQQQQ",
                0x24,
                1,
                6,
                -23,
                0,
                0x10,
                b"GPS\0",
                _ntp_ts(t - 16 * SEC),
                orig,
                _ntp_ts(t2 - 20 * US),
                _ntp_ts(t2),
            )
            yield t2, self.udp4(server, client, 123, sport, resp, ident=ident ^ 0x5A5A)
            ident += 1
            t += period_ns + int(rng.uniform(-0.05, 0.05) * period_ns)

    def arp_chatter(self, host: Host, t: int) -> Source:
        rng = self.sub_rng()
        subnet = host.subnet
        peers = [h for h in self.hosts if h.subnet == subnet and h is not host and h.ip]
        gateway = self.gateways[subnet]
        while True:
            target = gateway if rng.random() < 0.5 or not peers else rng.choice(peers)
            yield (
                t,
                pk.ethernet(
                    pk.BROADCAST_MAC,
                    host.mac,
                    pk.ETH_ARP,
                    pk.arp(pk.ARP_REQUEST, host.mac, host.ip, "00:00:00:00:00:00", target.ip),
                    host.vlan,
                    pad=True,
                ),
            )
            t += int(rng.uniform(0.1, 2.0) * MS)
            yield (
                t,
                pk.ethernet(
                    host.mac,
                    target.mac,
                    pk.ETH_ARP,
                    pk.arp(pk.ARP_REPLY, target.mac, target.ip, host.mac, host.ip),
                    host.vlan,
                    pad=True,
                ),
            )
            t += int(rng.uniform(20, 240) * SEC)
            if rng.random() < 0.05:  # gratuitous ARP
                yield (
                    t,
                    pk.ethernet(
                        pk.BROADCAST_MAC,
                        host.mac,
                        pk.ETH_ARP,
                        pk.arp(pk.ARP_REQUEST, host.mac, host.ip, "00:00:00:00:00:00", host.ip),
                        host.vlan,
                        pad=True,
                    ),
                )
                t += 1 * SEC

    def ping_monitor(self, t: int) -> Source:
        rng = self.sub_rng()
        monitor = self.h("mon-01")
        targets = [h for h in self.hosts if h.ip and h is not monitor and h.role != "workstation"]
        ident = rng.randrange(65536)
        seq = 0
        ip_id = rng.randrange(65536)
        pattern = bytes(range(0x10, 0x38))
        while True:
            for target in targets:
                seq = (seq + 1) & 0xFFFF
                sec, ns = divmod(t, SEC)
                data = struct.pack("<QQ", sec, ns // US) + pattern
                yield (
                    t,
                    self.ip4_frame(
                        monitor, target, pk.IPPROTO_ICMP, pk.icmp_echo(ident, seq, data), ip_id
                    ),
                )
                t2 = t + int(rng.uniform(0.15, 3.0) * MS)
                yield (
                    t2,
                    self.ip4_frame(
                        target,
                        monitor,
                        pk.IPPROTO_ICMP,
                        pk.icmp_echo(ident, seq, data, reply=True),
                        ip_id + 3,
                    ),
                )
                ip_id += 1
                t += int(rng.uniform(200, 900) * MS)
            t += 20 * SEC

    def ipv6_chatter(self, host: Host, t: int) -> Source:
        rng = self.sub_rng()
        peers = [h for h in self.hosts if h.role == "workstation" and h is not host]
        duid = struct.pack(">HHI", 1, 1, 700_000_000 + rng.randrange(10**8)) + pk.mac_bytes(
            host.mac
        )
        while True:
            roll = rng.random()
            src = host.ip6
            if roll < 0.3:  # mDNS / LLMNR query
                mdns = rng.random() < 0.5
                name = (
                    "_services._dns-sd._udp.local"
                    if mdns
                    else rng.choice(("fileserver", "printer", "wpad", "ws-lab"))
                )
                dst, port = ("ff02::fb", 5353) if mdns else ("ff02::1:3", 5355)
                query = _dns_query(0 if mdns else rng.randrange(65536), name, 12 if mdns else 1, 0)
                yield (
                    t,
                    self._ip6(
                        host,
                        dst,
                        pk.IPPROTO_UDP,
                        pk.udp(
                            port if mdns else host.ephemeral_port(),
                            port,
                            query,
                            src_ip=src,
                            dst_ip=dst,
                        ),
                        255 if mdns else 1,
                    ),
                )
            elif roll < 0.55:  # DHCPv6 solicit with retransmissions (nobody answers)
                xid = rng.randbytes(3)
                elapsed = 0
                for _ in range(1 + int(rng.random() * 3)):
                    opts = (
                        struct.pack(">HH", 1, len(duid))
                        + duid
                        + struct.pack(">HHH", 8, 2, min(elapsed // (10 * MS), 0xFFFF))
                        + struct.pack(">HHIII", 3, 12, rng.randrange(1 << 28), 0, 0)
                        + struct.pack(">HHHH", 6, 4, 23, 24)
                    )
                    dhcp = b"\x01" + xid + opts
                    yield (
                        t + elapsed,
                        self._ip6(
                            host,
                            "ff02::1:2",
                            pk.IPPROTO_UDP,
                            pk.udp(546, 547, dhcp, src_ip=src, dst_ip="ff02::1:2"),
                            1,
                        ),
                    )
                    elapsed += int(rng.uniform(1.0, 1.1) * SEC) * (1 + elapsed // SEC)
                t += elapsed
            elif roll < 0.7:  # router solicitation
                body = b"\x00" * 4 + b"\x01\x01" + pk.mac_bytes(host.mac)
                yield (
                    t,
                    self._ip6(
                        host,
                        "ff02::2",
                        pk.IPPROTO_ICMPV6,
                        pk.icmpv6(133, 0, body, src_ip=src, dst_ip="ff02::2"),
                        255,
                    ),
                )
            else:  # neighbour solicitation and advertisement with a peer
                peer = rng.choice(peers)
                target = pk.ip_bytes(peer.ip6)
                group = "ff02::1:ff" + f"{target[13]:02x}:{target[14]:02x}{target[15]:02x}"
                body = b"\x00" * 4 + target + b"\x01\x01" + pk.mac_bytes(host.mac)
                yield (
                    t,
                    self._ip6(
                        host,
                        group,
                        pk.IPPROTO_ICMPV6,
                        pk.icmpv6(135, 0, body, src_ip=src, dst_ip=group),
                        255,
                    ),
                )
                t += int(rng.uniform(0.1, 1.5) * MS)
                body = struct.pack(">I", 0x60000000) + target + b"\x02\x01" + pk.mac_bytes(peer.mac)
                frame = pk.ethernet(
                    host.mac,
                    peer.mac,
                    pk.ETH_IPV6,
                    pk.ipv6(
                        peer.ip6,
                        src,
                        pk.IPPROTO_ICMPV6,
                        pk.icmpv6(136, 0, body, src_ip=peer.ip6, dst_ip=src),
                        255,
                    ),
                    host.vlan,
                )
                yield t, frame
            t += int(rng.uniform(5, 90) * SEC)

    def _ip6(self, host: Host, dst: str, proto: int, l4: bytes, hop_limit: int) -> bytes:
        dst_mac = pk.ipv6_multicast_mac(dst) if dst.startswith("ff") else self.router.mac
        return pk.ethernet(
            dst_mac, host.mac, pk.ETH_IPV6, pk.ipv6(host.ip6, dst, proto, l4, hop_limit), host.vlan
        )

    # -- IT sessions --------------------------------------------------------------------

    def it_sessions(self, t: int, rate_per_s: float) -> Source:
        """Spawns DNS lookups, HTTP and TLS sessions at random (Poisson) times."""
        rng = self.sub_rng()
        clients = [
            *self.of_role("workstation"),
            self.h("ews-1"),
            self.h("scada-a"),
            self.h("scada-b"),
            self.h("historian"),
        ]
        web_http = [
            self.h(n)
            for n in ("plc-press-1", "plc-press-2", "gw-serial-1", "gw-serial-2", "printer", "mes")
        ]
        web_tls = [self.h(n) for n in ("historian", "mes", "vcenter", "dc-01")]
        kinds = ("dns", "http", "tls")
        weights = (0.62, 0.10, 0.28)
        mean_gap = SEC / rate_per_s
        while True:
            t += int(rng.expovariate(1.0) * mean_gap) + 1
            kind = rng.choices(kinds, weights)[0]
            client = rng.choice(clients)
            if kind == "dns":
                yield t, self.dns_lookup(client, t)
            elif kind == "http":
                server = rng.choice(web_http)
                if server.ot and client.role == "workstation" and rng.random() < 0.7:
                    client = self.h("ews-1")
                yield (
                    t,
                    self.tcp_session(
                        client, server, 80, t, functools.partial(self.http_exchanges, server, t=t)
                    ),
                )
            else:
                server = rng.choice(web_tls)
                if server is client:
                    continue
                yield (
                    t,
                    self.tcp_session(
                        client, server, 443, t, functools.partial(self.tls_exchanges, server)
                    ),
                )

    def sources(self) -> list[Source]:
        rng = self.rng
        t0 = self.start
        out: list[Source] = []
        for pair in self.modbus_pairs():
            out.append(self.modbus(pair, t0 + int(rng.uniform(0, 3) * SEC)))
        out.append(self.it_sessions(t0 + int(rng.uniform(0, 50)) * MS, 14.0))
        for host in self.hosts:
            if not host.ip:
                continue
            out.append(self.arp_chatter(host, t0 + int(rng.uniform(0, 20) * SEC)))
            if host.role in ("plc", "scada", "historian", "monitor", "dns", "ews") or (
                host.stack == "linux" and host.role != "ntp"
            ):
                period = 64 * SEC if host.stack != "windows" else 128 * SEC
                out.append(self.ntp_client(host, t0 + int(rng.uniform(0, 15) * SEC), period))
            if host.role == "workstation":
                out.append(self.ipv6_chatter(host, t0 + int(rng.uniform(0, 10) * SEC)))
        out.append(self.ping_monitor(t0 + int(rng.uniform(0, 2) * SEC)))
        return out


# ----------------------------------------------------------------------------- driver


def iter_chunks(
    packets: int, seed: int = 1, start_ts_ns: int = DEFAULT_START_TS_NS, chunk: int = 65536
) -> Iterator[tuple[list[int], list[bytes]]]:
    """Yield (timestamps ns, Ethernet frames) lists of up to ``chunk`` packets, in time order."""
    plant = _Plant(seed, start_ts_ns)
    # (time, tie-breaker, frame or a new source to start, the source it came from)
    heap: list[tuple[int, int, bytes | Source, Source]] = []
    counter = 0
    for source in plant.sources():
        for ts, item in source:
            counter += 1
            heap.append((ts, counter, item, source))
            break
    heapq.heapify(heap)
    remaining = packets
    heappush = heapq.heappush
    heappop = heapq.heappop
    heapreplace = heapq.heapreplace
    while remaining > 0 and heap:
        stamps: list[int] = []
        frames: list[bytes] = []
        add_stamp = stamps.append
        add_frame = frames.append
        want = min(chunk, remaining)
        while want and heap:
            ts, _, item, source = heap[0]
            if type(item) is bytes:
                add_stamp(ts)
                add_frame(item)
                want -= 1
                try:
                    nts, nitem = next(source)
                except StopIteration:
                    heappop(heap)
                    continue
                counter += 1
                heapreplace(heap, (nts, counter, nitem, source))
                continue
            heappop(heap)  # a new session starts: schedule its first item, then the spawner's
            child: Source = item  # type: ignore[assignment]
            for cts, citem in child:
                counter += 1
                heappush(heap, (cts, counter, citem, child))
                break
            for nts, nitem in source:
                counter += 1
                heappush(heap, (nts, counter, nitem, source))
                break
        remaining -= len(frames)
        if frames:
            yield stamps, frames


def iter_frames(
    packets: int, seed: int = 1, start_ts_ns: int = DEFAULT_START_TS_NS
) -> Iterator[tuple[int, bytes]]:
    """Yield ``packets`` (timestamp ns, Ethernet frame) pairs in timestamp order."""
    for stamps, frames in iter_chunks(packets, seed, start_ts_ns, chunk=4096):
        yield from zip(stamps, frames, strict=True)


@dataclass(frozen=True, slots=True)
class SynthStats:
    """What :func:`generate` wrote."""

    packets: int
    bytes: int
    first_ts_ns: int
    last_ts_ns: int


def generate(
    path: str | Path, packets: int, seed: int = 1, start_ts_ns: int = DEFAULT_START_TS_NS
) -> SynthStats:
    """Write ``packets`` frames of synthetic plant traffic to a pcap file at ``path``."""
    if packets < 0:
        raise ValueError(f"packets must be >= 0: {packets}")
    total = 0
    first = last = 0
    with Path(path).open("wb") as fh:
        writer = PcapWriter(fh)
        for stamps, frames in iter_chunks(packets, seed, start_ts_ns):
            if not writer.packets:
                first = stamps[0]
            last = stamps[-1]
            total += sum(map(len, frames))
            writer.write_many(frames, stamps)
        count = writer.packets
    return SynthStats(count, total, first, last)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m otsight.testing.synth",
        description="Write a deterministic synthetic OT plant capture (pcap).",
    )
    parser.add_argument("out", type=Path, help="output .pcap file")
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-ts-ns", type=int, default=DEFAULT_START_TS_NS)
    args = parser.parse_args(argv)
    stats = generate(args.out, args.packets, args.seed, args.start_ts_ns)
    print(
        f"{args.out}: {stats.packets} packets, {stats.bytes} bytes of frames, "
        f"{(stats.last_ts_ns - stats.first_ts_ns) / SEC:.1f} s of traffic",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
