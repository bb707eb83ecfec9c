"""Classic pcap reader: formats, byte orders, truncation, corruption, chunking and batching."""

from __future__ import annotations

import io

import pytest

from otsight.capture.pcap import MAX_RECORD, read_pcap
from otsight.capture.sources import read_stream
from otsight.capture.stream import CHUNK_SIZE, ChunkReader
from otsight.core.errors import CaptureError

from .builders import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_RAW,
    Endian,
    Frame,
    PcapKind,
    Rec,
    build_pcap,
    collect,
    collect_batches,
    frame_bytes,
    frames_of,
    pcap_header,
    pcap_record,
    raw_pcap_record,
    simple_records,
    stream_of,
)

ENDIANS: list[Endian] = ["<", ">"]


def read_bytes(data: bytes, batch_frames: int = 65536) -> tuple[list[Frame], CaptureError | None]:
    return collect(read_stream(io.BytesIO(data), "test.pcap", batch_frames))


def expected_ts(kind: PcapKind, rec: Rec) -> int:
    return rec.sec * 1_000_000_000 + rec.frac * (1 if kind == "nsec" else 1000)


def check_frames(frames: list[Frame], records: list[Rec], kind: PcapKind, linktype: int) -> None:
    assert len(frames) == len(records)
    for i, (frame, rec) in enumerate(zip(frames, records, strict=True)):
        assert frame.number == i + 1
        assert frame.data == rec.data
        assert frame.caplen == len(rec.data)
        assert frame.wirelen == (len(rec.data) if rec.wirelen is None else rec.wirelen)
        assert frame.ts_ns == expected_ts(kind, rec)
        assert frame.linktype == linktype


# ---------------------------------------------------------------------------------------------
# formats


@pytest.mark.parametrize("endian", ENDIANS)
@pytest.mark.parametrize("kind", ["usec", "nsec", "modified"])
def test_formats_and_byte_orders(kind: PcapKind, endian: Endian) -> None:
    frac_max = 999_999_999 if kind == "nsec" else 999_999
    records = [
        Rec(1_700_000_000, 123, frame_bytes(0, 60)),
        Rec(1_700_000_001, frac_max, frame_bytes(1, 1514)),
        Rec(0, 0, frame_bytes(2, 14)),
        Rec(0xFFFFFFFF, frac_max, frame_bytes(3, 99)),  # largest unsigned seconds
    ]
    data = build_pcap(records, kind=kind, endian=endian, linktype=LINKTYPE_RAW)
    frames, error = read_bytes(data)
    assert error is None
    check_frames(frames, records, kind, LINKTYPE_RAW)


@pytest.mark.parametrize(
    ("kind", "sec", "frac", "ts_ns"),
    [
        ("usec", 1_700_000_000, 1, 1_700_000_000_000_001_000),
        ("usec", 0xFFFFFFFF, 999_999, 4_294_967_295_999_999_000),
        ("nsec", 1_700_000_000, 1, 1_700_000_000_000_000_001),
        ("nsec", 0xFFFFFFFF, 999_999_999, 4_294_967_295_999_999_999),
        ("modified", 1_234_567_890, 654_321, 1_234_567_890_654_321_000),
    ],
)
def test_timestamps_exact_to_the_nanosecond(
    kind: PcapKind, sec: int, frac: int, ts_ns: int
) -> None:
    frames, error = read_bytes(build_pcap([Rec(sec, frac, b"\x01\x02")], kind=kind))
    assert error is None
    assert [f.ts_ns for f in frames] == [ts_ns]


@pytest.mark.parametrize("linktype", [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, 147])
def test_linktype_from_global_header(linktype: int) -> None:
    frames, _ = read_bytes(build_pcap(simple_records(3), linktype=linktype))
    assert {f.linktype for f in frames} == {linktype}


def test_linktype_fcs_bits_are_not_part_of_the_link_type() -> None:
    # LINKTYPE_EXT: FCS length in bits 28-31 and the "FCS length present" P bit 26
    # (libpcap's LT_LINKTYPE() keeps only the low 16 bits).
    ext = (4 << 28) | 0x04000000 | LINKTYPE_ETHERNET
    frames, _ = read_bytes(build_pcap(simple_records(2), linktype=ext))
    assert {f.linktype for f in frames} == {LINKTYPE_ETHERNET}


def test_modified_format_uses_24_byte_record_headers() -> None:
    records = simple_records(20)
    data = build_pcap(records, kind="modified")
    assert len(data) == 24 + sum(24 + len(r.data) for r in records)
    frames, error = read_bytes(data)
    assert error is None
    check_frames(frames, records, "modified", LINKTYPE_ETHERNET)


# ---------------------------------------------------------------------------------------------
# record lengths


@pytest.mark.parametrize("endian", ENDIANS)
def test_snaplen_truncated_records_keep_wire_length(endian: Endian) -> None:
    records = [Rec(1, 0, frame_bytes(i, 68), wirelen=1514 + i) for i in range(5)]
    frames, error = read_bytes(build_pcap(records, endian=endian, snaplen=68))
    assert error is None
    assert [(f.caplen, f.wirelen) for f in frames] == [(68, 1514 + i) for i in range(5)]
    assert all(f.data == r.data for f, r in zip(frames, records, strict=True))


def test_zero_length_records() -> None:
    records = [Rec(1, 0, b""), Rec(2, 0, b"abc"), Rec(3, 0, b"", wirelen=60), Rec(4, 0, b"")]
    frames, error = read_bytes(build_pcap(records))
    assert error is None
    check_frames(frames, records, "usec", LINKTYPE_ETHERNET)


def test_largest_allowed_record() -> None:
    records = [Rec(1, 0, frame_bytes(0, MAX_RECORD)), Rec(2, 0, b"tail")]
    frames, error = read_bytes(build_pcap(records))
    assert error is None
    assert [f.caplen for f in frames] == [MAX_RECORD, 4]
    assert frames[0].data == records[0].data


@pytest.mark.parametrize("kind", ["usec", "nsec", "modified"])
@pytest.mark.parametrize("endian", ENDIANS)
def test_header_only_file_has_no_packets_and_no_error(kind: PcapKind, endian: Endian) -> None:
    frames, error = read_bytes(pcap_header(kind, endian))
    assert frames == []
    assert error is None


@pytest.mark.parametrize("size", [4, 10, 23])
def test_truncated_global_header(size: int) -> None:
    data = pcap_header()[:size]
    frames, error = read_bytes(data)
    assert frames == []
    assert error is not None
    assert "truncated" in error.reason
    assert error.packets == 0
    # the same through the reader directly
    frames, error = collect(read_pcap(ChunkReader(io.BytesIO(data)), "direct"))
    assert frames == []
    assert error is not None
    assert error.source == "direct"


@pytest.mark.parametrize("kind", ["usec", "nsec", "modified"])
@pytest.mark.parametrize("cut", [1, 3, 15, 16, 17, 23, 60])
@pytest.mark.parametrize("batch_frames", [3, 65536])
def test_truncated_last_record(kind: PcapKind, cut: int, batch_frames: int) -> None:
    """Cut inside the last record's header or data: good packets, then CaptureError."""
    records = simple_records(10, size=61)
    data = build_pcap(records, kind=kind)
    frames, error = read_bytes(data[:-cut], batch_frames)
    assert error is not None
    assert "truncat" in error.reason
    assert error.packets == len(frames) == 9
    check_frames(frames, records[:9], kind, LINKTYPE_ETHERNET)


@pytest.mark.parametrize("endian", ENDIANS)
@pytest.mark.parametrize("batch_frames", [4, 65536])
def test_corrupt_record_length_after_good_batches(endian: Endian, batch_frames: int) -> None:
    records = simple_records(10)
    data = build_pcap(records, endian=endian)
    data += raw_pcap_record(5, 0, MAX_RECORD + 1, 60, b"\0" * 64, endian=endian)
    data += pcap_record(Rec(6, 0, b"never reached"), endian)
    batches, error = collect_batches(read_stream(io.BytesIO(data), "corrupt.pcap", batch_frames))
    frames = list(frames_of(batches))
    assert error is not None
    assert "corrupt" in error.reason
    assert str(MAX_RECORD) in error.reason
    assert error.packets == len(frames) == 10
    assert error.source == "corrupt.pcap"
    check_frames(frames, records, "usec", LINKTYPE_ETHERNET)
    if batch_frames == 4:
        assert [b.first_frame for b in batches] == [1, 5, 9]


def test_corrupt_length_in_a_cut_off_header_is_truncation() -> None:
    data = build_pcap(simple_records(3)) + raw_pcap_record(1, 0, 0xFFFFFFFF, 1, b"")[:10]
    frames, error = read_bytes(data)
    assert len(frames) == 3
    assert error is not None
    assert "truncat" in error.reason
    assert error.packets == 3


# ---------------------------------------------------------------------------------------------
# chunking and batching


def test_frame_numbering_continuous_across_batches() -> None:
    records = simple_records(10)
    batches, error = collect_batches(read_stream(io.BytesIO(build_pcap(records)), "n", 3))
    assert error is None
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [b.first_frame for b in batches] == [1, 4, 7, 10]
    assert [f.number for f in frames_of(batches)] == list(range(1, 11))


@pytest.mark.parametrize("kind", ["usec", "nsec", "modified"])
@pytest.mark.parametrize("batch_frames", [1, 7, 1000, 65536])
@pytest.mark.parametrize("step", [None, 4093])
def test_records_straddling_chunk_boundaries(
    kind: PcapKind, batch_frames: int, step: int | None
) -> None:
    """A small chunk size forces many refills; records cut by a boundary are carried over.

    All batches are collected first and checked afterwards: a batch must stay valid after the
    reader has moved on to a new chunk.
    """
    records = simple_records(400)  # ~300 KB, sizes 14..1513: boundaries fall mid-record
    data = build_pcap(records, kind=kind)
    reader = ChunkReader(stream_of(data, step), chunk_size=1000)
    batches, error = collect_batches(read_pcap(reader, "chunks", batch_frames))
    assert error is None
    assert len({id(b.buf) for b in batches}) >= 3, "expected several chunks"
    check_frames(list(frames_of(batches)), records, kind, LINKTYPE_ETHERNET)


def test_record_larger_than_chunk() -> None:
    records = [Rec(i, 0, frame_bytes(i, MAX_RECORD - i)) for i in range(4)]
    reader = ChunkReader(io.BytesIO(build_pcap(records)), chunk_size=4096)
    frames, error = collect(read_pcap(reader, "big", 2))
    assert error is None
    check_frames(frames, records, "usec", LINKTYPE_ETHERNET)


def test_real_16_mib_chunk_boundary() -> None:
    """Default chunk size: a ~17 MiB file crosses the 16 MiB boundary mid-record."""
    size = 1499  # odd size: the boundary cannot fall on a record edge by construction
    count = CHUNK_SIZE // (16 + size) + 700
    records = [Rec(i, i % 1_000_000, frame_bytes(i, size)) for i in range(count)]
    data = build_pcap(records)
    assert len(data) > CHUNK_SIZE
    boundary_record = (CHUNK_SIZE - 24) // (16 + size)
    start = 24 + boundary_record * (16 + size)
    assert start < CHUNK_SIZE < start + 16 + size  # a record straddles the boundary
    batches, error = collect_batches(read_stream(io.BytesIO(data), "big.pcap", 4096))
    assert error is None
    assert len({id(b.buf) for b in batches}) == 2
    frames = list(frames_of(batches))
    assert len(frames) == count
    for i in (0, boundary_record - 1, boundary_record, boundary_record + 1, count - 1):
        assert frames[i].data == records[i].data
        assert frames[i].ts_ns == expected_ts("usec", records[i])
    assert all(f.caplen == size for f in frames)


def test_truncation_after_chunk_boundary_counts_all_packets() -> None:
    records = simple_records(400)
    data = build_pcap(records)[:-5]
    reader = ChunkReader(io.BytesIO(data), chunk_size=1000)
    frames, error = collect(read_pcap(reader, "t", 50))
    assert error is not None
    assert "truncat" in error.reason
    assert error.packets == len(frames) == 399
