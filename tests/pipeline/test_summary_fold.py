"""The analyze summary is the same however ended flows were grouped when folded in."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.pipeline import summary as summary_module
from otsight.pipeline.runner import analyze

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed"


def _capture() -> str:
    found = sorted(p for p in EXAMPLE.iterdir() if p.suffix in (".pcap", ".pcapng", ".zst"))
    if not found:
        pytest.skip(f"no capture in {EXAMPLE}")
    return str(found[0])


@pytest.mark.parametrize("fold_rows", [1, 7])
def test_folding_flows_one_at_a_time_or_a_few_gives_the_same_summary(
    fold_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _capture()
    whole = analyze([capture]).summary.to_dict(top=50)
    monkeypatch.setattr(summary_module, "FOLD_ROWS", fold_rows)
    result = analyze([capture]).summary
    assert result._pending == []  # the run's end folded everything in
    assert result.flows == whole["flows"] > 0
    assert result.to_dict(top=50) == whole
    assert len(whole["top_conversations"]) > 2


def test_ties_in_top_lists_are_ordered_by_name() -> None:
    s = summary_module.Summary()
    for name in ("10.0.0.9", "10.0.0.10", "10.0.0.1"):
        s.talker_bytes[name] = 5
        s.talker_packets[name] = 1
    s.talker_bytes["10.0.0.2"] = 6
    assert [t["ip"] for t in s.to_dict(top=3)["top_talkers"]] == [
        "10.0.0.2", "10.0.0.1", "10.0.0.10",
    ]
