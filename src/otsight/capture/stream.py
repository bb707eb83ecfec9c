"""Chunked reading of a binary stream into fresh numpy buffers.

Each chunk is a new array, so batches that point into it stay valid after the reader moves on
(no buffer is ever reused under a consumer's feet). A record cut by a chunk boundary is carried
over to the next chunk.

A read error (a truncated or corrupt compressed stream, an I/O error) does not throw away the
bytes read before it: it is kept and raised once the caller needs more than those bytes, so the
packets before the damage are still yielded.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

from .batch import U8

CHUNK_SIZE = 16 << 20


class ChunkReader:
    """Keeps ``buf[pos:filled]`` as the unread bytes of the stream."""

    def __init__(self, stream: BinaryIO, prefix: bytes = b"", chunk_size: int = CHUNK_SIZE) -> None:
        self.stream = stream
        self.chunk_size = chunk_size
        self.buf: U8 = np.zeros(0, dtype=np.uint8)
        self.pos = 0
        self.filled = 0
        self.eof = False
        self.consumed = 0  # bytes before buf[0] in the stream
        self._prefix = prefix
        self._error: Exception | None = None  # raised once the bytes read before it are used

    @property
    def available(self) -> int:
        return self.filled - self.pos

    @property
    def stream_pos(self) -> int:
        """Offset in the stream of ``buf[pos]``."""
        return self.consumed + self.pos

    def refill(self, need: int = 1) -> bool:
        """Make at least ``need`` unread bytes available; False if the stream ends first.

        Bytes are appended after ``filled`` while the current buffer has room (batches only
        point below ``filled``, so they stay valid); a new buffer is allocated when it is full.
        A short read (a pipe) returns as soon as ``need`` bytes are there, so a live
        ``tcpdump -w - | otsight analyze -`` is not held back waiting for a whole chunk.
        """
        while self.available < need and not self.eof:
            room = self.buf.shape[0] - self.filled
            if room < max(need - self.available, 65536):
                size = max(self.chunk_size, need + 65536)
                new = np.empty(size, dtype=np.uint8)
                rest = self.available
                new[:rest] = self.buf[self.pos : self.filled]
                self.consumed += self.pos
                self.buf, self.pos, self.filled = new, 0, rest
            self._read_into(need)
        if self.available < need and self._error is not None:
            raise self._error  # sticky: never mistaken for a clean end of stream later
        return self.available >= need

    def _read_into(self, need: int) -> None:
        view = memoryview(self.buf)  # type: ignore[arg-type]
        while self.filled < self.buf.shape[0]:
            want = self.buf.shape[0] - self.filled
            if self._prefix:
                n = min(len(self._prefix), want)
                view[self.filled : self.filled + n] = self._prefix[:n]
                self._prefix = self._prefix[n:]
            else:
                try:
                    n = self.stream.readinto(view[self.filled :])  # type: ignore[attr-defined]
                except Exception as exc:  # any reader's error, re-raised unchanged by refill
                    self._error = exc
                    self.eof = True
                    return
                if not n:
                    self.eof = True
                    return
            self.filled += n
            if n < want and self.available >= need:
                return

    def read(self, n: int) -> bytes:
        """Read exactly ``n`` bytes (fewer at the end of the stream)."""
        self.refill(n)
        take = min(n, self.available)
        out = bytes(self.buf[self.pos : self.pos + take])
        self.pos += take
        return out

    def peek(self, n: int) -> bytes:
        self.refill(n)
        take = min(n, self.available)
        return bytes(self.buf[self.pos : self.pos + take])
