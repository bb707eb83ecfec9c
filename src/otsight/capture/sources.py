"""Open any capture input: file (pcap, pcapng, compressed or zipped), directory, or stdin.

Format is decided by content (magic bytes), never by file name, so a renamed or compressed
capture still opens and a text file named ``x.pcap`` is refused with a clear reason.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..core.errors import CaptureError
from .batch import FrameBatch
from .pcap import BATCH_FRAMES, PCAP_MAGICS, read_pcap
from .pcapng import read_pcapng
from .stream import ChunkReader

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZ2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZIP_MAGIC = b"PK\x03\x04"
MAX_NESTING = 3
# What decompressors and zipfile raise on damaged input (zlib.error is none of OSError and
# ValueError; zipfile raises RuntimeError for an encrypted member, NotImplementedError, a
# RuntimeError, for an unsupported compression method).
_STREAM_ERRORS = (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error)
_ZIP_ERRORS = (*_STREAM_ERRORS, zipfile.BadZipFile, RuntimeError)


def sniff_format(head: bytes) -> str | None:
    """Name of the container format from the first bytes, or None if not a capture."""
    if head[:4] in PCAP_MAGICS:
        return "pcap"
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head[:4] == ZSTD_MAGIC:
        return "zstd"
    if head[:3] == BZ2_MAGIC:
        return "bzip2"
    if head[:6] == XZ_MAGIC:
        return "xz"
    if head[:4] == ZIP_MAGIC:
        return "zip"
    return None


def looks_like_capture(path: Path) -> bool:
    """True if the file starts like a capture or a compressed/zipped file."""
    try:
        with path.open("rb") as fh:
            return sniff_format(fh.read(8)) is not None
    except OSError:
        return False


def _decompressor(kind: str, stream: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]
    import zstandard

    reader: BinaryIO = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
    return reader


class _ReadintoAdapter(io.RawIOBase):
    """Give ``readinto`` to decompressor streams that only offer ``read``.

    Uses ``read1`` where the stream has it: ``read(n)`` of a decompressor gathers n bytes over
    many steps and throws them all away if a later step fails (a truncated .gz would lose every
    packet of its last 16 MiB), while ``read1`` hands over each step's bytes as it goes.
    """

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self._read1 = getattr(inner, "read1", None)
        # Plain files and pipes read straight into the chunk (no intermediate bytes object).
        base = inner.inner if isinstance(inner, _Counting) else inner
        self._direct = isinstance(base, (io.FileIO, io.BufferedReader))

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self._direct:
            return self.inner.readinto(b) or 0  # type: ignore[attr-defined]
        data = self._read1(len(b)) if self._read1 is not None else b""
        if not data:  # no read1, or read1 returned nothing: read() tells EOF for sure
            data = self.inner.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def read_stream(
    stream: BinaryIO, source: str, batch_frames: int = BATCH_FRAMES, depth: int = 0
) -> Iterator[FrameBatch]:
    """Yield batches from a binary stream holding one capture (maybe compressed)."""
    reader = ChunkReader(_ReadintoAdapter(stream))  # type: ignore[arg-type]
    try:
        head = reader.peek(8)
    except _STREAM_ERRORS as exc:
        raise CaptureError(source, f"unreadable: {exc}") from None
    kind = sniff_format(head)
    if kind is None:
        if not head:
            raise CaptureError(source, "empty file, not a capture")
        raise CaptureError(
            source, "not a capture file (unknown format: not pcap, pcapng or a compressed capture)"
        )
    if kind == "pcap":
        yield from read_pcap(reader, source, batch_frames)
        return
    if kind == "pcapng":
        yield from read_pcapng(reader, source, batch_frames)
        return
    if depth >= MAX_NESTING:
        raise CaptureError(source, "compressed too many times over")
    prefix = reader.read(reader.available)
    inner = _PrefixStream(prefix, stream)
    if kind == "zip":
        yield from _read_zip(inner, source, batch_frames, depth)  # type: ignore[arg-type]
        return
    count = 0  # packets yielded before a decompression error, for CaptureError.packets
    try:
        decompressed = _decompressor(kind, inner)  # type: ignore[arg-type]
        for batch in read_stream(decompressed, source, batch_frames, depth + 1):
            count += len(batch)
            yield batch
    except _STREAM_ERRORS as exc:
        raise CaptureError(source, f"{kind} stream is corrupt or truncated: {exc}", count) from None
    except Exception as exc:  # zstandard raises its own ZstdError
        if type(exc).__name__ == "ZstdError":
            raise CaptureError(
                source, f"zstd stream is corrupt or truncated: {exc}", count
            ) from None
        raise


def _read_zip(stream: BinaryIO, source: str, batch_frames: int, depth: int) -> Iterator[FrameBatch]:
    data = stream.read()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise CaptureError(source, f"bad zip archive: {exc}") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    found = False
    for member in sorted(members, key=lambda m: m.filename):
        name = f"{source}!{member.filename}"
        count = 0
        try:
            with archive.open(member) as fh:
                if sniff_format(fh.read(8)) is None:
                    continue
            found = True
            with archive.open(member) as fh:
                for batch in read_stream(fh, name, batch_frames, depth + 1):  # type: ignore[arg-type]
                    count += len(batch)
                    yield batch
        except _ZIP_ERRORS as exc:  # bad CRC, corrupt deflate data, encrypted member, ...
            raise CaptureError(name, f"zip member is corrupt or unreadable: {exc}", count) from None
    if not found:
        raise CaptureError(source, "zip archive holds no capture")


class _PrefixStream(io.RawIOBase):
    """A stream that first returns ``prefix`` then the rest of ``inner``."""

    def __init__(self, prefix: bytes, inner: BinaryIO) -> None:
        self.prefix = prefix
        self.inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self.prefix:
            n = min(len(b), len(self.prefix))
            b[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        data = self.inner.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            rest = self.prefix + self.inner.read()
            self.prefix = b""
            return rest
        return super().read(size) or b""


@dataclass(frozen=True, slots=True)
class Input:
    """One capture to read: a path, or ``-`` for standard input."""

    name: str
    path: Path | None


def expand_inputs(names: list[str]) -> tuple[list[Input], list[CaptureError]]:
    """Resolve command-line names to captures; directories are walked in sorted order.

    Files inside a directory that do not look like captures are skipped silently (a capture
    folder often holds notes and checksums); a file named explicitly is always tried.
    """
    inputs: list[Input] = []
    errors: list[CaptureError] = []
    for name in names:
        if name == "-":
            inputs.append(Input("<stdin>", None))
            continue
        path = Path(name)
        if path.is_dir():
            found = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for fname in sorted(files):
                    candidate = Path(root) / fname
                    if looks_like_capture(candidate):
                        found.append(candidate)
            if not found:
                errors.append(CaptureError(name, "directory holds no capture"))
            inputs.extend(Input(str(p), p) for p in found)
        elif not path.exists():
            errors.append(CaptureError(name, "no such file or directory"))
        else:
            inputs.append(Input(name, path))
    return inputs, errors


class _Counting(io.RawIOBase):
    """Reports bytes read from the underlying file (compressed bytes for compressed files)."""

    def __init__(self, inner: BinaryIO, total: int, report: Callable[[int, int], None]) -> None:
        self.inner = inner
        self.total = total
        self.done = 0
        self.report = report

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = self.inner.readinto(b)  # type: ignore[attr-defined]
        if n:
            self.done += n
            self.report(self.done, self.total)
        return n or 0

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.done += len(data)
        self.report(self.done, self.total)
        return data


def read_input(
    item: Input,
    batch_frames: int = BATCH_FRAMES,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[FrameBatch]:
    """Yield the batches of one input; raises :class:`CaptureError` on failure.

    ``progress(bytes_read, total_bytes)`` is called as the file is read (total 0 for stdin).
    """
    if item.path is None:
        stream: BinaryIO = sys.stdin.buffer
        if progress is not None:
            stream = _Counting(stream, 0, progress)  # type: ignore[assignment]
        yield from _read_counted(stream, item.name, batch_frames)
        return
    try:
        fh = item.path.open("rb", buffering=0)
        total = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise CaptureError(item.name, f"cannot open: {exc.strerror or exc}") from None
    with fh:
        src: BinaryIO = fh
        if progress is not None:
            src = _Counting(src, total, progress)  # type: ignore[assignment]
        yield from _read_counted(src, item.name, batch_frames)


def _read_counted(stream: BinaryIO, name: str, batch_frames: int) -> Iterator[FrameBatch]:
    """read_stream, turning an I/O error into CaptureError with the packets read before it."""
    count = 0
    try:
        for batch in read_stream(stream, name, batch_frames):
            count += len(batch)
            yield batch
    except OSError as exc:
        raise CaptureError(name, f"read error: {exc.strerror or exc}", count) from None
