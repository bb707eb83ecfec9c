"""The sensor's capture queue: bounded in bytes, the reader waits when it is full, and overload
shows up as the kernel's drop count, never as memory growth.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time

import pytest

from otsight.capture.batch import FrameBatch
from otsight.capture.live import LiveCapture
from otsight.core.types import LinkType
from otsight.sensor.reader import BatchQueue, CaptureReader, batch_bytes
from otsight.testing.netns import in_netns

from .plant import HMI, PLC, plant

MB = 1 << 20


def _batch(frames: int, size: int = 1000) -> FrameBatch:
    return FrameBatch.from_frames([bytes(size)] * frames, LinkType.ETHERNET)


def test_queue_is_bounded_in_bytes_and_put_waits_for_room() -> None:
    one = _batch(100)
    queue = BatchQueue(max_bytes=2 * batch_bytes(one) + 10)
    assert queue.put(one)
    assert queue.put(_batch(100))
    assert queue.bytes == 2 * batch_bytes(one)
    put_done = threading.Event()

    def third() -> None:
        queue.put(_batch(100))
        put_done.set()

    thread = threading.Thread(target=third)
    thread.start()
    assert not put_done.wait(0.2)  # full: the third waits
    assert queue.waits == 1
    assert queue.get(0.1) is not None
    assert put_done.wait(2.0)  # room again
    thread.join()
    assert len(queue) == 2
    assert queue.peak_bytes <= queue.max_bytes


def test_one_batch_larger_than_the_bound_still_passes() -> None:
    queue = BatchQueue(max_bytes=1000)
    big = _batch(50)
    assert queue.put(big)
    assert queue.get(0.1) is big
    assert queue.bytes == 0


def test_get_times_out_and_drains_after_end() -> None:
    queue = BatchQueue(max_bytes=MB)
    started = time.monotonic()
    assert queue.get(0.1) is None
    assert time.monotonic() - started >= 0.09
    assert not queue.drained
    queue.put(_batch(1))
    queue.end()
    assert not queue.drained  # one batch still to get
    assert queue.get(0.1) is not None
    assert queue.drained
    assert queue.get(5.0) is None


def test_abandon_releases_a_waiting_reader() -> None:
    queue = BatchQueue(max_bytes=1000)
    queue.put(_batch(10))
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(queue.put(_batch(10))))
    thread.start()
    time.sleep(0.1)
    queue.abandon()
    thread.join(2.0)
    assert result == [False]
    assert queue.bytes == 0
    assert len(queue) == 0


def test_bad_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        BatchQueue(0)


@pytest.mark.live
@pytest.mark.timeout(120)
def test_overload_is_dropped_and_counted_by_the_kernel_not_queued() -> None:
    """A flood while the pipeline takes nothing: the queue stays under its bound, the reader
    waits, the kernel drops what does not fit in the socket buffer and counts it."""
    max_bytes = 8 * MB
    sent = 30_000
    with plant(PLC, HMI) as topo:
        # A static neighbour: no ARP, every datagram goes on the wire at once.
        subprocess.run(
            [
                "ip",
                "-n",
                topo.ns("hmi"),
                "neigh",
                "replace",
                PLC.ip,
                "lladdr",
                PLC.mac,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ],
            check=True,
        )
        capture = in_netns(
            topo.switch_ns,
            lambda: LiveCapture(
                "br0", "udp and dst port 9999", buffer_size=256 * 1024, duration=60.0
            ),
        )
        reader = CaptureReader(capture, max_bytes)
        reader.start()
        try:

            def flood() -> None:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    payload = bytes(1000)
                    for _ in range(sent):
                        sock.sendto(payload, (PLC.ip, 9999))

            in_netns(topo.ns("hmi"), flood)
            time.sleep(0.5)
            queue = reader.queue
            assert queue.waits >= 1  # the reader found the queue full and waited
            assert queue.peak_bytes <= max_bytes
            dropped = capture.stats.dropped
            assert dropped > 0
            # The pipeline catches up: everything read is handed over, in order.
            delivered = 0
            frame_numbers: list[int] = []
            while (batch := queue.get(0.5)) is not None:
                delivered += len(batch)
                frame_numbers.append(batch.first_frame)
            reader.stop()
            while not queue.drained:
                batch = queue.get(0.5)
                delivered += len(batch) if batch is not None else 0
            reader.join()
        finally:
            reader.abandon()
        stats = capture.stats
    assert frame_numbers == sorted(frame_numbers)
    assert delivered == stats.delivered > 0
    assert stats.delivered + stats.dropped <= stats.received <= sent
    print(
        f"\nflood of {sent}: {stats.received} reached the socket, {stats.delivered} "
        f"delivered, {stats.dropped} dropped by the kernel; queue peak "
        f"{queue.peak_bytes / MB:.1f} MB of {max_bytes / MB:.0f} MB, {queue.waits} waits"
    )
