"""Classic libpcap files: micro- and nanosecond, both byte orders, Kuznetzov's modified format."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np

from ..core.errors import CaptureError
from ..core.jit import kernel
from ..core.rd import rd32
from .batch import I32, I64, U8, FrameBatch
from .stream import ChunkReader

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
MAGIC_MODIFIED = 0xA1B2CD34  # Alexey Kuznetzov's patched libpcap: 24-byte record headers
PCAP_MAGICS = {
    struct.pack(fmt, magic)
    for magic in (MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED)
    for fmt in ("<I", ">I")
}
# Wireshark refuses records larger than this for ordinary link types; so do we, so that a
# corrupt length field ends the file the same way in both tools.
MAX_RECORD = 262144
BATCH_FRAMES = 65536

STATUS_NEED_DATA = 0
STATUS_FULL = 1
STATUS_CORRUPT = 2


@kernel
def scan_pcap_records(
    buf: U8,
    pos: int,
    end: int,
    big_endian: bool,
    ts_mult: int,
    header_len: int,
    max_record: int,
    out_off: I64,
    out_cap: I32,
    out_wire: I32,
    out_ts: I64,
) -> tuple[int, int, int]:
    """Index the complete records in ``buf[pos:end]``; returns (frames, new pos, status)."""
    n = 0
    cap = out_off.shape[0]
    while n < cap:
        if end - pos < header_len:
            return n, pos, STATUS_NEED_DATA
        sec = rd32(buf, pos, big_endian)
        frac = rd32(buf, pos + 4, big_endian)
        incl = rd32(buf, pos + 8, big_endian)
        orig = rd32(buf, pos + 12, big_endian)
        if incl > max_record:
            return n, pos, STATUS_CORRUPT
        if end - pos < header_len + incl:
            return n, pos, STATUS_NEED_DATA
        out_off[n] = pos + header_len
        out_cap[n] = incl
        out_wire[n] = min(orig, 0x7FFFFFFF)
        out_ts[n] = np.int64(sec) * 1000000000 + np.int64(frac) * ts_mult
        n += 1
        pos += header_len + incl
    return n, pos, STATUS_FULL


def read_pcap(
    reader: ChunkReader, source: str, batch_frames: int = BATCH_FRAMES
) -> Iterator[FrameBatch]:
    """Yield batches from a pcap stream positioned at its global header.

    Raises :class:`CaptureError` after the last good batch if the file is truncated or corrupt.
    """
    header = reader.read(24)
    if len(header) < 24:
        raise CaptureError(source, "truncated pcap header")
    magic_le = struct.unpack("<I", header[:4])[0]
    big_endian = magic_le not in (MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED)
    order = ">" if big_endian else "<"
    magic, _major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack(
        order + "IHHiIII", header
    )
    ts_mult = 1 if magic == MAGIC_NSEC else 1000
    header_len = 24 if magic == MAGIC_MODIFIED else 16
    # The upper 16 bits carry FCS information (LINKTYPE_EXT: FCS length in bits 28-31, the
    # "FCS length present" flag in bit 26): libpcap's LT_LINKTYPE() keeps the low 16 bits only.
    linktype &= 0xFFFF

    frame_no = 1
    while True:
        reader.refill(header_len)
        out_off = np.empty(batch_frames, dtype=np.int64)
        out_cap = np.empty(batch_frames, dtype=np.int32)
        out_wire = np.empty(batch_frames, dtype=np.int32)
        out_ts = np.empty(batch_frames, dtype=np.int64)
        n, pos, status = scan_pcap_records(
            reader.buf,
            reader.pos,
            reader.filled,
            big_endian,
            ts_mult,
            header_len,
            MAX_RECORD,
            out_off,
            out_cap,
            out_wire,
            out_ts,
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
                linktype=np.full(n, linktype, dtype=np.int32),
                first_frame=frame_no,
                source=source,
            )
            frame_no += n
        if status == STATUS_CORRUPT:
            raise CaptureError(
                source,
                f"corrupt pcap record at byte {reader.stream_pos} "
                f"(length field exceeds {MAX_RECORD})",
                frame_no - 1,
            )
        if status == STATUS_NEED_DATA:
            if reader.available == 0 and not reader.refill(1):
                return
            # Need the whole record: its length is in the header when we have one.
            need = header_len
            if reader.available >= header_len:
                raw = reader.peek(header_len)
                incl = struct.unpack(order + "I", raw[8:12])[0]
                need = header_len + incl
            if not reader.refill(need):
                raise CaptureError(
                    source,
                    f"truncated: last record cut short at byte {reader.stream_pos}",
                    frame_no - 1,
                )
