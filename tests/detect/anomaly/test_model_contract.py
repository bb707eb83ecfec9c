"""One check suite run against every anomaly model (river-style contract)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from otsight.detect.anomaly.base import AnomalyModel
from otsight.detect.anomaly.kitnet import KitNET
from otsight.detect.anomaly.persist import StateError
from otsight.detect.anomaly.process import ForecastModel, RangeModel, RateModel

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Case:
    """A model factory and data: (learn, benign held-out, obviously shifted)."""

    name: str
    make: Callable[[int], AnomalyModel]
    data: Callable[[int], tuple[F64, F64, F64]]


def table_data(seed: int) -> tuple[F64, F64, F64]:
    """Rows of 12 features driven by 3 latent factors plus noise; shifted: 4 columns moved."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(3, 12))
    rows = rng.normal(size=(3000, 3)) @ mix + 0.05 * rng.normal(size=(3000, 12))
    shifted = rows[2500:].copy()
    shifted[:, :4] += 8.0
    return rows[:2500], rows[2500:], shifted


def series_data(seed: int) -> tuple[F64, F64, F64]:
    """A register read every second moving between 100 and 140; shifted: jumps to ~9000."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 700.0)
    v = 120 + 20 * np.sin(t / 30.0) + rng.normal(0.0, 0.5, t.size)
    rows = np.stack([t, np.round(v)], axis=1)
    shifted = rows[600:].copy()
    shifted[::2, 1] = 9000.0  # alternating: out of range and a jump every second
    return rows[:600], rows[600:], shifted


CASES = [
    Case("kitnet", lambda seed: KitNET(12, max_ae=4, mapping_samples=300, seed=seed), table_data),
    Case("range", lambda seed: RangeModel(), series_data),
    Case("rate", lambda seed: RateModel(), series_data),
    Case("forecast", lambda seed: ForecastModel(), series_data),
]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    c: Case = request.param
    return c


def trained(case: Case, seed: int = 7) -> tuple[AnomalyModel, F64, F64]:
    learn, benign, shifted = case.data(seed)
    model = case.make(seed)
    model.learn_many(learn)
    return model, benign, shifted


def test_same_seed_and_data_give_identical_scores(case: Case) -> None:
    a, benign, shifted = trained(case)
    b, _, _ = trained(case)
    both = np.concatenate([benign, shifted])
    assert np.array_equal(a.score_many(both), b.score_many(both))


def test_scores_are_finite_and_scoring_does_not_learn(case: Case) -> None:
    model, _, shifted = trained(case)
    first = model.score_many(shifted)
    assert np.isfinite(first).all()
    assert np.array_equal(model.score_many(shifted), first)


def test_shifted_data_scores_higher_than_benign(case: Case) -> None:
    model, benign, shifted = trained(case)
    low, high = model.score_many(benign), model.score_many(shifted)
    # most shifted rows score above nearly all benign rows
    assert np.median(high) > np.quantile(low, 0.99)
    assert np.median(low) < np.median(high) / 3


def test_learn_one_and_score_one_agree_with_the_batch_forms(case: Case) -> None:
    learn, benign, _ = case.data(3)
    one, many = case.make(3), case.make(3)
    for row in learn[:400]:
        one.learn_one(row)
    many.learn_many(learn[:400])
    assert one.score_one(benign[0]) == pytest.approx(many.score_many(benign[:1])[0], rel=1e-9)


def test_save_and_load_give_identical_scores(case: Case, tmp_path: Path) -> None:
    model, benign, shifted = trained(case)
    model.save(str(tmp_path / "m"))
    loaded = type(model).load(str(tmp_path / "m"))
    both = np.concatenate([benign, shifted])
    assert np.array_equal(loaded.score_many(both), model.score_many(both))
    # and the loaded model keeps learning the same way
    learn, _, _ = case.data(11)
    model.learn_many(learn[:200])
    loaded.learn_many(learn[:200])
    assert np.array_equal(loaded.score_many(both), model.score_many(both))


def test_rows_of_the_wrong_width_or_non_finite_are_refused(case: Case) -> None:
    model, benign, _ = trained(case)
    with pytest.raises(ValueError, match="features"):
        model.score_many(benign[:, :1])
    with pytest.raises(ValueError, match="features"):
        model.learn_many(np.zeros((2, benign.shape[1] + 1)))
    bad = benign[:3].copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        model.learn_many(bad)
    with pytest.raises(ValueError, match="non-finite"):
        model.score_many(bad)
    with pytest.raises(ValueError, match="one row"):
        model.score_one(benign[:2])


def test_loading_a_missing_or_foreign_state_is_a_clear_error(
    case: Case, tmp_path: Path
) -> None:
    model, _, _ = trained(case)
    with pytest.raises(StateError):
        type(model).load(str(tmp_path / "absent"))
    other = RangeModel() if not isinstance(model, RangeModel) else RateModel()
    other.save(str(tmp_path / "other"))
    with pytest.raises(ValueError, match="model"):
        type(model).load(str(tmp_path / "other"))


def test_kitnet_before_learning_scores_zero_and_maps_groups_of_bounded_size() -> None:
    learn, benign, _ = table_data(1)
    model = KitNET(12, max_ae=4, mapping_samples=300, seed=1)
    assert np.array_equal(model.score_many(benign[:5]), np.zeros(5))
    model.learn_many(learn[:299])
    assert not model.mapped
    model.learn_many(learn[299:400])
    assert model.mapped
    assert model.trained == 100  # one more row completed the map
    members = sorted(i for g in model.groups for i in g)
    assert members == list(range(12))
    assert max(len(g) for g in model.groups) <= 4


def test_kitnet_explains_with_the_features_that_moved() -> None:
    model, benign, _ = trained(CASES[0])
    assert isinstance(model, KitNET)
    row = benign[0].copy()
    row[5] += 50.0
    top = [i for i, _ in model.explain(row, top=2)]
    assert top[0] == 5
