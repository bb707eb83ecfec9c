"""Feature mapping: correlated features share an autoencoder; groups are bounded."""

from __future__ import annotations

import numpy as np
import pytest

from otsight.detect.anomaly.cluster import CorrelationStats, single_linkage_groups


def test_correlated_blocks_are_grouped_and_groups_are_bounded() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 4000, 1))
    # features 0-2 follow a, 3-5 follow b, 6 is constant; shuffled column order
    cols = [a, -a, 2 * a, b, b + 1, 3 * b, np.zeros((4000, 1))]
    X = np.hstack(cols) + 0.01 * rng.normal(size=(4000, 7))
    X[:, 6] = 5.0
    order = [4, 0, 6, 2, 5, 1, 3]
    stats = CorrelationStats(7)
    for chunk in np.array_split(X[:, order], 7):
        stats.update(chunk)
    groups = single_linkage_groups(stats.distance(), max_size=3)
    named = sorted(sorted(order[i] for i in g) for g in groups)
    # -a is anti-correlated with a (distance ~2) and the constant is at distance 1 from all:
    # each stays alone
    assert named == [[0, 2], [1], [3, 4, 5], [6]]
    assert max(len(g) for g in groups) <= 3
    assert groups == single_linkage_groups(stats.distance(), max_size=3)


def test_incremental_statistics_match_a_direct_correlation() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5)) + 1e6
    stats = CorrelationStats(5)
    for chunk in np.array_split(X, 9):
        stats.update(chunk)
    expected = np.asarray(1.0 - np.corrcoef(X, rowvar=False))
    np.fill_diagonal(expected, 0.0)
    assert np.allclose(stats.distance(), np.clip(expected, 0, 2), atol=1e-8)


def test_degenerate_inputs() -> None:
    assert single_linkage_groups(np.zeros((0, 0)), 3) == []
    assert single_linkage_groups(np.zeros((1, 1)), 3) == [[0]]
    with pytest.raises(ValueError, match="max_size"):
        single_linkage_groups(np.zeros((2, 2)), 0)
    few = CorrelationStats(3)
    few.update(np.ones((1, 3)))
    d = few.distance()  # one row: no correlation known, everything at distance 1
    assert np.array_equal(d, 1.0 - np.eye(3))
