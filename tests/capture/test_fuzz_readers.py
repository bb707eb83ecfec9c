"""Fuzzing the capture readers: only CaptureError may escape, nothing hangs, batches are sane.

Every test here runs twice: with the kernels compiled by numba, and once more (with fewer
examples) by :func:`test_kernels_stay_in_bounds_without_jit` in a subprocess with
``NUMBA_DISABLE_JIT=1``, where the kernels run as plain Python over numpy arrays, so an
out-of-bounds read raises IndexError instead of silently reading garbage. In that mode the
kernels are also handed ``buf[:end]``, so reading past the filled part of a chunk (which is still
inside the allocation) raises too.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otsight.capture.pcap as pcap_module
import otsight.capture.pcapng as pcapng_module
from otsight.capture.pcap import MAX_RECORD, read_pcap
from otsight.capture.pcapng import read_pcapng
from otsight.capture.sources import read_stream
from otsight.capture.stream import ChunkReader
from otsight.core.errors import CaptureError
from otsight.testing.nojit import rerun_without_jit

from .builders import (
    LINKTYPE_RAW,
    Endian,
    PcapKind,
    Rec,
    block,
    build_pcap,
    collect,
    compress,
    custom_block,
    epb,
    frame_bytes,
    frames_of,
    idb,
    isb,
    make_zip,
    nrb,
    pb,
    pcap_header,
    shb,
    simple_records,
    spb,
    stream_of,
)

NOJIT = os.environ.get("NUMBA_DISABLE_JIT", "") not in ("", "0")
EXAMPLES = int(os.environ.get("OTSIGHT_FUZZ_EXAMPLES", "200"))
NS = 1_000_000_000

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # leave no .hypothesis directory in a shared tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# A hang must fail the run: the thread method works even inside compiled code.
no_hang = pytest.mark.timeout(300, method="thread")


@pytest.fixture(autouse=True, scope="module")
def _kernels_see_only_filled_bytes() -> Iterator[None]:
    """Without JIT, hand the kernels ``buf[:end]`` so any read at or past ``end`` raises."""
    if not NOJIT:
        yield
        return

    def clip(kernel: Callable[..., Any]) -> Callable[..., Any]:
        def clipped(buf: Any, pos: int, end: int, *rest: Any) -> Any:
            return kernel(buf[:end], pos, end, *rest)

        return clipped

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pcap_module, "scan_pcap_records", clip(pcap_module.scan_pcap_records))
        mp.setattr(pcapng_module, "scan_pcapng_blocks", clip(pcapng_module.scan_pcapng_blocks))
        yield


def feed(data: bytes, batch_frames: int = 65536, step: int | None = None) -> int:
    """Read ``data`` to the end; only CaptureError may escape. Returns the frames read."""
    per_source: dict[str, int] = {}
    error: CaptureError | None = None
    try:
        for frame in frames_of(read_stream(stream_of(data, step), "fuzz", batch_frames)):
            assert frame.caplen <= MAX_RECORD
            per_source[frame.source] = per_source.get(frame.source, 0) + 1
    except CaptureError as exc:
        error = exc
    if error is not None:
        assert error.reason
        assert error.source.startswith("fuzz")
        assert error.packets == per_source.get(error.source, 0), "packets count disagrees"
    return sum(per_source.values())


# ---------------------------------------------------------------------------------------------
# corpus of small valid files


def _rich_pcapng(endian: Endian) -> bytes:
    data = shb(endian, [(4, b"fuzz corpus")])
    data += idb(1, 0, endian, extra_opts=[(2, b"eth0")])
    data += idb(LINKTYPE_RAW, 128, endian, tsresol=9, tsoffset=-5)
    data += idb(113, 64, endian, tsresol=0x8A)
    for i in range(12):
        data += epb(
            i % 3,
            i * 1000 + 7,
            frame_bytes(i, 10 + i * 3),
            endian=endian,
            opts=[(1, b"c" * (i % 5)), (2, struct.pack(endian + "I", 1))] if i % 4 == 0 else (),
        )
        if i % 5 == 0:
            data += spb(frame_bytes(i, 20), endian=endian) + pb(1, i, b"old", endian=endian)
        if i % 6 == 1:
            data += nrb(endian) + isb(1, endian) + custom_block(i % 2 == 0, endian)
            data += block(0x12345678, b"unknown", endian)
    return data


PCAP_USEC = build_pcap(simple_records(12, size=40))
PCAP_NSEC_BE = build_pcap(simple_records(9), kind="nsec", endian=">")
PCAP_MODIFIED = build_pcap(simple_records(10, size=33), kind="modified")
PCAPNG_LE = _rich_pcapng("<")
PCAPNG_TWO = _rich_pcapng("<") + _rich_pcapng(">")

PLAIN: dict[str, bytes] = {
    "pcap-usec": PCAP_USEC,
    "pcap-nsec-be": PCAP_NSEC_BE,
    "pcap-modified": PCAP_MODIFIED,
    "pcapng": PCAPNG_LE,
    "pcapng-two-sections": PCAPNG_TWO,
}
CORPUS: dict[str, bytes] = {
    **PLAIN,
    "gzip": compress("gzip", PCAP_USEC),
    "zstd": compress("zstd", PCAPNG_LE),
    "bzip2": compress("bzip2", PCAP_MODIFIED),
    "xz": compress("xz", PCAPNG_TWO),
    "zip-deflated": make_zip(
        [("a.pcap", PCAP_USEC), ("b.txt", b"notes"), ("c.gz", compress("gzip", PCAPNG_LE))]
    ),
    "zip-stored": make_zip([("x.pcapng", PCAPNG_LE), ("y.pcap", PCAP_NSEC_BE)], method=0),
}

MAGIC_PREFIXES: list[bytes] = [
    *(struct.pack(e + "I", m) for m in (0xA1B2C3D4, 0xA1B23C4D, 0xA1B2CD34) for e in "<>"),
    *(pcap_header(k, e) for k in ("usec", "nsec", "modified") for e in ("<", ">")),
    b"\x0a\x0d\x0d\x0a",
    shb("<"),
    shb(">"),
    shb("<") + idb(endian="<"),
    shb(">") + idb(endian=">", tsresol=0x8A),
    b"\x1f\x8b",
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
    b"\x28\xb5\x2f\xfd",
    b"BZh9",
    b"\xfd7zXZ\x00",
    b"PK\x03\x04",
]
INTERESTING_WORDS = [
    0,
    1,
    4,
    8,
    12,
    16,
    28,
    32,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    MAX_RECORD,
    MAX_RECORD + 1,
    16 << 20,
    (16 << 20) + 4,
    0x0A0D0D0A,
    0x1A2B3C4D,
]


def test_corpus_is_valid() -> None:
    for name, data in CORPUS.items():
        frames, error = collect(read_stream(io.BytesIO(data), name))
        assert error is None, (name, error)
        assert frames, name


# ---------------------------------------------------------------------------------------------
# fuzz targets (also run without JIT, see below)


@no_hang
@FUZZ
@given(
    prefix=st.sampled_from(MAGIC_PREFIXES),
    tail=st.binary(max_size=2048),
    batch_frames=st.sampled_from([1, 3, 65536]),
)
def test_fuzz_arbitrary_bytes_after_magic(prefix: bytes, tail: bytes, batch_frames: int) -> None:
    feed(prefix + tail, batch_frames)


@st.composite
def mutated(draw: st.DrawFn, corpus: dict[str, bytes]) -> bytes:
    data = bytearray(corpus[draw(st.sampled_from(sorted(corpus)))])
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[pos] ^= draw(st.integers(1, 255))
        elif pos + 4 <= len(data):
            pos &= ~3
            endian = draw(st.sampled_from("<>"))
            struct.pack_into(endian + "I", data, pos, draw(st.sampled_from(INTERESTING_WORDS)))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@no_hang
@FUZZ
@given(
    data=mutated(CORPUS),
    batch_frames=st.sampled_from([1, 2, 65536]),
    step=st.sampled_from([None, 1, 7, 4096]),
)
def test_fuzz_flipped_and_truncated_valid_files(
    data: bytes, batch_frames: int, step: int | None
) -> None:
    feed(data, batch_frames, step)


@no_hang
@FUZZ
@given(data=mutated(PLAIN), kind=st.sampled_from(["gzip", "zstd", "bzip2", "xz", "zip"]))
def test_fuzz_damaged_captures_inside_intact_containers(data: bytes, kind: str) -> None:
    """The damage is behind a decompressor: the readers see it through the adapter streams."""
    packed = make_zip([("damaged", data)]) if kind == "zip" else compress(kind, data)
    feed(packed)


# --- pcapng block soup: structurally plausible blocks with arbitrary field values ----------

u32 = st.integers(0, 2**32 - 1) | st.sampled_from([0, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])
u64 = st.integers(0, 2**64 - 1) | st.sampled_from([0, 2**32 - 1, 2**63 - 1, 2**63, 2**64 - 1])
i64 = st.integers(-(2**63), 2**63 - 1) | st.sampled_from([-(2**63), -1, 2**33, 2**62, 2**63 - 1])
opt_list = st.lists(st.tuples(st.integers(0, 20), st.binary(max_size=12)), max_size=4)


@st.composite
def soup_block(draw: st.DrawFn, endian: Endian) -> bytes:
    kind = draw(st.sampled_from(["idb", "epb", "epb", "spb", "pb", "other", "raw", "shb", "opts"]))
    if kind == "idb":
        opts = draw(opt_list)
        return idb(
            draw(st.integers(0, 0xFFFF)),
            draw(u32),
            endian,
            tsresol=draw(st.none() | st.integers(0, 255)),
            tsoffset=draw(st.none() | i64),
            extra_opts=opts,
        )
    if kind == "epb":
        return epb(
            draw(st.integers(0, 4)),
            draw(u64),
            draw(st.binary(max_size=64)),
            wirelen=draw(u32),
            endian=endian,
            opts=draw(opt_list),
        )
    if kind == "spb":
        return spb(draw(st.binary(max_size=64)), wirelen=draw(st.none() | u32), endian=endian)
    if kind == "pb":
        return pb(
            draw(st.integers(0, 3)),
            draw(u64),
            draw(st.binary(max_size=64)),
            wirelen=draw(u32),
            endian=endian,
        )
    if kind == "other":
        return block(draw(u32), draw(st.binary(max_size=40)), endian)
    if kind == "shb":
        return shb(draw(st.sampled_from(["<", ">"])))
    if kind == "opts":  # an IDB whose option list is raw bytes (lengths may run past the end)
        body = struct.pack(endian + "HHI", 1, 0, 0) + draw(st.binary(max_size=40))
        return block(1, body, endian)
    return draw(st.binary(min_size=1, max_size=40))  # raw garbage between blocks


@st.composite
def block_soup(draw: st.DrawFn) -> bytes:
    endian: Endian = draw(st.sampled_from(["<", ">"]))
    parts = [shb(endian)]
    if draw(st.booleans()):
        parts.append(idb(endian=endian, tsresol=draw(st.integers(0, 255))))
    parts.extend(draw(st.lists(soup_block(endian), max_size=12)))
    return b"".join(parts)


@no_hang
@FUZZ
@given(data=block_soup(), batch_frames=st.sampled_from([1, 4, 65536]))
def test_fuzz_pcapng_block_soup(data: bytes, batch_frames: int) -> None:
    feed(data, batch_frames)


# --- round trips: random valid files, read through small chunks and short reads --------------

# Where to cut a file: near a record or block boundary (index into the boundaries, offset), where
# off-by-a-few bound checks would show.
cuts = st.none() | st.tuples(st.integers(0, 2**16), st.integers(-16, 16))


def cut_at(data: bytes, ends: list[int], cut: tuple[int, int] | None) -> bytes:
    if cut is None:
        return data
    index, delta = cut
    return data[: max(0, min(len(data), ends[index % len(ends)] + delta))]


@st.composite
def pcap_case(draw: st.DrawFn) -> tuple[bytes, list[Rec], PcapKind, list[int]]:
    kind: PcapKind = draw(st.sampled_from(["usec", "nsec", "modified"]))
    endian: Endian = draw(st.sampled_from(["<", ">"]))
    frac_max = 999_999_999 if kind == "nsec" else 999_999
    sizes = draw(st.lists(st.integers(0, 3000), max_size=150))
    records = [
        Rec(
            draw(u32),
            draw(st.integers(0, frac_max)),
            frame_bytes(i, n),
            wirelen=n + draw(st.integers(0, 70_000)),
        )
        for i, n in enumerate(sizes)
    ]
    data = build_pcap(records, kind, endian)
    header_len = 24 if kind == "modified" else 16
    ends = [24]
    for r in records:
        ends.append(ends[-1] + header_len + len(r.data))
    return data, records, kind, ends


@no_hang
@FUZZ
@given(
    case=pcap_case(),
    cut=cuts,
    batch_frames=st.sampled_from([1, 5, 65536]),
    step=st.sampled_from([1 << 20, 999, 65536 + 17]),
)
def test_fuzz_pcap_round_trip(
    case: tuple[bytes, list[Rec], PcapKind, list[int]],
    cut: tuple[int, int] | None,
    batch_frames: int,
    step: int,
) -> None:
    data, records, kind, ends = case
    data = cut_at(data, ends, cut)
    reader = ChunkReader(stream_of(data, step), chunk_size=1)
    frames, error = collect(read_pcap(reader, "rt", batch_frames))
    complete = sum(1 for e in ends[1:] if e <= len(data))
    assert len(frames) == complete
    assert (error is not None) == (len(data) not in ends)
    if error is not None:
        assert error.packets == complete
    mult = 1 if kind == "nsec" else 1000
    for frame, rec in zip(frames, records, strict=False):
        assert frame.data == rec.data
        assert frame.wirelen == rec.wirelen
        assert frame.ts_ns == rec.sec * NS + rec.frac * mult


TSRESOLS = [0, 3, 6, 9, 12, 0x8A, 0xA0, 0xA8]


def _resolution(tsresol: int) -> int:
    return 1 << (tsresol & 0x7F) if tsresol & 0x80 else int(10**tsresol)


@st.composite
def pcapng_case(draw: st.DrawFn) -> tuple[bytes, list[tuple[bytes, int, int, int]], list[int]]:
    """A valid pcapng and its expected frames (data, wirelen, ts_ns, linktype)."""
    endian: Endian = draw(st.sampled_from(["<", ">"]))
    n_if = draw(st.integers(1, 4))
    ifaces = [
        (
            draw(st.integers(0, 300)),
            draw(st.sampled_from(TSRESOLS)),
            draw(st.integers(-(2**30), 2**30)),
        )
        for _ in range(n_if)
    ]
    blocks = [shb(endian)]
    blocks += [idb(lt, 0, endian, tsresol=res, tsoffset=off) for lt, res, off in ifaces]
    expected: list[tuple[bytes, int, int, int]] = []
    for i in range(draw(st.integers(0, 120))):
        payload = frame_bytes(i, draw(st.integers(0, 3000)))
        kind = draw(st.sampled_from(["epb", "epb", "pb", "spb", "skip"]))
        iface = draw(st.integers(0, n_if - 1))
        lt, res, off = ifaces[iface]
        units = draw(st.integers(0, min((2**62 // NS) * _resolution(res), 2**64 - 1)))
        ts = units * NS // _resolution(res) + off * NS
        if kind == "epb":
            wire = len(payload) + draw(st.integers(0, 100))
            blocks.append(epb(iface, units, payload, wire, endian, opts=draw(opt_list)))
            expected.append((payload, wire, ts, lt))
        elif kind == "pb":
            blocks.append(pb(iface, units, payload, endian=endian))
            expected.append((payload, len(payload), ts, lt))
        elif kind == "spb":
            blocks.append(spb(payload, endian=endian))
            expected.append((payload, len(payload), 0, ifaces[0][0]))
        else:
            blocks.append(
                block(draw(st.sampled_from([4, 5, 0xBAD, 0x12345678])), payload[:200], endian)
            )
    ends = [0]
    for b in blocks:
        ends.append(ends[-1] + len(b))
    return b"".join(blocks), expected, ends


@no_hang
@FUZZ
@given(
    case=pcapng_case(),
    cut=cuts,
    batch_frames=st.sampled_from([1, 5, 65536]),
    step=st.sampled_from([1 << 20, 999, 65536 + 17]),
)
def test_fuzz_pcapng_round_trip(
    case: tuple[bytes, list[tuple[bytes, int, int, int]], list[int]],
    cut: tuple[int, int] | None,
    batch_frames: int,
    step: int,
) -> None:
    data, expected, ends = case
    full = len(data)
    data = cut_at(data, ends, cut)
    reader = ChunkReader(stream_of(data, step), chunk_size=1)
    frames, error = collect(read_pcapng(reader, "rt", batch_frames))
    got = [(f.data, f.wirelen, f.ts_ns, f.linktype) for f in frames]
    assert got == expected[: len(got)]
    assert (error is not None) == (len(data) not in ends[1:])
    if error is not None:
        assert error.packets == len(got)
    if len(data) == full:
        assert len(got) == len(expected)


def test_fuzz_kernels_are_plain_python_without_jit() -> None:
    """In the no-JIT run, the kernels must really be uncompiled (else that run proves nothing)."""
    if not NOJIT:
        pytest.skip("only meaningful with NUMBA_DISABLE_JIT=1")
    with pytest.raises(IndexError):
        pcap_module.scan_pcap_records(
            np.zeros(4, np.uint8),
            0,
            16,
            False,
            1000,
            16,
            MAX_RECORD,
            np.empty(1, np.int64),
            np.empty(1, np.int32),
            np.empty(1, np.int32),
            np.empty(1, np.int64),
        )


# ---------------------------------------------------------------------------------------------
# the same fuzz targets, kernels uncompiled


@pytest.mark.skipif(NOJIT, reason="this is the no-JIT run already")
@pytest.mark.timeout(600, method="thread")
def test_kernels_stay_in_bounds_without_jit() -> None:
    rerun_without_jit(__file__, "test_kernels_stay_in_bounds_without_jit")
