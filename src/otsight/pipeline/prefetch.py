"""Read and decode the next batches on a second thread while the engine works on this one.

Reading a capture (file I/O and the compiled record scanner) and decoding its frames (a
compiled kernel) release the GIL, so on a machine with two cores they cost almost nothing
next to the Python work of flows and dissectors. Batches come out in the order they were
read, and an error of the source (a truncated file) is raised where the source raised it,
after the batches read before it: the result is the same as reading on one thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import cast

from ..capture.batch import FrameBatch
from ..decode.kernel import decode_batch
from ..decode.table import PacketTable

DEPTH = 2  # batches read ahead: enough to overlap, little memory (one batch is ~16 MB)
_END = object()


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def decoded(
    batches: Iterable[FrameBatch], depth: int = DEPTH
) -> Generator[tuple[FrameBatch, PacketTable], None, None]:
    """``(batch, decode_batch(batch))`` for each batch of ``batches``, produced ahead."""
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put((batch, decode_batch(batch))):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))
            return
        put(_END)

    worker = threading.Thread(target=produce, name="otsight-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield cast("tuple[FrameBatch, PacketTable]", item)
    finally:
        stop.set()  # the consumer stopped early (an error, a closed generator): let it go
        worker.join(timeout=1.0)  # a pipe may block its read; the daemon thread then ends alone
