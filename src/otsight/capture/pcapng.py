"""pcapng: sections, interfaces with their own link type and timestamp resolution, packet blocks.

Enhanced, simple and obsolete packet blocks are indexed by a kernel; every other block (section
header, interface description, statistics, name resolution, custom or unknown) returns control
to Python, which handles or skips it. Unknown blocks are skipped as the format requires.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import CaptureError
from ..core.jit import kernel
from ..core.rd import rd16, rd32
from .batch import I32, I64, U8, FrameBatch
from .pcap import BATCH_FRAMES, MAX_RECORD, STATUS_CORRUPT, STATUS_FULL, STATUS_NEED_DATA
from .stream import ChunkReader

SHB = 0x0A0D0D0A
IDB = 0x00000001
PB = 0x00000002
SPB = 0x00000003
EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
STATUS_OTHER_BLOCK = 3
STATUS_BAD_INTERFACE = 4
MAX_BLOCK = 16 << 20  # Wireshark's limit on a block's size
_INT64_MAX = (1 << 63) - 1


@dataclass(slots=True)
class Interface:
    linktype: int
    snaplen: int
    mul: int  # ns = units * mul // div, or (units * 1e9) >> shift when shift >= 0
    div: int
    shift: int
    offset_ns: int


def _ts_params(tsresol: int) -> tuple[int, int, int]:
    if tsresol & 0x80:
        return 1, 1, tsresol & 0x7F
    digits = tsresol
    if digits <= 9:
        return 10 ** (9 - digits), 1, -1
    return 1, 10 ** min(digits - 9, 18), -1


@kernel
def _to_ns(hi: Any, lo: Any, mul: Any, div: Any, shift: Any) -> Any:
    """Timestamp units to ns (floored). The units are an unsigned 64-bit count given as its two
    32-bit halves: with fine resolutions (10^-10 s, 2^-33 s) today's times exceed 2^63 units."""
    units = (np.uint64(hi) << np.uint64(32)) | np.uint64(lo)
    if shift >= 0:
        if shift >= 63:
            return np.int64(0)
        whole = np.int64(units >> np.uint64(shift))
        frac = np.int64(units & np.uint64((1 << shift) - 1))
        if shift <= 32:
            return whole * 1000000000 + ((frac * 1000000000) >> shift)
        # frac * 10^9 would overflow int64 (frac < 2^shift): split frac at bit 32 and floor
        # exactly, with every intermediate below 2^63.
        k = shift - 32
        high = (frac >> 32) * 1000000000  # < 2^(k + 30)
        rest = ((high & ((1 << k) - 1)) << 32) + (frac & 0xFFFFFFFF) * 1000000000
        return whole * 1000000000 + (high >> k) + (rest >> shift)
    if div > 1:
        return np.int64(units // np.uint64(div))
    return np.int64(units) * mul  # wraps past the year 2262, as int64 time does anyway


@kernel
def scan_pcapng_blocks(
    buf: U8,
    pos: int,
    end: int,
    big_endian: bool,
    if_linktype: I32,
    if_snaplen: I64,
    if_mul: I64,
    if_div: I64,
    if_shift: I64,
    if_offset: I64,
    out_off: I64,
    out_cap: I32,
    out_wire: I32,
    out_ts: I64,
    out_link: I32,
) -> tuple[int, int, int]:
    """Index packet blocks in ``buf[pos:end]``; returns (frames, new pos, status)."""
    n = 0
    cap = out_off.shape[0]
    n_if = if_linktype.shape[0]
    while n < cap:
        if end - pos < 12:
            return n, pos, STATUS_NEED_DATA
        btype = rd32(buf, pos, big_endian)
        blen = rd32(buf, pos + 4, big_endian)
        if btype != EPB and btype != SPB and btype != PB:
            return n, pos, STATUS_OTHER_BLOCK
        if blen < 12 or blen % 4 != 0 or blen > MAX_BLOCK:
            return n, pos, STATUS_CORRUPT
        if end - pos < blen:
            return n, pos, STATUS_NEED_DATA
        if rd32(buf, pos + blen - 4, big_endian) != blen:
            return n, pos, STATUS_CORRUPT
        if btype == EPB:
            if blen < 32:
                return n, pos, STATUS_CORRUPT
            iface = rd32(buf, pos + 8, big_endian)
            if iface >= n_if:
                return n, pos, STATUS_BAD_INTERFACE
            has_ts = True
            ts_hi = rd32(buf, pos + 12, big_endian)
            ts_lo = rd32(buf, pos + 16, big_endian)
            incl = rd32(buf, pos + 20, big_endian)
            orig = rd32(buf, pos + 24, big_endian)
            data = pos + 28
            if incl > blen - 32 or incl > MAX_RECORD:
                return n, pos, STATUS_CORRUPT
        elif btype == PB:
            if blen < 32:
                return n, pos, STATUS_CORRUPT
            iface = rd16(buf, pos + 8, big_endian)
            if iface >= n_if:
                return n, pos, STATUS_BAD_INTERFACE
            has_ts = True
            ts_hi = rd32(buf, pos + 12, big_endian)
            ts_lo = rd32(buf, pos + 16, big_endian)
            incl = rd32(buf, pos + 20, big_endian)
            orig = rd32(buf, pos + 24, big_endian)
            data = pos + 28
            if incl > blen - 32 or incl > MAX_RECORD:
                return n, pos, STATUS_CORRUPT
        else:  # SPB: no timestamp, always interface 0
            if blen < 16:
                return n, pos, STATUS_CORRUPT
            if n_if == 0:
                return n, pos, STATUS_BAD_INTERFACE
            iface = 0
            has_ts = False
            ts_hi = 0
            ts_lo = 0
            orig = rd32(buf, pos + 8, big_endian)
            # Captured length is min(original length, snaplen of interface 0), as Wireshark
            # computes it; a block too short to hold that much is corrupt (taking what the
            # block holds would hand out the padding bytes as packet data).
            incl = orig
            if if_snaplen[0] > 0:
                incl = min(incl, if_snaplen[0])
            if incl > blen - 16 or incl > MAX_RECORD:
                return n, pos, STATUS_CORRUPT
            data = pos + 12
        out_off[n] = data
        out_cap[n] = incl
        out_wire[n] = min(orig, 0x7FFFFFFF)
        if has_ts:
            out_ts[n] = (
                _to_ns(ts_hi, ts_lo, if_mul[iface], if_div[iface], if_shift[iface])
                + if_offset[iface]
            )
        else:
            out_ts[n] = 0
        out_link[n] = if_linktype[iface]
        n += 1
        pos += blen
    return n, pos, STATUS_FULL


def _parse_idb(body: bytes, order: str) -> Interface:
    if len(body) < 8:
        raise ValueError("interface description block too short")
    linktype, _reserved, snaplen = struct.unpack(order + "HHI", body[:8])
    tsresol, offset = 6, 0
    opts = body[8:]
    i = 0
    while i + 4 <= len(opts):
        code, length = struct.unpack(order + "HH", opts[i : i + 4])
        value = opts[i + 4 : i + 4 + length]
        if code == 0:
            break
        if code == 9 and length >= 1:
            tsresol = value[0]
        elif code == 14 and length >= 8:
            offset = struct.unpack(order + "q", value[:8])[0]
        i += 4 + ((length + 3) & ~3)
    mul, div, shift = _ts_params(tsresol)
    # if_tsoffset is any signed 64-bit count of seconds; in ns it may not fit an int64.
    offset_ns = max(min(offset * 1_000_000_000, _INT64_MAX), -_INT64_MAX - 1)
    return Interface(linktype & 0x0FFFFFFF, snaplen, mul, div, shift, offset_ns)


def read_pcapng(
    reader: ChunkReader, source: str, batch_frames: int = BATCH_FRAMES
) -> Iterator[FrameBatch]:
    """Yield batches from a pcapng stream positioned at its first section header block."""
    big_endian = False
    order = "<"
    interfaces: list[Interface] = []
    frame_no = 1
    seen_shb = False

    def fail(reason: str) -> CaptureError:
        return CaptureError(source, reason, frame_no - 1)

    while True:
        if not reader.refill(12):
            if reader.available:
                raise fail(f"truncated: last block cut short at byte {reader.stream_pos}")
            if not seen_shb:
                raise fail("empty pcapng file")
            return
        head = reader.peek(12)
        btype_raw = head[:4]
        if btype_raw == b"\x0a\x0d\x0d\x0a":
            bom = head[8:12]
            if bom == struct.pack("<I", BYTE_ORDER_MAGIC):
                big_endian, order = False, "<"
            elif bom == struct.pack(">I", BYTE_ORDER_MAGIC):
                big_endian, order = True, ">"
            else:
                raise fail(f"bad byte-order magic in section header at byte {reader.stream_pos}")
            interfaces = []
            seen_shb = True
        elif not seen_shb:
            raise fail("not a pcapng file (no section header block)")
        btype, blen = struct.unpack(order + "II", head[:8])
        if btype in (EPB, SPB, PB):
            arrays = _interface_arrays(interfaces)
            out_off = np.empty(batch_frames, dtype=np.int64)
            out_cap = np.empty(batch_frames, dtype=np.int32)
            out_wire = np.empty(batch_frames, dtype=np.int32)
            out_ts = np.empty(batch_frames, dtype=np.int64)
            out_link = np.empty(batch_frames, dtype=np.int32)
            n, pos, status = scan_pcapng_blocks(
                reader.buf,
                reader.pos,
                reader.filled,
                big_endian,
                *arrays,
                out_off,
                out_cap,
                out_wire,
                out_ts,
                out_link,
            )
            buf = reader.buf
            reader.pos = pos
            if n:
                yield FrameBatch(
                    buf=buf,
                    offset=out_off[:n],
                    caplen=out_cap[:n],
                    wirelen=out_wire[:n],
                    ts_ns=out_ts[:n],
                    linktype=out_link[:n],
                    first_frame=frame_no,
                    source=source,
                )
                frame_no += n
            if status == STATUS_CORRUPT:
                raise fail(f"corrupt packet block at byte {reader.stream_pos}")
            if status == STATUS_BAD_INTERFACE:
                raise fail(
                    f"packet block names an undeclared interface at byte {reader.stream_pos}"
                )
            if status == STATUS_NEED_DATA and reader.available >= 12:
                blen = struct.unpack(order + "I", reader.peek(8)[4:8])[0]
                if blen < 12 or blen > MAX_BLOCK:
                    raise fail(f"corrupt block length {blen} at byte {reader.stream_pos}")
                if not reader.refill(blen):
                    raise fail(f"truncated: last block cut short at byte {reader.stream_pos}")
            continue
        # A non-packet block: handled here in Python.
        if blen < 12 or blen % 4 != 0 or blen > MAX_BLOCK:
            raise fail(f"corrupt block length {blen} at byte {reader.stream_pos}")
        if not reader.refill(blen):
            raise fail(f"truncated: last block cut short at byte {reader.stream_pos}")
        block = reader.read(blen)
        if struct.unpack(order + "I", block[-4:])[0] != blen:
            raise fail(f"block lengths disagree at byte {reader.stream_pos - blen}")
        if btype == IDB:
            try:
                interfaces.append(_parse_idb(block[8:-4], order))
            except ValueError as exc:
                raise fail(str(exc)) from None


def _interface_arrays(
    interfaces: list[Interface],
) -> tuple[I32, I64, I64, I64, I64, I64]:
    return (
        np.array([i.linktype for i in interfaces], dtype=np.int32),
        np.array([i.snaplen for i in interfaces], dtype=np.int64),
        np.array([i.mul for i in interfaces], dtype=np.int64),
        np.array([i.div for i in interfaces], dtype=np.int64),
        np.array([i.shift for i in interfaces], dtype=np.int64),
        np.array([i.offset_ns for i in interfaces], dtype=np.int64),
    )
