"""pcapng reader: blocks, interfaces and their timestamp resolutions, sections, corruption."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.capture.pcap import MAX_RECORD
from otsight.capture.pcapng import _to_ns, _ts_params, read_pcapng
from otsight.capture.sources import read_stream
from otsight.capture.stream import ChunkReader
from otsight.core.errors import CaptureError

from .builders import (
    DSB,
    EPB,
    IDB,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_RAW,
    Endian,
    Frame,
    block,
    collect,
    collect_batches,
    custom_block,
    epb,
    frame_bytes,
    frames_of,
    idb,
    isb,
    nrb,
    pb,
    shb,
    spb,
    stream_of,
)

ENDIANS: list[Endian] = ["<", ">"]
SEC = 1_700_000_000
NS = 1_000_000_000


def read_bytes(data: bytes, batch_frames: int = 65536) -> tuple[list[Frame], CaptureError | None]:
    return collect(read_stream(io.BytesIO(data), "test.pcapng", batch_frames))


def read_ok(data: bytes, batch_frames: int = 65536) -> list[Frame]:
    frames, error = read_bytes(data, batch_frames)
    assert error is None, error
    return frames


# ---------------------------------------------------------------------------------------------
# basic blocks


@pytest.mark.parametrize("endian", ENDIANS)
def test_shb_idb_epb(endian: Endian) -> None:
    payloads = [frame_bytes(i, n) for i, n in enumerate([60, 61, 62, 63, 1514, 0])]
    data = shb(endian) + idb(LINKTYPE_ETHERNET, 65535, endian)
    for i, p in enumerate(payloads):
        data += epb(0, (SEC + i) * 1_000_000 + 250, p, endian=endian)
    frames = read_ok(data)
    assert [f.data for f in frames] == payloads
    assert [f.caplen for f in frames] == [len(p) for p in payloads]
    assert [f.wirelen for f in frames] == [len(p) for p in payloads]
    assert [f.ts_ns for f in frames] == [(SEC + i) * NS + 250_000 for i in range(len(payloads))]
    assert [f.linktype for f in frames] == [LINKTYPE_ETHERNET] * len(payloads)
    assert [f.number for f in frames] == list(range(1, len(payloads) + 1))


@pytest.mark.parametrize("endian", ENDIANS)
def test_epb_snaplen_truncated_keeps_wire_length(endian: Endian) -> None:
    data = shb(endian) + idb(snaplen=64, endian=endian)
    data += epb(0, 1, frame_bytes(0, 64), wirelen=1514, endian=endian)
    (frame,) = read_ok(data)
    assert (frame.caplen, frame.wirelen, frame.data) == (64, 1514, frame_bytes(0, 64))


@pytest.mark.parametrize("endian", ENDIANS)
def test_epb_options_are_ignored(endian: Endian) -> None:
    opts = [
        (1, b"a comment that is not a multiple of four"),  # opt_comment
        (2, struct.pack(endian + "I", 1)),  # epb_flags: inbound
        (3, b"\x02" + bytes(16)),  # epb_hash
        (4, struct.pack(endian + "Q", 7)),  # epb_dropcount
    ]
    payloads = [frame_bytes(1, 5), frame_bytes(2, 8), frame_bytes(3, 0)]
    data = shb(endian) + idb(endian=endian)
    for p in payloads:
        data += epb(0, 1_000_000, p, endian=endian, opts=opts)
    data += epb(0, 2_000_000, b"plain", endian=endian)
    frames = read_ok(data)
    assert [f.data for f in frames] == [*payloads, b"plain"]
    assert [f.ts_ns for f in frames] == [NS] * 3 + [2 * NS]


def test_section_and_idb_options_are_ignored() -> None:
    data = shb(opts=[(2, b"x86_64"), (3, b"Linux"), (4, b"otsight tests")])
    data += idb(extra_opts=[(2, b"eth0"), (3, b"the eth"), (10, b"\x00" * 8), (11, b"\x00tcp")])
    data += epb(0, 3_000_000, b"abc")
    (frame,) = read_ok(data)
    assert (frame.data, frame.ts_ns) == (b"abc", 3 * NS)


@pytest.mark.parametrize("endian", ENDIANS)
def test_only_section_header_or_interfaces_is_fine(endian: Endian) -> None:
    assert read_ok(shb(endian)) == []
    assert read_ok(shb(endian) + idb(endian=endian) + idb(LINKTYPE_RAW, endian=endian)) == []


# ---------------------------------------------------------------------------------------------
# interfaces and timestamps


@pytest.mark.parametrize("endian", ENDIANS)
def test_interfaces_with_own_link_type_resolution_and_offset(endian: Endian) -> None:
    data = shb(endian)
    data += idb(LINKTYPE_ETHERNET, endian=endian)  # 0: default 10^-6
    data += idb(LINKTYPE_RAW, endian=endian, tsresol=9)  # 1: 10^-9
    data += idb(LINKTYPE_LINUX_SLL, endian=endian, tsresol=0x80 | 10)  # 2: 2^-10
    data += idb(LINKTYPE_IPV4, endian=endian, tsresol=6, tsoffset=100)  # 3: offset 100 s
    data += idb(LINKTYPE_ETHERNET, endian=endian, tsresol=3, tsoffset=-10)  # 4: ms, -10 s
    data += idb(LINKTYPE_RAW, endian=endian, tsresol=12)  # 5: picoseconds
    data += idb(LINKTYPE_RAW, endian=endian, tsresol=0x80 | 40)  # 6: 2^-40
    data += idb(LINKTYPE_RAW, endian=endian, tsresol=0)  # 7: seconds
    cases = [
        (0, SEC * 1_000_000 + 999_999, SEC * NS + 999_999_000, LINKTYPE_ETHERNET),
        (1, SEC * NS + 123_456_789, SEC * NS + 123_456_789, LINKTYPE_RAW),
        (2, SEC * 1024 + 512, SEC * NS + 500_000_000, LINKTYPE_LINUX_SLL),
        (2, SEC * 1024 + 1, SEC * NS + 976_562, LINKTYPE_LINUX_SLL),  # floor(1e9 / 1024)
        (2, SEC * 1024 + 1023, SEC * NS + 999_023_437, LINKTYPE_LINUX_SLL),
        (3, SEC * 1_000_000 + 1, (SEC + 100) * NS + 1_000, LINKTYPE_IPV4),
        (4, SEC * 1000 + 7, (SEC - 10) * NS + 7_000_000, LINKTYPE_ETHERNET),
        (5, 5 * 10**12 + 1_999, 5 * NS + 1, LINKTYPE_RAW),  # sub-ns part floored
        (6, 3 * 2**40 + 2**39, 3 * NS + 500_000_000, LINKTYPE_RAW),
        (6, 3 * 2**40 + 2**40 - 1, 3 * NS + 999_999_999, LINKTYPE_RAW),
        (7, SEC, SEC * NS, LINKTYPE_RAW),
        (0, 0, 0, LINKTYPE_ETHERNET),
    ]
    for i, (iface, units, _, _) in enumerate(cases):
        data += epb(iface, units, frame_bytes(i, 20 + i), endian=endian)
    frames = read_ok(data)
    assert [(f.ts_ns, f.linktype) for f in frames] == [(ts, lt) for _, _, ts, lt in cases]
    assert [f.data for f in frames] == [frame_bytes(i, 20 + i) for i in range(len(cases))]


@settings(max_examples=300, deadline=None, database=None)
@given(tsresol=st.integers(0, 255), units=st.integers(0, 2**64 - 1))
def test_timestamp_conversion_is_exact(tsresol: int, units: int) -> None:
    """units -> ns equals exact integer arithmetic (floored) whenever the result fits int64."""
    if tsresol & 0x80:
        shift = tsresol & 0x7F
        exact = (units * NS) >> shift if shift < 63 else 0
    else:
        exact = units * NS // 10**tsresol if tsresol <= 27 else units // 10**18
    if exact >= 2**63:
        return
    mul, div, shift = _ts_params(tsresol)
    hi, lo = np.int64(units >> 32), np.int64(units & 0xFFFFFFFF)
    ns = _to_ns(hi, lo, np.int64(mul), np.int64(div), np.int64(shift))
    assert int(ns) == exact


@pytest.mark.parametrize(
    ("tsresol", "units", "ts_ns"),
    [
        (10, 17_000_000_001_234_567_891, 1_700_000_000_123_456_789),  # 10^-10 s, today
        (0x80 | 33, 1_700_000_000 * 2**33 + 2**32, 1_700_000_000_500_000_000),  # 2^-33 s, today
        (0x80 | 32, 2**63 + 2**31, 2**31 * NS + 500_000_000),  # 2^-32 s, year 2038
        (9, 2**63 - 1, 2**63 - 1),
    ],
)
def test_timestamps_beyond_2_to_the_63_units(tsresol: int, units: int, ts_ns: int) -> None:
    data = shb() + idb(tsresol=tsresol) + epb(0, units, b"e") + pb(0, units, b"p")
    frames = read_ok(data)
    assert [f.ts_ns for f in frames] == [ts_ns, ts_ns]


def test_large_tsoffset_does_not_crash() -> None:
    """if_tsoffset is any signed 64-bit number of seconds; in ns it can exceed int64."""
    for offset in (2**62, -(2**63), 2**63 - 1):
        data = shb() + idb(tsoffset=offset) + epb(0, 1, b"abc")
        frames, error = read_bytes(data)
        assert error is None
        assert [f.data for f in frames] == [b"abc"]


# ---------------------------------------------------------------------------------------------
# simple and obsolete packet blocks


@pytest.mark.parametrize("endian", ENDIANS)
def test_spb_uses_interface_0_snaplen(endian: Endian) -> None:
    data = shb(endian) + idb(LINKTYPE_RAW, snaplen=32, endian=endian)
    data += idb(LINKTYPE_ETHERNET, snaplen=0, endian=endian)  # never used by an SPB
    data += spb(frame_bytes(0, 64), wirelen=200, endian=endian)  # block holds 64, snaplen 32
    data += spb(frame_bytes(1, 10), endian=endian)  # padded to 12: caplen is orig (10)
    data += spb(frame_bytes(2, 32), wirelen=1500, endian=endian)
    frames = read_ok(data)
    assert [(f.caplen, f.wirelen) for f in frames] == [(32, 200), (10, 10), (32, 1500)]
    assert [f.data for f in frames] == [frame_bytes(0, 32), frame_bytes(1, 10), frame_bytes(2, 32)]
    assert {f.linktype for f in frames} == {LINKTYPE_RAW}
    assert {f.ts_ns for f in frames} == {0}  # an SPB has no timestamp


def test_spb_without_snaplen_uses_original_length() -> None:
    data = shb() + idb(snaplen=0) + spb(frame_bytes(0, 100), wirelen=100)
    data += spb(frame_bytes(1, 51), wirelen=51)
    frames = read_ok(data)
    assert [(f.caplen, f.wirelen) for f in frames] == [(100, 100), (51, 51)]
    assert frames[1].data == frame_bytes(1, 51)


@pytest.mark.parametrize(("snaplen", "held", "orig"), [(0, 50, 9000), (64, 50, 9000), (0, 48, 49)])
def test_spb_too_short_for_its_captured_length_is_corrupt(
    snaplen: int, held: int, orig: int
) -> None:
    """As in Wireshark: captured length is min(orig, snaplen); the block must hold it all
    (otherwise the padding bytes would be handed out as packet data)."""
    data = shb() + idb(snaplen=snaplen) + spb(b"good") + spb(frame_bytes(1, held), wirelen=orig)
    frames, error = read_bytes(data)
    assert [f.data for f in frames] == [b"good"]
    assert error is not None
    assert "corrupt" in error.reason
    assert error.packets == 1


def test_spb_before_any_interface_is_an_error() -> None:
    frames, error = read_bytes(shb() + spb(b"abcd"))
    assert frames == []
    assert error is not None
    assert "interface" in error.reason
    assert error.packets == 0


@pytest.mark.parametrize("endian", ENDIANS)
def test_obsolete_packet_block(endian: Endian) -> None:
    data = shb(endian) + idb(LINKTYPE_ETHERNET, endian=endian)
    data += idb(LINKTYPE_RAW, endian=endian, tsresol=9)
    data += pb(1, SEC * NS + 5, frame_bytes(0, 33), endian=endian)
    data += pb(0, SEC * 1_000_000 + 5, frame_bytes(1, 60), wirelen=80, endian=endian)
    data += epb(1, 7, b"new", endian=endian)
    frames = read_ok(data)
    assert [(f.ts_ns, f.linktype, f.caplen, f.wirelen) for f in frames] == [
        (SEC * NS + 5, LINKTYPE_RAW, 33, 33),
        (SEC * NS + 5_000, LINKTYPE_ETHERNET, 60, 80),
        (7, LINKTYPE_RAW, 3, 3),
    ]
    assert frames[0].data == frame_bytes(0, 33)


# ---------------------------------------------------------------------------------------------
# other blocks are skipped


@pytest.mark.parametrize("endian", ENDIANS)
def test_unknown_custom_nrb_isb_dsb_blocks_are_skipped(endian: Endian) -> None:
    others = [
        nrb(endian),
        isb(0, endian),
        custom_block(True, endian),
        custom_block(False, endian),
        block(DSB, struct.pack(endian + "II", 0x544C534B, 5) + b"keys!", endian),
        block(0x12345678, b"unknown block body", endian),
        block(0x80000001, b"local use", endian),
        block(0x0000000B, b"", endian),  # an empty unknown block: 12 bytes
    ]
    data = shb(endian) + idb(endian=endian)
    expected: list[bytes] = []
    for i, other in enumerate(others):
        data += other
        payload = frame_bytes(i, 40 + i)
        data += epb(0, i, payload, endian=endian) + other
        expected.append(payload)
    for batch_frames in (1, 65536):
        frames = read_ok(data, batch_frames)
        assert [f.data for f in frames] == expected
        assert [f.number for f in frames] == list(range(1, len(expected) + 1))


def test_interface_declared_between_packets() -> None:
    data = shb() + idb() + epb(0, 1, b"a") + isb() + idb(LINKTYPE_RAW) + epb(1, 2, b"b")
    frames = read_ok(data)
    assert [(f.data, f.linktype) for f in frames] == [(b"a", 1), (b"b", LINKTYPE_RAW)]


# ---------------------------------------------------------------------------------------------
# sections


def test_two_sections_with_different_byte_orders() -> None:
    first = shb("<") + idb(LINKTYPE_ETHERNET) + idb(LINKTYPE_RAW, tsresol=9)
    first += epb(0, SEC * 1_000_000, b"le-0") + epb(1, SEC * NS + 1, b"le-1")
    second = shb(">") + idb(LINKTYPE_IPV4, endian=">", tsresol=9)
    second += epb(0, SEC * NS + 2, b"be-0", endian=">") + spb(b"be-spb", endian=">")
    second += nrb(">") + pb(0, 3, b"be-pb", endian=">")
    frames = read_ok(first + second + first)
    assert [(f.data, f.linktype, f.ts_ns) for f in frames] == [
        (b"le-0", LINKTYPE_ETHERNET, SEC * NS),
        (b"le-1", LINKTYPE_RAW, SEC * NS + 1),
        (b"be-0", LINKTYPE_IPV4, SEC * NS + 2),
        (b"be-spb", LINKTYPE_IPV4, 0),
        (b"be-pb", LINKTYPE_IPV4, 3),
        (b"le-0", LINKTYPE_ETHERNET, SEC * NS),
        (b"le-1", LINKTYPE_RAW, SEC * NS + 1),
    ]
    assert [f.number for f in frames] == list(range(1, 8))


def test_new_section_resets_interfaces() -> None:
    data = shb() + idb() + idb(LINKTYPE_RAW) + epb(1, 1, b"ok")
    data += shb(">") + idb(endian=">") + epb(0, 1, b"ok", endian=">")
    data += epb(1, 1, b"interface 1 belonged to the first section", endian=">")
    frames, error = read_bytes(data)
    assert len(frames) == 2
    assert error is not None
    assert "undeclared interface" in error.reason
    assert error.packets == 2


def test_bad_byte_order_magic() -> None:
    bad = bytearray(shb())
    bad[8:12] = b"\x01\x02\x03\x04"
    frames, error = read_bytes(bytes(bad) + idb() + epb(0, 1, b"x"))
    assert frames == []
    assert error is not None
    assert "byte-order" in error.reason


# ---------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("batch_frames", [2, 65536])
@pytest.mark.parametrize("packet_block", ["epb", "pb"])
def test_undeclared_interface(batch_frames: int, packet_block: str) -> None:
    data = shb() + idb() + b"".join(epb(0, i, b"good") for i in range(5))
    data += epb(3, 0, b"bad") if packet_block == "epb" else pb(1, 0, b"bad")
    data += epb(0, 0, b"never")
    frames, error = read_bytes(data, batch_frames)
    assert [f.data for f in frames] == [b"good"] * 5
    assert error is not None
    assert "undeclared interface" in error.reason
    assert error.packets == 5
    assert error.source == "test.pcapng"


@pytest.mark.parametrize("endian", ENDIANS)
@pytest.mark.parametrize("which", ["epb", "spb", "pb", "idb", "nrb", "custom", "unknown"])
def test_block_trailer_length_mismatch(endian: Endian, which: str) -> None:
    good = shb(endian) + idb(endian=endian) + epb(0, 1, b"good", endian=endian)
    bad = {
        "epb": epb(0, 1, b"payload", endian=endian),
        "spb": spb(b"payload", endian=endian),
        "pb": pb(0, 1, b"payload", endian=endian),
        "idb": idb(endian=endian),
        "nrb": nrb(endian),
        "custom": custom_block(True, endian),
        "unknown": block(0x12345678, b"payload", endian),
    }[which]
    corrupt = bad[:-4] + struct.pack(endian + "I", len(bad) + 4)
    frames, error = read_bytes(good + corrupt + epb(0, 1, b"after", endian=endian))
    assert [f.data for f in frames] == [b"good"]
    assert error is not None
    assert error.packets == 1
    assert "corrupt" in error.reason or "disagree" in error.reason


@pytest.mark.parametrize("btype", [EPB, IDB, 0x12345678])
@pytest.mark.parametrize("length", [0, 8, 13, 30, (16 << 20) + 4])
def test_corrupt_block_length(btype: int, length: int) -> None:
    good = shb() + idb() + epb(0, 1, b"good")
    bad = struct.pack("<II", btype, length) + bytes(64)
    frames, error = read_bytes(good + bad)
    assert [f.data for f in frames] == [b"good"]
    assert error is not None
    assert error.packets == 1


def test_epb_captured_length_beyond_block_is_corrupt() -> None:
    good = shb() + idb() + epb(0, 1, b"good")
    bad = bytearray(epb(0, 1, b"12345678"))
    struct.pack_into("<I", bad, 20, 9)  # captured length 9 > 8 bytes of data in the block
    frames, error = read_bytes(good + bytes(bad))
    assert len(frames) == 1
    assert error is not None
    assert "corrupt" in error.reason


def test_epb_larger_than_max_record_is_corrupt() -> None:
    good = shb() + idb() + epb(0, 1, b"good")
    frames, error = read_bytes(good + epb(0, 1, bytes(MAX_RECORD + 4)))
    assert len(frames) == 1
    assert error is not None
    assert "corrupt" in error.reason


@pytest.mark.parametrize("cut", [1, 4, 8, 11, 12, 13, 30, 60])
@pytest.mark.parametrize("last", ["epb", "isb", "spb"])
@pytest.mark.parametrize("batch_frames", [3, 65536])
def test_truncated_last_block(cut: int, last: str, batch_frames: int) -> None:
    data = shb() + idb() + b"".join(epb(0, i, frame_bytes(i, 50)) for i in range(7))
    tail = {"epb": epb(0, 9, bytes(100)), "isb": isb(), "spb": spb(bytes(100))}[last]
    cut = min(cut, len(tail) - 1)
    frames, error = read_bytes(data + tail[:-cut], batch_frames)
    assert [f.data for f in frames] == [frame_bytes(i, 50) for i in range(7)]
    assert error is not None
    assert "truncated" in error.reason
    assert error.packets == 7


def test_truncated_section_header() -> None:
    frames, error = read_bytes(shb()[:10])
    assert frames == []
    assert error is not None
    assert "truncated" in error.reason


# ---------------------------------------------------------------------------------------------
# batching and chunking


def test_frame_numbering_continuous_across_batches() -> None:
    data = shb() + idb() + b"".join(epb(0, i, b"x") for i in range(10))
    batches, error = collect_batches(read_stream(io.BytesIO(data), "n", 4))
    assert error is None
    assert [b.first_frame for b in batches] == [1, 5, 9]
    assert [f.number for f in frames_of(batches)] == list(range(1, 11))


@pytest.mark.parametrize("batch_frames", [1, 9, 65536])
@pytest.mark.parametrize("step", [None, 5003])
def test_blocks_straddling_chunk_boundaries(batch_frames: int, step: int | None) -> None:
    """Packet and non-packet blocks cut by chunk boundaries are carried over."""
    data = shb() + idb() + idb(LINKTYPE_RAW, tsresol=9)
    expected: list[tuple[bytes, int, int]] = []
    for i in range(300):
        payload = frame_bytes(i, 14 + (i * 397) % 1500)
        if i % 3 == 2:
            data += spb(payload)
            expected.append((payload, LINKTYPE_ETHERNET, 0))
        else:
            iface = i % 2
            units = SEC * (NS if iface else 1_000_000) + i
            data += epb(iface, units, payload)
            expected.append(
                (payload, LINKTYPE_RAW if iface else 1, SEC * NS + i * (1 if iface else 1000))
            )
        if i % 17 == 0:
            data += custom_block() + block(0x12345678, bytes(3000))
    reader = ChunkReader(stream_of(data, step), chunk_size=1000)
    batches, error = collect_batches(read_pcapng(reader, "chunks", batch_frames))
    assert error is None
    assert len({id(b.buf) for b in batches}) >= 3
    frames = list(frames_of(batches))
    assert [(f.data, f.linktype, f.ts_ns) for f in frames] == expected
    assert [f.number for f in frames] == list(range(1, 301))


def test_big_non_packet_block_larger_than_chunk() -> None:
    data = shb() + idb() + epb(0, 1, b"a") + block(0x12345678, bytes(300_000)) + epb(0, 2, b"b")
    reader = ChunkReader(io.BytesIO(data), chunk_size=1000)
    frames, error = collect(read_pcapng(reader, "big"))
    assert error is None
    assert [f.data for f in frames] == [b"a", b"b"]
