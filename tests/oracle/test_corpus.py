"""The foundation checked against Wireshark on every real capture of ../shared/data.

One tshark run per capture (fields plus conversation tables), in parallel; the figures are
printed so a run with ``-s`` shows them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.capture.sources import Input, read_input
from otsight.core.errors import CaptureError
from otsight.pipeline.runner import analyze
from otsight.testing import tshark
from otsight.testing.corpus import capture_files, shared_data
from otsight.testing.oracle import CaptureComparison, compare_all, totals

DATA = shared_data()
needs_data = pytest.mark.skipif(DATA is None, reason="../shared/data is absent (no real captures)")
needs_tshark = pytest.mark.skipif(not tshark.available(), reason="tshark is not installed")


@pytest.fixture(scope="module")
def comparisons() -> list[CaptureComparison]:
    assert DATA is not None
    return compare_all(DATA)


@needs_data
@needs_tshark
@pytest.mark.oracle
def test_packet_counts_equal_tsharks(comparisons: list[CaptureComparison]) -> None:
    wrong = [(c.path, c.our_packets, c.tshark_packets) for c in comparisons
             if c.our_packets != c.tshark_packets]
    assert len(comparisons) > 400
    assert wrong == []


@needs_data
@needs_tshark
@pytest.mark.oracle
def test_five_tuples_agree_with_tshark(comparisons: list[CaptureComparison]) -> None:
    t = totals(comparisons)
    print(f"\n5-tuples: {t['tuples_agreed']:.0f}/{t['tuples_compared']:.0f} "
          f"= {t['tuple_agreement']:.6f} over {t['captures']:.0f} captures")
    assert t["tuples_compared"] > 100_000
    assert t["tuple_agreement"] >= 0.999, [c.tuple_examples for c in comparisons
                                           if c.tuple_examples][:10]


@needs_data
@needs_tshark
@pytest.mark.oracle
def test_conversations_agree_with_tshark(comparisons: list[CaptureComparison]) -> None:
    t = totals(comparisons)
    bad = [(c.path, c.conv_only_ours, c.conv_only_tshark) for c in comparisons if not c.convs_agree]
    print(f"\nconversations: {t['conversations_equal']:.0f}/{t['captures']:.0f} captures equal")
    assert t["conversation_agreement"] >= 0.98, bad[:10]


@needs_data
def test_every_capture_in_the_corpus_is_processed_without_crashing() -> None:
    """Malformed and truncated captures included: only CaptureError may end a file early."""
    assert DATA is not None
    files = capture_files(DATA)
    assert len(files) > 400
    result = analyze([str(f) for f in files])
    failed = {e.source for e in result.errors}
    # Every error names its file and a reason; everything before the damage was still read.
    assert all(e.reason for e in result.errors)
    assert result.summary.packets == sum(r.packets for r in result.summary.inputs) > 600_000
    assert len(failed) < len(files) // 10


@needs_data
def test_truncated_corpus_file_keeps_the_packets_before_the_damage() -> None:
    assert DATA is not None
    damaged = []
    for path in capture_files(DATA):
        try:
            for _ in read_input(Input(str(path), path)):
                pass
        except CaptureError as exc:
            damaged.append((path, exc))
    assert damaged, "the corpus has deliberately damaged captures"
    for path, error in damaged:
        assert str(path) in error.source
        if tshark.CAPINFOS:
            assert error.packets == tshark.packet_count(Path(path))
