"""The model contract (in the spirit of river) and thresholds kept apart from scoring.

A model turns feature rows into anomaly scores (higher = more anomalous) and learns from rows
it is told are benign; it never decides. A :class:`Threshold` is fitted separately on scores of
held-out benign data and decides. The batch forms (``learn_many``/``score_many`` on an
``(n, n_features)`` array) are what the pipeline calls; ``learn_one``/``score_one`` wrap them
for tests and documentation. Randomness comes only from a seed given at construction.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .persist import Arrays, StateError, load_state, rebuild, save_state

F64 = npt.NDArray[np.float64]


class AnomalyModel(ABC):
    """A streaming anomaly model over fixed-width numeric rows."""

    kind: ClassVar[str]  # slug stored with the saved state
    n_features: int

    @abstractmethod
    def learn_many(self, X: npt.ArrayLike) -> None:
        """Learn from benign rows, in order."""

    @abstractmethod
    def score_many(self, X: npt.ArrayLike) -> F64:
        """One score per row, in order; does not learn. Rows are scored as a sequence, so a
        model with temporal context (rate, forecast) compares each row with the one before."""

    @abstractmethod
    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """Everything needed to rebuild the model: numpy arrays plus JSON-ready metadata."""

    @classmethod
    @abstractmethod
    def from_state(cls, arrays: Arrays, meta: dict[str, Any]) -> AnomalyModel:
        """Rebuild a model saved by :meth:`state`."""

    def learn_one(self, x: npt.ArrayLike) -> None:
        self.learn_many(self._row(x))

    def score_one(self, x: npt.ArrayLike) -> float:
        return float(self.score_many(self._row(x))[0])

    def save(self, prefix: str) -> None:
        """Write ``prefix.npz`` and ``prefix.json`` (no pickle)."""
        arrays, meta = self.state()
        save_state(prefix, arrays, {"model": self.kind, **meta})

    @classmethod
    def load(cls, prefix: str) -> AnomalyModel:
        arrays, meta = load_state(prefix)
        if meta.get("model") != cls.kind:
            raise StateError(f"{prefix}: holds a {meta.get('model')!r} model, not {cls.kind!r}")
        return rebuild(prefix, lambda: cls.from_state(arrays, meta))

    def _row(self, x: npt.ArrayLike) -> F64:
        row = np.asarray(x, dtype=np.float64)
        if row.ndim != 1:
            raise ValueError(f"one row expected, got shape {row.shape}")
        return row.reshape(1, -1)

    def _matrix(self, X: npt.ArrayLike) -> F64:
        """``X`` as a float64 (n, n_features) array; a clear error for anything else."""
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ValueError(
                f"{type(self).__name__} expects rows of {self.n_features} features, "
                f"got shape {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"{type(self).__name__}: non-finite feature values")
        return arr


class Threshold(ABC):
    """Decides from a score. Fitted on benign scores the model did not learn from."""

    kind: ClassVar[str]

    def __init__(self, floor: float = 0.0) -> None:
        self.floor = floor
        self.value = math.inf
        self.fitted = False

    def fit(self, benign_scores: npt.ArrayLike) -> Threshold:
        scores = np.asarray(benign_scores, dtype=np.float64).ravel()
        if scores.size == 0:
            raise ValueError("no benign scores to fit a threshold on")
        if not np.isfinite(scores).all():
            raise ValueError("benign scores must be finite")
        self.value = max(self._fit(scores), self.floor)
        self.fitted = True
        return self

    @abstractmethod
    def _fit(self, scores: F64) -> float:
        """The threshold these benign scores call for (before the floor)."""

    def __call__(self, score: float) -> bool:
        return bool(self.flags(np.asarray([score]))[0])

    def flags(self, scores: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where a score is anomalous (strictly above the threshold)."""
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__} used before fit()")
        return np.asarray(scores, dtype=np.float64) > self.value

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "floor": self.floor, "value": self.value,
                "fitted": self.fitted, **self._params()}

    @abstractmethod
    def _params(self) -> dict[str, Any]: ...

    @staticmethod
    def from_json(doc: dict[str, Any]) -> Threshold:
        kinds: dict[str, type[Threshold]] = {
            QuantileThreshold.kind: QuantileThreshold,
            MeanStdThreshold.kind: MeanStdThreshold,
        }
        cls = kinds.get(doc.get("kind", ""))
        if cls is None:
            raise ValueError(f"unknown threshold kind {doc.get('kind')!r}")
        params = {k: v for k, v in doc.items() if k not in ("kind", "value", "fitted")}
        thr = cls(**params)
        thr.value = float(doc["value"])
        thr.fitted = bool(doc["fitted"])
        return thr


class QuantileThreshold(Threshold):
    """``margin`` times the ``q`` quantile of benign scores (``q=1``: their maximum)."""

    kind = "quantile"

    def __init__(self, q: float = 0.999, margin: float = 1.0, floor: float = 0.0) -> None:
        if not 0.0 < q <= 1.0 or margin <= 0.0:
            raise ValueError(f"need 0 < q <= 1 and margin > 0: q={q}, margin={margin}")
        super().__init__(floor)
        self.q = q
        self.margin = margin

    def _fit(self, scores: F64) -> float:
        return float(np.quantile(scores, self.q)) * self.margin

    def _params(self) -> dict[str, Any]:
        return {"q": self.q, "margin": self.margin}


class MeanStdThreshold(Threshold):
    """Mean plus ``k`` standard deviations of benign scores; with ``log`` on log scores
    (anomaly scores are often close to log-normal, as Kitsune observed)."""

    kind = "mean-std"

    def __init__(self, k: float = 3.0, log: bool = False, floor: float = 0.0) -> None:
        if k < 0.0:
            raise ValueError(f"k must be >= 0: {k}")
        super().__init__(floor)
        self.k = k
        self.log = log

    def _fit(self, scores: F64) -> float:
        if self.log:
            logs = np.log(np.maximum(scores, 1e-300))
            return float(np.exp(logs.mean() + self.k * logs.std()))
        return float(scores.mean() + self.k * scores.std())

    def _params(self) -> dict[str, Any]:
        return {"k": self.k, "log": self.log}
