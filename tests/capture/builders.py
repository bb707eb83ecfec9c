"""Craft capture bytes with ``struct`` directly (no project writer), and collect what readers yield.

pcap: global header + records (micro/nanosecond, both byte orders, Kuznetzov's modified format).
pcapng: generic blocks plus helpers for SHB, IDB, EPB, SPB, obsolete PB, NRB, ISB, custom blocks.
Compression and zip helpers wrap any of them.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal, cast

import zstandard

from otsight.capture.batch import FrameBatch
from otsight.core.errors import CaptureError

Endian = Literal["<", ">"]
PcapKind = Literal["usec", "nsec", "modified"]

PCAP_MAGIC = {"usec": 0xA1B2C3D4, "nsec": 0xA1B23C4D, "modified": 0xA1B2CD34}

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228

# pcapng block types
SHB = 0x0A0D0D0A
IDB = 0x00000001
PB = 0x00000002
SPB = 0x00000003
NRB = 0x00000004
ISB = 0x00000005
EPB = 0x00000006
DSB = 0x0000000A
CB_COPY = 0x00000BAD
CB_NOCOPY = 0x40000BAD


# --------------------------------------------------------------------------------------------
# pcap


@dataclass(frozen=True, slots=True)
class Rec:
    """One pcap record: ``frac`` is micro- or nanoseconds depending on the file's magic."""

    sec: int
    frac: int
    data: bytes
    wirelen: int | None = None  # None: same as len(data)


def pcap_header(
    kind: PcapKind = "usec",
    endian: Endian = "<",
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = 65535,
) -> bytes:
    return struct.pack(endian + "IHHiIII", PCAP_MAGIC[kind], 2, 4, 0, 0, snaplen, linktype)


def pcap_record(rec: Rec, endian: Endian = "<", modified: bool = False) -> bytes:
    wirelen = len(rec.data) if rec.wirelen is None else rec.wirelen
    head = struct.pack(endian + "IIII", rec.sec, rec.frac, len(rec.data), wirelen)
    if modified:  # ifindex, protocol, pkt_type, pad
        head += struct.pack(endian + "IHBB", 2, 0x0800, 0, 0)
    return head + rec.data


def raw_pcap_record(
    sec: int, frac: int, incl: int, orig: int, data: bytes, *, endian: Endian = "<"
) -> bytes:
    """A record whose length fields need not agree with ``data`` (corrupt files)."""
    return struct.pack(endian + "IIII", sec, frac, incl, orig) + data


def build_pcap(
    records: Iterable[Rec],
    kind: PcapKind = "usec",
    endian: Endian = "<",
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = 65535,
) -> bytes:
    parts = [pcap_header(kind, endian, linktype, snaplen)]
    parts.extend(pcap_record(r, endian, kind == "modified") for r in records)
    return b"".join(parts)


def frame_bytes(i: int, size: int) -> bytes:
    """Deterministic, distinguishable frame content."""
    seed = struct.pack("<I", i)
    return (seed * (size // 4 + 1))[:size]


def simple_records(
    count: int, size: int | None = None, start_sec: int = 1_700_000_000
) -> list[Rec]:
    """``count`` records, sizes varying (14..1513 bytes) unless ``size`` is given."""
    out: list[Rec] = []
    for i in range(count):
        n = size if size is not None else 14 + (i * 397) % 1500
        out.append(Rec(start_sec + i, (i * 7919) % 1_000_000, frame_bytes(i, n)))
    return out


# --------------------------------------------------------------------------------------------
# pcapng


def pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def option(code: int, value: bytes, endian: Endian = "<") -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + pad4(value)


def options(opts: Sequence[tuple[int, bytes]], endian: Endian = "<") -> bytes:
    """Encoded option list with opt_endofopt, or nothing when ``opts`` is empty."""
    if not opts:
        return b""
    return b"".join(option(c, v, endian) for c, v in opts) + struct.pack(endian + "HH", 0, 0)


def block(btype: int, body: bytes, endian: Endian = "<", trailer: int | None = None) -> bytes:
    """A generic block; ``trailer`` overrides the trailing length (to corrupt it)."""
    body = pad4(body)
    total = 12 + len(body)
    return (
        struct.pack(endian + "II", btype, total)
        + body
        + struct.pack(endian + "I", total if trailer is None else trailer)
    )


def shb(endian: Endian = "<", opts: Sequence[tuple[int, bytes]] = ()) -> bytes:
    body = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options(opts, endian)
    return block(SHB, body, endian)


def idb(
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = 0,
    endian: Endian = "<",
    *,
    tsresol: int | None = None,
    tsoffset: int | None = None,
    extra_opts: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    opts: list[tuple[int, bytes]] = list(extra_opts)
    if tsresol is not None:
        opts.append((9, bytes([tsresol])))
    if tsoffset is not None:
        opts.append((14, struct.pack(endian + "q", tsoffset)))
    body = struct.pack(endian + "HHI", linktype, 0, snaplen) + options(opts, endian)
    return block(IDB, body, endian)


def epb(
    iface: int,
    units: int,
    data: bytes,
    wirelen: int | None = None,
    endian: Endian = "<",
    *,
    opts: Sequence[tuple[int, bytes]] = (),
    trailer: int | None = None,
) -> bytes:
    wire = len(data) if wirelen is None else wirelen
    body = (
        struct.pack(endian + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), wire)
        + pad4(data)
        + options(opts, endian)
    )
    return block(EPB, body, endian, trailer)


def pb(
    iface: int, units: int, data: bytes, wirelen: int | None = None, endian: Endian = "<"
) -> bytes:
    """Obsolete Packet Block (type 2): 16-bit interface id and drops count."""
    wire = len(data) if wirelen is None else wirelen
    body = struct.pack(
        endian + "HHIIII", iface, 0, units >> 32, units & 0xFFFFFFFF, len(data), wire
    ) + pad4(data)
    return block(PB, body, endian)


def spb(data: bytes, wirelen: int | None = None, endian: Endian = "<") -> bytes:
    """Simple Packet Block: only the original length; captured length comes from block size."""
    wire = len(data) if wirelen is None else wirelen
    return block(SPB, struct.pack(endian + "I", wire) + pad4(data), endian)


def nrb(endian: Endian = "<") -> bytes:
    """Name Resolution Block with one IPv4 record and the end marker."""
    name = b"plc-1.example\0"
    rec = struct.pack(endian + "HH", 1, 4 + len(name)) + pad4(bytes([10, 0, 0, 1]) + name)
    return block(NRB, rec + struct.pack(endian + "HH", 0, 0), endian)


def isb(iface: int = 0, endian: Endian = "<") -> bytes:
    """Interface Statistics Block with isb_ifrecv."""
    body = struct.pack(endian + "III", iface, 0, 0) + options(
        [(4, struct.pack(endian + "Q", 1234))], endian
    )
    return block(ISB, body, endian)


def custom_block(copy: bool = True, endian: Endian = "<") -> bytes:
    body = struct.pack(endian + "I", 32473) + b"vendor data, not a packet"
    return block(CB_COPY if copy else CB_NOCOPY, body, endian)


# --------------------------------------------------------------------------------------------
# containers


def compress(kind: str, data: bytes) -> bytes:
    if kind == "gzip":
        return gzip.compress(data)
    if kind == "bzip2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    if kind == "zstd":
        out: bytes = zstandard.ZstdCompressor().compress(data)
        return out
    raise ValueError(kind)


def make_zip(members: Sequence[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, like a pipe under load."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._step, len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def stream_of(data: bytes, step: int | None = None) -> BinaryIO:
    """``data`` as a binary stream; with ``step``, one giving at most that many bytes a read."""
    if step is None:
        return io.BytesIO(data)
    return cast(BinaryIO, Trickle(data, step))


# --------------------------------------------------------------------------------------------
# collecting what a reader yields


@dataclass(frozen=True, slots=True)
class Frame:
    number: int
    data: bytes
    caplen: int
    wirelen: int
    ts_ns: int
    linktype: int
    source: str


def frames_of(batches: Iterable[FrameBatch]) -> Iterator[Frame]:
    """Flatten batches, checking the batch invariants on the way."""
    expected_first: int | None = None
    last_source = ""
    for batch in batches:
        n = len(batch)
        assert n > 0, "empty batch yielded"
        assert batch.caplen.shape == batch.wirelen.shape == batch.ts_ns.shape == (n,)
        assert batch.linktype.shape == (n,)
        if expected_first is not None and batch.source == last_source:
            assert batch.first_frame == expected_first, "frame numbering not continuous"
        last_source = batch.source
        expected_first = batch.first_frame + n
        for i in range(n):
            off, cap = int(batch.offset[i]), int(batch.caplen[i])
            assert cap >= 0
            assert off >= 0
            assert off + cap <= batch.buf.shape[0]
            assert int(batch.wirelen[i]) >= 0
            yield Frame(
                batch.first_frame + i,
                batch.frame(i),
                cap,
                int(batch.wirelen[i]),
                int(batch.ts_ns[i]),
                int(batch.linktype[i]),
                batch.source,
            )


def collect(batches: Iterable[FrameBatch]) -> tuple[list[Frame], CaptureError | None]:
    """All frames up to the end or the first CaptureError (returned, not raised)."""
    out: list[Frame] = []
    try:
        for frame in frames_of(batches):
            out.append(frame)
    except CaptureError as exc:
        return out, exc
    return out, None


def collect_batches(batches: Iterable[FrameBatch]) -> tuple[list[FrameBatch], CaptureError | None]:
    out: list[FrameBatch] = []
    try:
        for batch in batches:
            out.append(batch)
    except CaptureError as exc:
        return out, exc
    return out, None
