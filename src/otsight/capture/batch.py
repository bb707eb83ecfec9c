"""The unit the hot path works on: many frames in one buffer, described by parallel arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class FrameBatch:
    """Frames of one source, in capture order.

    One object per batch (not per packet) so decoding can run as compiled or vectorised kernels.
    Frame ``i`` is ``buf[offset[i] : offset[i] + caplen[i]]``; ``wirelen`` is its length on the
    wire (larger when the capture was snaplen-truncated). ``ts_ns`` is capture time in
    nanoseconds since the epoch. ``first_frame`` numbers frames from 1 within the source, as
    Wireshark does, so a frame can be found again for a bug report.
    """

    buf: U8
    offset: I64
    caplen: I32
    wirelen: I32
    ts_ns: I64
    linktype: I32
    first_frame: int
    source: str

    def __len__(self) -> int:
        return int(self.offset.shape[0])

    def frame(self, i: int) -> bytes:
        """Bytes of frame ``i`` (a copy; for slow paths and tests)."""
        start = int(self.offset[i])
        return bytes(self.buf[start : start + int(self.caplen[i])])

    @classmethod
    def from_frames(
        cls,
        frames: list[bytes],
        linktype: int,
        ts_ns: list[int] | None = None,
        source: str = "<memory>",
        first_frame: int = 1,
    ) -> FrameBatch:
        """Build a batch from individual frames (tests, fragment reassembly, live capture)."""
        lengths = np.fromiter((len(f) for f in frames), dtype=np.int64, count=len(frames))
        offsets = np.zeros(len(frames), dtype=np.int64)
        if len(frames) > 1:
            np.cumsum(lengths[:-1], out=offsets[1:])
        buf = np.frombuffer(b"".join(frames), dtype=np.uint8) if frames else np.zeros(0, np.uint8)
        times = np.asarray(ts_ns if ts_ns is not None else [0] * len(frames), dtype=np.int64)
        return cls(
            buf=buf,
            offset=offsets,
            caplen=lengths.astype(np.int32),
            wirelen=lengths.astype(np.int32),
            ts_ns=times,
            linktype=np.full(len(frames), linktype, dtype=np.int32),
            first_frame=first_frame,
            source=source,
        )
