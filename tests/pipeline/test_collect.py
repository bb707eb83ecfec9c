"""The cycle collector runs rarely while a capture is analysed, still collects cycles, and is
left as it was found."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from otsight.pipeline.runner import GC_YOUNG_THRESHOLD, analyze, collect_rarely
from otsight.testing.synth import generate


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_thresholds_and_frozen_objects_come_back() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with collect_rarely():
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_cycles_made_during_a_run_are_still_collected() -> None:
    with collect_rarely():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        # objects that stay alive fill the young generation (freed ones do not count)
        kept = [Node() for _ in range(3 * GC_YOUNG_THRESHOLD)]
        assert gone() is None
        assert len(kept) == 3 * GC_YOUNG_THRESHOLD


def test_a_run_collects_a_few_times_per_million_objects_not_hundreds(tmp_path: Path) -> None:
    capture = tmp_path / "plant.pcap"
    generate(capture, 20_000, seed=4)
    runs: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            runs.append(info["generation"])

    gc.callbacks.append(count)
    try:
        analyze([str(capture)])
    finally:
        gc.callbacks.remove(count)
    assert len(runs) <= 3
