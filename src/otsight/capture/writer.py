"""Write classic pcap and pcapng files (for tests, the traffic generator and exports).

``PcapWriter.write_many`` builds all record headers of a batch with numpy and writes the batch
with one ``join``, so a million small frames take well under a second of Python time.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, BinaryIO, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_RAW",
    "PcapWriter",
    "PcapngWriter",
]

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101

_MAGIC_USEC = 0xA1B2C3D4
_MAGIC_NSEC = 0xA1B23C4D
_NS = 1_000_000_000
_MAX_U32 = 0xFFFFFFFF
_CHUNK = 65536

_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_SPB = 0x00000003
_EPB = 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_ENDOFOPT = 0
_OPT_COMMENT = 1
_SHB_USERAPPL = 4
_IF_NAME = 2
_IF_TSRESOL = 9

TimestampsNs: TypeAlias = Sequence[int] | npt.NDArray[np.integer[Any]]


def _pad4(n: int) -> int:
    return (4 - (n & 3)) & 3


class PcapWriter:
    """Classic libpcap writer.

    ``write`` truncates a frame to ``snaplen`` and records its original length (``wirelen``
    when given, else the frame's length). Timestamps are integer nanoseconds since the epoch,
    stored as microseconds (truncated) unless ``nanosecond`` is set. ``big_endian`` writes the
    other byte order, for testing readers.
    """

    def __init__(
        self,
        stream: BinaryIO,
        linktype: int = LINKTYPE_ETHERNET,
        snaplen: int = 262144,
        nanosecond: bool = False,
        *,
        big_endian: bool = False,
    ) -> None:
        if snaplen <= 0:
            raise ValueError(f"snaplen must be positive: {snaplen}")
        self.stream = stream
        self.linktype = linktype
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        self.packets = 0
        self._order = ">" if big_endian else "<"
        self._record = struct.Struct(self._order + "IIII")
        self._div = 1 if nanosecond else 1000
        magic = _MAGIC_NSEC if nanosecond else _MAGIC_USEC
        stream.write(struct.pack(self._order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def _split_ts(self, ts_ns: int) -> tuple[int, int]:
        if ts_ns < 0:
            raise ValueError(f"negative timestamp: {ts_ns}")
        sec, frac_ns = divmod(ts_ns, _NS)
        if sec > _MAX_U32:
            raise ValueError(f"timestamp beyond 2106: {ts_ns}")
        return sec, frac_ns // self._div

    def write(self, frame: bytes, ts_ns: int, wirelen: int | None = None) -> None:
        """Append one record."""
        sec, frac = self._split_ts(ts_ns)
        orig = len(frame) if wirelen is None else wirelen
        if len(frame) > self.snaplen:
            frame = frame[: self.snaplen]
        if orig < len(frame):
            raise ValueError(f"wirelen {orig} shorter than the captured {len(frame)} bytes")
        self.stream.write(self._record.pack(sec, frac, len(frame), orig) + frame)
        self.packets += 1

    def write_many(
        self,
        frames: Sequence[bytes],
        ts_ns: TimestampsNs,
        wirelens: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
    ) -> None:
        """Append many records; record headers are built with numpy, one write per chunk."""
        n = len(frames)
        if len(ts_ns) != n or (wirelens is not None and len(wirelens) != n):
            raise ValueError("frames, ts_ns and wirelens must have the same length")
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            self._write_chunk(
                frames[start:stop],
                ts_ns[start:stop],
                None if wirelens is None else wirelens[start:stop],
            )

    def _write_chunk(
        self,
        frames: Sequence[bytes],
        ts_ns: TimestampsNs,
        wirelens: Sequence[int] | npt.NDArray[np.integer[Any]] | None,
    ) -> None:
        n = len(frames)
        if n == 0:
            return
        ts = np.asarray(ts_ns, dtype=np.int64)
        if ts.shape != (n,):
            raise ValueError("ts_ns must be one-dimensional")
        if n and (int(ts.min()) < 0 or int(ts.max()) // _NS > _MAX_U32):
            raise ValueError("timestamp out of range for pcap (before 1970 or after 2106)")
        lens = np.fromiter(map(len, frames), dtype=np.int64, count=n)
        if wirelens is None:
            orig = lens
        else:
            orig = np.asarray(wirelens, dtype=np.int64)
            if bool((orig < np.minimum(lens, self.snaplen)).any()):
                raise ValueError("a wirelen is shorter than its captured frame")
        body: Sequence[bytes] = frames
        if int(lens.max()) > self.snaplen:
            cut = self.snaplen
            body = [f if len(f) <= cut else f[:cut] for f in frames]
            lens = np.minimum(lens, cut)
        header = np.empty((n, 4), dtype=self._order + "u4")
        header[:, 0] = ts // _NS
        header[:, 1] = (ts % _NS) // self._div
        header[:, 2] = lens
        header[:, 3] = np.minimum(orig, _MAX_U32)
        parts: list[bytes] = [b""] * (2 * n)
        parts[0::2] = header.view("V16").ravel().tolist()  # one 16-byte bytes object per row
        parts[1::2] = body
        self.stream.write(b"".join(parts))
        self.packets += n


class PcapngWriter:
    """pcapng writer: one section header on creation, then interfaces and packet blocks.

    Timestamps are integer nanoseconds, converted to each interface's resolution: ``tsresol``
    is the if_tsresol byte (``6`` = microseconds, ``9`` = nanoseconds, ``0x80 | n`` = 2^-n s).
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        big_endian: bool = False,
        user_application: str | None = "otsight",
    ) -> None:
        self.stream = stream
        self.packets = 0
        self._order = ">" if big_endian else "<"
        self._interfaces: list[tuple[int, int, int]] = []  # linktype, snaplen, tsresol
        self.start_section(user_application=user_application)

    # -- blocks ---------------------------------------------------------------------------

    def _options(self, options: Sequence[tuple[int, bytes]]) -> bytes:
        if not options:
            return b""
        parts = []
        for code, value in options:
            parts.append(struct.pack(self._order + "HH", code, len(value)))
            parts.append(value + bytes(_pad4(len(value))))
        parts.append(struct.pack(self._order + "HH", _OPT_ENDOFOPT, 0))
        return b"".join(parts)

    def _block(self, block_type: int, body: bytes) -> bytes:
        body += bytes(_pad4(len(body)))
        total = 12 + len(body)
        return (
            struct.pack(self._order + "II", block_type, total)
            + body
            + struct.pack(self._order + "I", total)
        )

    def start_section(self, user_application: str | None = "otsight") -> None:
        """Write a section header block; interfaces added before it no longer apply."""
        options = []
        if user_application:
            options.append((_SHB_USERAPPL, user_application.encode()))
        body = struct.pack(self._order + "IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1) + self._options(
            options
        )
        self.stream.write(self._block(_SHB, body))
        self._interfaces = []

    def add_interface(
        self, linktype: int, snaplen: int = 0, tsresol: int = 6, name: str | None = None
    ) -> int:
        """Write an interface description block; returns the interface id for ``write``."""
        if not 0 <= tsresol <= 0xFF or (not tsresol & 0x80 and tsresol > 19):
            raise ValueError(f"unsupported if_tsresol: {tsresol}")
        options: list[tuple[int, bytes]] = []
        if name is not None:
            options.append((_IF_NAME, name.encode()))
        if tsresol != 6:
            options.append((_IF_TSRESOL, bytes((tsresol,))))
        body = struct.pack(self._order + "HHI", linktype, 0, snaplen) + self._options(options)
        self.stream.write(self._block(_IDB, body))
        self._interfaces.append((linktype, snaplen, tsresol))
        return len(self._interfaces) - 1

    @staticmethod
    def _units(ts_ns: int, tsresol: int) -> int:
        if ts_ns < 0:
            raise ValueError(f"negative timestamp: {ts_ns}")
        if tsresol & 0x80:
            return (ts_ns << (tsresol & 0x7F)) // _NS
        if tsresol <= 9:
            return ts_ns // int(10 ** (9 - tsresol))
        return ts_ns * int(10 ** (tsresol - 9))

    def write(
        self,
        interface: int,
        frame: bytes,
        ts_ns: int,
        wirelen: int | None = None,
        *,
        comment: str | None = None,
    ) -> None:
        """Write an enhanced packet block (truncated to the interface's snaplen, if any)."""
        try:
            _linktype, snaplen, tsresol = self._interfaces[interface]
        except (IndexError, TypeError):
            raise ValueError(f"no interface {interface} in this section") from None
        orig = len(frame) if wirelen is None else wirelen
        if snaplen and len(frame) > snaplen:
            frame = frame[:snaplen]
        if orig < len(frame):
            raise ValueError(f"wirelen {orig} shorter than the captured {len(frame)} bytes")
        units = self._units(ts_ns, tsresol)
        if units >> 64:
            raise ValueError(f"timestamp does not fit 64 bits at this resolution: {ts_ns}")
        body = struct.pack(
            self._order + "IIIII", interface, units >> 32, units & _MAX_U32, len(frame), orig
        )
        body += frame + bytes(_pad4(len(frame)))
        if comment is not None:
            body += self._options([(_OPT_COMMENT, comment.encode())])
        self.stream.write(self._block(_EPB, body))
        self.packets += 1

    def write_many(self, interface: int, frames: Sequence[bytes], ts_ns: TimestampsNs) -> None:
        """Write many enhanced packet blocks (for benchmarks and big generated files)."""
        if len(frames) != len(ts_ns):
            raise ValueError("frames and ts_ns must have the same length")
        for frame, ts in zip(frames, ts_ns, strict=True):
            self.write(interface, frame, int(ts))

    def write_simple(self, frame: bytes, wirelen: int | None = None) -> None:
        """Write a simple packet block (interface 0, no timestamp)."""
        if not self._interfaces:
            raise ValueError("a simple packet block needs interface 0 in the section")
        snaplen = self._interfaces[0][1]
        orig = len(frame) if wirelen is None else wirelen
        # An SPB has no captured-length field: readers take min(original length, snaplen).
        captured = min(orig, snaplen) if snaplen else orig
        if orig < len(frame):
            raise ValueError(f"wirelen {orig} shorter than the {len(frame)}-byte frame")
        if len(frame) < captured:
            raise ValueError(f"an SPB needs min(wirelen, snaplen) = {captured} bytes of frame")
        frame = frame[:captured]
        self.stream.write(self._block(_SPB, struct.pack(self._order + "I", orig) + frame))
        self.packets += 1

    def write_custom(self, block_type: int, body: bytes) -> None:
        """Write an arbitrary block (body zero-padded to 4 bytes), e.g. to test skipping."""
        if not 0 <= block_type <= _MAX_U32:
            raise ValueError(f"block type out of range: {block_type}")
        self.stream.write(self._block(block_type, body))
