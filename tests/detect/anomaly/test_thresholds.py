"""Thresholds decide from scores; they are fitted on benign scores, apart from the models."""

from __future__ import annotations

import numpy as np
import pytest

from otsight.detect.anomaly.base import MeanStdThreshold, QuantileThreshold, Threshold


def test_quantile_threshold_is_the_margin_times_the_quantile() -> None:
    scores = np.arange(101, dtype=np.float64)  # 0..100
    thr = QuantileThreshold(q=0.9, margin=2.0).fit(scores)
    assert thr.value == pytest.approx(180.0)
    assert thr(180.5)
    assert not thr(180.0)
    assert thr.flags([0.0, 200.0, 179.0]).tolist() == [False, True, False]


def test_maximum_and_floor() -> None:
    scores = np.array([0.0, 0.0, 0.1])
    assert QuantileThreshold(q=1.0, margin=1.5).fit(scores).value == pytest.approx(0.15)
    assert QuantileThreshold(q=1.0, margin=1.5, floor=2.0).fit(scores).value == 2.0


def test_mean_std_and_its_log_form() -> None:
    rng = np.random.default_rng(0)
    scores = rng.lognormal(mean=-2.0, sigma=0.5, size=20000)
    plain = MeanStdThreshold(k=3.0).fit(scores)
    assert plain.value == pytest.approx(scores.mean() + 3 * scores.std())
    logged = MeanStdThreshold(k=3.0, log=True).fit(scores)
    assert logged.value == pytest.approx(np.exp(-2.0 + 3 * 0.5), rel=0.03)
    # about 0.13 % of a log-normal lies beyond mean + 3 sigma of its logarithm
    assert 0.0005 < logged.flags(scores).mean() < 0.0025


def test_unfitted_empty_and_non_finite_are_errors() -> None:
    thr = QuantileThreshold()
    with pytest.raises(RuntimeError, match="before fit"):
        thr(1.0)
    with pytest.raises(ValueError, match="no benign scores"):
        thr.fit([])
    with pytest.raises(ValueError, match="finite"):
        thr.fit([1.0, np.inf])
    with pytest.raises(ValueError, match="0 < q <= 1"):
        QuantileThreshold(q=0.0)
    with pytest.raises(ValueError, match="k must be"):
        MeanStdThreshold(k=-1.0)


@pytest.mark.parametrize(
    "thr", [QuantileThreshold(0.99, 1.2, floor=0.1), MeanStdThreshold(4.0, log=True)]
)
def test_json_round_trip_keeps_the_decision(thr: Threshold) -> None:
    scores = np.random.default_rng(1).gamma(2.0, 0.1, 5000)
    thr.fit(scores)
    again = Threshold.from_json(thr.to_json())
    probe = np.linspace(0.0, 3.0, 301)
    assert type(again) is type(thr)
    assert again.value == thr.value
    assert np.array_equal(again.flags(probe), thr.flags(probe))
    with pytest.raises(ValueError, match="unknown threshold"):
        Threshold.from_json({"kind": "magic"})
