"""pcap / pcapng writers: exact bytes, and what capinfos and tshark read back."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from otsight.capture.writer import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapngWriter, PcapWriter
from otsight.testing import packets as pk

TSHARK = shutil.which("tshark")
CAPINFOS = shutil.which("capinfos")
needs_tools = pytest.mark.skipif(
    TSHARK is None or CAPINFOS is None,
    reason="tshark/capinfos not installed (apt-get install tshark)",
)

T0 = 1_767_225_600_123_456_789  # 2026-01-01T00:00:00.123456789Z


def frame(i: int, size: int = 0) -> bytes:
    payload = bytes(i % 251 for _ in range(size))
    return pk.udp_frame("192.0.2.1", "192.0.2.2", 1000 + i, 53, payload)


def capinfos(path: Path) -> dict[str, str]:
    """capinfos as a table: packets (-c), encapsulation (-E), start/end epoch (-a -e -S)."""
    assert CAPINFOS is not None
    out = subprocess.run(
        [CAPINFOS, "-M", "-T", "-c", "-E", "-a", "-e", "-S", str(path)],
        capture_output=True, text=True, check=True,
    )
    header, _, values = out.stdout.partition("\n")
    return dict(zip(header.split("\t"), values.rstrip("\n").split("\t"), strict=True))


def capinfos_interfaces(path: Path) -> list[str]:
    """Lines of capinfos' per-interface report (encapsulation, precision, ...)."""
    assert CAPINFOS is not None
    out = subprocess.run([CAPINFOS, "-I", str(path)], capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines()]


def tshark_rows(path: Path, *fields: str) -> list[list[str]]:
    assert TSHARK is not None
    cmd = [TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for name in fields:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


# ----------------------------------------------------------------------------- pcap


def test_pcap_header_and_record_bytes() -> None:
    buf = io.BytesIO()
    writer = PcapWriter(buf, snaplen=100, nanosecond=True)
    writer.write(b"\xaa" * 150, T0, wirelen=1500)
    data = buf.getvalue()
    assert struct.unpack_from("<IHHiIII", data) == (0xA1B23C4D, 2, 4, 0, 0, 100, 1)
    assert struct.unpack_from("<IIII", data, 24) == (1_767_225_600, 123_456_789, 100, 1500)
    assert data[40:] == b"\xaa" * 100
    assert writer.packets == 1

    big = io.BytesIO()
    PcapWriter(big, big_endian=True).write(b"x", T0)
    assert big.getvalue()[:4] == b"\xa1\xb2\xc3\xd4"
    assert struct.unpack_from(">II", big.getvalue(), 24) == (1_767_225_600, 123_456)


@pytest.mark.parametrize("nanosecond", [False, True])
def test_write_many_matches_write(nanosecond: bool) -> None:
    frames = [frame(i, i % 300) for i in range(2000)] + [b"\x01" * 400]
    stamps = [T0 + i * 1_234_567 for i in range(len(frames))]
    wire = [len(f) + (i % 3) for i, f in enumerate(frames)]
    one, many, arr = io.BytesIO(), io.BytesIO(), io.BytesIO()
    w1 = PcapWriter(one, snaplen=256, nanosecond=nanosecond)
    for f, ts, wl in zip(frames, stamps, wire, strict=True):
        w1.write(f, ts, wl)
    PcapWriter(many, snaplen=256, nanosecond=nanosecond).write_many(frames, stamps, wire)
    writer = PcapWriter(arr, snaplen=256, nanosecond=nanosecond)
    writer.write_many(frames, np.array(stamps, dtype=np.int64), np.array(wire))
    assert many.getvalue() == one.getvalue() == arr.getvalue()
    assert writer.packets == len(frames)


def test_write_many_is_fast() -> None:
    frames = [bytes(60 + i % 40) for i in range(200_000)]
    stamps = np.arange(200_000, dtype=np.int64) * 1000 + T0
    started = time.perf_counter()
    PcapWriter(io.BytesIO()).write_many(frames, stamps)
    # ~0.1 s on a 2-core machine; generous bound for loaded CI machines
    assert time.perf_counter() - started < 3.0


def test_pcap_errors() -> None:
    writer = PcapWriter(io.BytesIO())
    with pytest.raises(ValueError, match="negative"):
        writer.write(b"x", -1)
    with pytest.raises(ValueError, match="wirelen"):
        writer.write(b"xyz", T0, wirelen=2)
    with pytest.raises(ValueError, match="same length"):
        writer.write_many([b"x"], [])
    with pytest.raises(ValueError, match="range"):
        writer.write_many([b"x"], [1 << 62])
    with pytest.raises(ValueError, match="snaplen"):
        PcapWriter(io.BytesIO(), snaplen=0)


@needs_tools
@pytest.mark.parametrize("nanosecond", [False, True])
def test_pcap_read_back(tmp_path: Path, nanosecond: bool) -> None:
    path = tmp_path / "out.pcap"
    frames = [frame(i, 10 * i) for i in range(50)]
    stamps = [T0 + i * 1_000_001 for i in range(50)]
    with path.open("wb") as fh:
        writer = PcapWriter(fh, snaplen=200, nanosecond=nanosecond)
        writer.write_many(frames[:40], stamps[:40])
        for f, ts in zip(frames[40:], stamps[40:], strict=True):
            writer.write(f, ts)
    info = capinfos(path)
    assert info["Number of packets"] == "50"
    assert info["File encapsulation"] == "ether"
    digits = 9 if nanosecond else 6
    start = f"{T0 // 10**9}.{T0 % 10**9:09d}"[: 11 + digits]
    assert info["Start time"] == start
    assert info["End time"].startswith(str(stamps[-1] // 10**9))
    rows = tshark_rows(path, "frame.time_epoch", "frame.len", "frame.cap_len", "udp.srcport")
    assert len(rows) == 50
    for i, (epoch, wirelen, caplen, sport) in enumerate(rows):
        ns = stamps[i] if nanosecond else stamps[i] // 1000 * 1000
        assert epoch == f"{ns // 10**9}.{ns % 10**9:09d}"
        assert int(wirelen) == len(frames[i])
        assert int(caplen) == min(len(frames[i]), 200)
        assert sport == str(1000 + i)


@needs_tools
def test_pcap_other_link_type_and_byte_order(tmp_path: Path) -> None:
    path = tmp_path / "raw.pcap"
    packet = pk.ipv4("192.0.2.1", "192.0.2.2", 17, pk.udp(5, 6, b"x", src_ip="192.0.2.1",
                                                          dst_ip="192.0.2.2"))
    with path.open("wb") as fh:
        PcapWriter(fh, linktype=LINKTYPE_RAW, big_endian=True).write(packet, T0)
    assert capinfos(path)["File encapsulation"] == "rawip"
    assert tshark_rows(path, "udp.dstport") == [["6"]]


# ----------------------------------------------------------------------------- pcapng


def test_pcapng_block_layout() -> None:
    buf = io.BytesIO()
    writer = PcapngWriter(buf, user_application=None)
    shb = buf.getvalue()
    assert struct.unpack("<IIIHHqI", shb) == (0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    assert writer.add_interface(LINKTYPE_ETHERNET) == 0
    writer.write(0, b"abcde", 1_000_000_123_456)
    data = buf.getvalue()
    idb = data[28:48]
    assert struct.unpack("<IIHHII", idb) == (1, 20, 1, 0, 0, 20)
    epb = data[48:]
    block_type, total, iface, hi, lo, caplen, wirelen = struct.unpack_from("<IIIIIII", epb)
    assert (block_type, total, iface, caplen, wirelen) == (6, 40, 0, 5, 5)
    assert hi << 32 | lo == 1_000_000_123  # microseconds
    assert epb[28:36] == b"abcde\x00\x00\x00"
    assert struct.unpack_from("<I", epb, 36) == (40,)


def test_pcapng_errors() -> None:
    writer = PcapngWriter(io.BytesIO())
    with pytest.raises(ValueError, match="interface 0"):
        writer.write_simple(b"x")
    with pytest.raises(ValueError, match="no interface"):
        writer.write(0, b"x", T0)
    with pytest.raises(ValueError, match="tsresol"):
        writer.add_interface(1, tsresol=20)
    iface = writer.add_interface(1, snaplen=4)
    with pytest.raises(ValueError, match="wirelen"):
        writer.write(iface, b"xyz", T0, wirelen=2)
    writer.start_section()
    with pytest.raises(ValueError, match="no interface"):
        writer.write(iface, b"x", T0)


@needs_tools
def test_pcapng_read_back(tmp_path: Path) -> None:
    path = tmp_path / "out.pcapng"
    eth = frame(1, 100)
    raw = eth[14:]
    with path.open("wb") as fh:
        writer = PcapngWriter(fh)
        e0 = writer.add_interface(LINKTYPE_ETHERNET, name="eth0")
        r1 = writer.add_interface(LINKTYPE_RAW, snaplen=64, tsresol=9, name="raw0")
        b2 = writer.add_interface(LINKTYPE_ETHERNET, tsresol=0x80 | 20)
        writer.write(e0, eth, T0)
        writer.write_custom(0x0000DEAD, b"an unknown block type: must be skipped")
        writer.write(r1, raw, T0 + 1, comment="snap to 64")
        writer.write(b2, eth, T0 + 2)
        writer.write_simple(eth)
        writer.write_many(e0, [eth, eth], [T0 + 10_000, T0 + 20_000])
        assert writer.packets == 6
    info = capinfos(path)
    assert info["Number of packets"] == "6"
    assert info["File encapsulation"] == "per-packet"
    lines = capinfos_interfaces(path)
    assert "Number of interfaces in file: 3" in lines
    assert lines.count("Encapsulation = Ethernet (1 - ether)") == 2
    assert "Encapsulation = Raw IP (7 - rawip)" in lines
    assert "Time precision = nanoseconds (9)" in lines
    assert "Time ticks per second = 1048576" in lines
    assert "Capture length = 64" in lines
    rows = tshark_rows(path, "frame.interface_id", "frame.interface_name", "frame.time_epoch",
                       "frame.len", "frame.cap_len", "frame.comment", "udp.srcport")
    assert len(rows) == 6
    ids = [row[0] for row in rows]
    assert ids == ["0", "1", "2", "0", "0", "0"]
    assert rows[0][1] == "eth0"
    assert rows[1][1] == "raw0"
    assert rows[0][2] == "1767225600.123456000"  # microsecond interface
    assert rows[1][2] == "1767225600.123456790"  # nanosecond interface
    assert rows[2][2].startswith("1767225600.1234")  # 2^-20 s units
    assert (rows[1][3], rows[1][4]) == (str(len(raw)), "64")
    assert rows[1][5] == "snap to 64"
    assert rows[3][2] == ""  # a simple packet block has no timestamp
    assert rows[3][6] == "1001"
    assert rows[5][2] == "1767225600.123476000"


@needs_tools
def test_pcapng_big_endian_sections(tmp_path: Path) -> None:
    path = tmp_path / "be.pcapng"
    with path.open("wb") as fh:
        writer = PcapngWriter(fh, big_endian=True)
        writer.write(writer.add_interface(LINKTYPE_ETHERNET), frame(3), T0)
        writer.start_section()
        writer.write(writer.add_interface(LINKTYPE_ETHERNET, tsresol=9), frame(4), T0)
    rows = tshark_rows(path, "frame.time_epoch", "udp.srcport")
    assert rows == [["1767225600.123456000", "1003"], ["1767225600.123456789", "1004"]]
