"""Synthetic plant traffic: deterministic, well-formed for tshark, with the mix it claims."""

from __future__ import annotations

import collections
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from otsight.testing import synth

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None, reason="tshark not installed (apt-get install tshark)"
)
CHECKSUM_PREFS = [
    "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
]
SAMPLE = 20_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "plant.pcap"
    stats = synth.generate(path, SAMPLE, seed=7)
    assert stats.packets == SAMPLE
    return path


def read_pcap(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4
    out = []
    pos = 24
    while pos < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, pos)
        assert incl == orig
        out.append((sec * 10**9 + usec * 1000, data[pos + 16 : pos + 16 + incl]))
        pos += 16 + incl
    return out


def classify(frame: bytes) -> tuple[str, bool]:
    """(kind, vlan tagged) of one Ethernet frame, by headers only."""
    ethertype = struct.unpack_from(">H", frame, 12)[0]
    off = 14
    tagged = ethertype == 0x8100
    if tagged:
        ethertype = struct.unpack_from(">H", frame, 16)[0]
        off = 18
    if ethertype == 0x0806:
        return "arp", tagged
    if ethertype == 0x86DD:
        return "ipv6", tagged
    assert ethertype == 0x0800, hex(ethertype)
    proto = frame[off + 9]
    if proto == 6:
        sport, dport = struct.unpack_from(">HH", frame, off + 20)
        return ("modbus" if 502 in (sport, dport) else "it-tcp"), tagged
    return {17: "udp", 1: "icmp"}[proto], tagged


# ----------------------------------------------------------------------------- pure Python


def test_deterministic(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.pcap", tmp_path / "b.pcap", tmp_path / "c.pcap"
    synth.generate(a, 3000, seed=3)
    synth.generate(b, 3000, seed=3)
    synth.generate(c, 3000, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_prefix_of_a_longer_run() -> None:
    short = list(synth.iter_frames(1500, seed=5))
    long = list(synth.iter_frames(2500, seed=5))
    assert len(short) == 1500
    assert long[:1500] == short


def test_start_time_and_order(sample: Path) -> None:
    records = read_pcap(sample)
    assert len(records) == SAMPLE
    stamps = [ts for ts, _ in records]
    assert stamps == sorted(stamps)
    assert synth.DEFAULT_START_TS_NS <= stamps[0] < synth.DEFAULT_START_TS_NS + 10**9
    span_s = (stamps[-1] - stamps[0]) / 1e9
    assert 10 < span_s < 120  # a few hundred packets per second, like a small plant

    # Another start time shifts the timeline (payloads carrying time, like NTP, differ).
    shifted = list(synth.iter_frames(100, seed=7, start_ts_ns=10**18))
    offsets = [(ts - 10**18) // 1000 * 1000 for ts, _ in shifted]
    assert offsets == [ts - synth.DEFAULT_START_TS_NS for ts in stamps[:100]]
    assert [len(f) for _, f in shifted] == [len(f) for _, f in records[:100]]


def test_mix(sample: Path) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    tagged = 0
    for _, frame in read_pcap(sample):
        kind, vlan = classify(frame)
        kinds[kind] += 1
        tagged += vlan
        assert len(frame) >= 60
    it_share = 1 - kinds["modbus"] / SAMPLE
    assert 0.2 < it_share < 0.4, kinds
    assert kinds["it-tcp"] > kinds["udp"] > kinds["icmp"] > 0
    assert kinds["arp"] > 10
    assert kinds["ipv6"] > 5
    assert 0.01 < tagged / SAMPLE < 0.15


def test_zero_packets_and_cli(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pcap"
    assert synth.generate(empty, 0).packets == 0
    assert len(empty.read_bytes()) == 24
    out = tmp_path / "cli.pcap"
    assert synth.main([str(out), "--packets", "100", "--seed", "9"]) == 0
    assert len(read_pcap(out)) == 100


# ----------------------------------------------------------------------------- tshark


def run_tshark(path: Path, *args: str) -> str:
    assert TSHARK is not None
    out = subprocess.run([TSHARK, "-n", "-r", str(path), *CHECKSUM_PREFS, *args],
                         capture_output=True, text=True, check=True)
    return out.stdout


@needs_tshark
def test_tshark_protocol_hierarchy(sample: Path) -> None:
    phs = run_tshark(sample, "-q", "-z", "io,phs")
    frames = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^\s*(\S+)\s+frames:(\d+)", phs, re.MULTILINE)
    }
    assert frames["eth"] == SAMPLE
    for proto in ("modbus", "mbtcp", "dns", "tls", "http", "arp", "icmp", "ipv6", "icmpv6",
                  "vlan", "ntp", "dhcpv6", "mdns"):
        assert frames.get(proto, 0) > 0, (proto, phs)
    assert "_ws.malformed" not in frames, phs


@needs_tshark
def test_tshark_no_errors_and_good_checksums(sample: Path) -> None:
    expert = run_tshark(sample, "-q", "-z", "expert")
    assert "Errors (" not in expert, expert
    fields = ["ip.checksum.status", "tcp.checksum.status", "udp.checksum.status",
              "icmp.checksum.status", "icmpv6.checksum.status"]
    cmd = ["-T", "fields", "-E", "separator=|"]
    for name in fields:
        cmd += ["-e", name]
    statuses: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in run_tshark(sample, *cmd).splitlines():
        for name, value in zip(fields, line.split("|"), strict=True):
            for v in filter(None, value.split(",")):
                statuses[name, v] += 1
    bad = {key: n for key, n in statuses.items() if key[1] != "1"}  # 1 = Good
    assert not bad, bad
    assert statuses["tcp.checksum.status", "1"] > SAMPLE // 2
    assert statuses["udp.checksum.status", "1"] > 0
    assert statuses["icmpv6.checksum.status", "1"] > 0


@needs_tshark
def test_tshark_modbus_and_tcp_behaviour(sample: Path) -> None:
    cols = ["modbus.func_code", "tcp.srcport", "modbus.request_frame", "tcp.flags.syn",
            "tcp.flags.fin", "tcp.len", "tcp.dstport"]
    cmd = ["-Y", "tcp.port == 502", "-T", "fields", "-E", "separator=|"]
    for name in cols:
        cmd += ["-e", name]
    rows = [dict(zip(cols, line.split("|"), strict=True))
            for line in run_tshark(sample, *cmd).splitlines()]
    codes = collections.Counter(r["modbus.func_code"] for r in rows if r["modbus.func_code"])
    assert codes["3"] > 1000
    assert codes["4"] > 500
    assert codes["6"] > 0
    responses = [r for r in rows if r["modbus.func_code"] and r["tcp.srcport"] == "502"]
    matched = sum(bool(r["modbus.request_frame"]) for r in responses)
    assert matched > 0.9 * len(responses)
    syns = sum(r["tcp.flags.syn"] in ("1", "True") for r in rows)
    assert syns >= 2 * 30  # SYN and SYN/ACK of every polling connection
    acks_only = sum(r["tcp.len"] == "0" for r in rows)
    assert acks_only > 500
