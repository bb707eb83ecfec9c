"""Batches read ahead on a second thread: same order, same tables, errors where they happened."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from decode.streams_helper import batches, mixed_traffic
from otsight.capture.batch import FrameBatch
from otsight.core.errors import CaptureError
from otsight.decode.kernel import decode_batch
from otsight.decode.table import PacketTable
from otsight.pipeline.prefetch import decoded


def _tables_equal(a: PacketTable, b: PacketTable) -> bool:
    return all(
        np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
    )


def test_batches_come_in_order_with_their_decoded_tables() -> None:
    source = batches(mixed_traffic(1), 17)
    out = list(decoded(iter(source), depth=2))
    assert [b.first_frame for b, _ in out] == [b.first_frame for b in source]
    assert all(b is s for (b, _), s in zip(out, source, strict=True))
    assert all(_tables_equal(t, decode_batch(b)) for b, t in out)


def test_an_error_of_the_source_comes_after_the_batches_read_before_it() -> None:
    source = batches(mixed_traffic(2), 13)

    def failing() -> Iterator[FrameBatch]:
        yield from source[:3]
        raise CaptureError("x.pcap", "truncated")

    seen: list[int] = []

    def consume() -> None:
        for batch, _ in decoded(failing()):
            seen.append(batch.first_frame)

    with pytest.raises(CaptureError, match="truncated"):
        consume()
    assert seen == [b.first_frame for b in source[:3]]


def test_a_consumer_that_stops_early_lets_the_reader_thread_end() -> None:
    source = batches(mixed_traffic(3), 5)
    before = threading.active_count()
    gen = decoded(iter(source), depth=1)
    next(gen)
    gen.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
