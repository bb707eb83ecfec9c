"""The capture side of the sensor: a thread that reads batches into a queue bounded in bytes.

Why a thread and a queue: the pipeline stalls now and then (a store commit, resolving the
inventory at a checkpoint, a burst of new flows), and the kernel's socket buffer (4 MB) holds
well under a second of a busy link. While the pipeline is busy, this thread goes on draining
the socket into the queue; the numba kernels and the database driver release the GIL, so the
two overlap. The queue also gives the pipeline an idle tick (``get`` with a timeout), so the
store is written on time on a quiet link, where no batch would come to trigger it.

Why bounded in bytes and why blocking when full: a batch can hold up to 16 MB of frames, so a
count of batches says little about memory. When the queue is full the reader waits instead of
reading and discarding: the kernel then drops what does not fit in the socket buffer, at no CPU
cost, and counts it (``PACKET_STATISTICS``), whereas discarding in Python would take the CPU
the pipeline needs to catch up. So no captured frame is ever dropped by otsight itself.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from typing import Protocol

from ..capture.batch import FrameBatch
from ..capture.live import LiveStats
from ..core.errors import CaptureError

BATCH_OVERHEAD = 40  # bytes per frame of the offset/length/time arrays beside the frame bytes


class LiveSource(Protocol):
    """What the sensor needs of a capture: batches, a signal-safe stop and kernel counters."""

    source: str

    def __iter__(self) -> Iterator[FrameBatch]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    @property
    def stats(self) -> LiveStats: ...


def batch_bytes(batch: FrameBatch) -> int:
    """Memory a queued batch holds."""
    return int(batch.buf.nbytes) + BATCH_OVERHEAD * len(batch)


class BatchQueue:
    """A FIFO of batches holding at most ``max_bytes`` (one batch is always let in)."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self.peak_bytes = 0
        self.waits = 0  # times the reader found the queue full and waited
        self._items: collections.deque[FrameBatch] = collections.deque()
        self._ended = False
        self._abandoned = False
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, batch: FrameBatch) -> bool:
        """Append, waiting while the queue is full; False if the consumer abandoned it."""
        size = batch_bytes(batch)
        with self._cond:
            if self._items and self.bytes + size > self.max_bytes:
                self.waits += 1
            while self._items and self.bytes + size > self.max_bytes and not self._abandoned:
                self._cond.wait()
            if self._abandoned:
                return False
            self._items.append(batch)
            self.bytes += size
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            self._cond.notify_all()
            return True

    def end(self) -> None:
        """No more batches will come (the reader is done)."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def abandon(self) -> None:
        """The consumer is gone: a waiting ``put`` returns at once, the rest is released."""
        with self._cond:
            self._abandoned = True
            self._items.clear()
            self.bytes = 0
            self._cond.notify_all()

    def get(self, timeout: float) -> FrameBatch | None:
        """The next batch, or None after ``timeout`` seconds without one or once ended and
        empty (see :attr:`drained`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items and not self._ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            if not self._items:
                return None
            batch = self._items.popleft()
            self.bytes -= batch_bytes(batch)
            self._cond.notify_all()
            return batch

    @property
    def drained(self) -> bool:
        """Ended and nothing left to get."""
        with self._cond:
            return self._ended and not self._items


class CaptureReader:
    """Iterates ``capture`` on its own thread into a :class:`BatchQueue`."""

    def __init__(self, capture: LiveSource, max_bytes: int) -> None:
        self.capture = capture
        self.queue = BatchQueue(max_bytes)
        self.error: CaptureError | None = None
        self._thread = threading.Thread(target=self._run, name="otsight-capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            for batch in self.capture:
                if not self.queue.put(batch):
                    break
        except CaptureError as exc:  # the interface went down or disappeared
            self.error = exc
        except Exception as exc:  # anything else still ends the sensor with a reason
            self.error = CaptureError(self.capture.source, f"capture failed: {exc!r}")
        finally:
            self.capture.close()
            self.queue.end()

    def stop(self) -> None:
        """Ask the capture to end; batches already read are still handed over."""
        self.capture.stop()

    def abandon(self, timeout: float = 5.0) -> None:
        """Stop without consuming the rest (the pipeline failed) and wait for the thread."""
        self.capture.stop()
        self.queue.abandon()
        self.join(timeout)

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
