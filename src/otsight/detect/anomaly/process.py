"""Process-value models on register values: learned range, rate of change, forecast residual.

:class:`SeriesBank` holds every series (device, unit, register table, register) in one array
and runs the compiled kernel of :mod:`.process_kernel` over a batch of observations. The
single-series classes (:class:`RangeModel`, :class:`RateModel`, :class:`ForecastModel`) put one
series behind the shared :class:`~.base.AnomalyModel` contract (rows of ``[time, value]``) for
tests, documentation and offline use; they run the same kernel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .base import F64, AnomalyModel
from .persist import Arrays
from .process_kernel import (
    COLUMNS,
    LEARN,
    MAX_RATE,
    N_RES,
    SCORE,
    SUM_ABS_RES,
    VMAX,
    VMIN,
    N,
    process_values,
)

SeriesKey = tuple[str, int, str, int]  # (device address, unit id, register table, register)
SCORE_NAMES = ("range", "rate", "forecast")


@dataclass(frozen=True, slots=True)
class ProcessParams:
    """Smoothing of the Holt forecast, floors, and how much a series must learn first."""

    alpha: float = 0.3
    beta: float = 0.1
    dt_floor: float = 0.1  # seconds: two reads closer than this count as this far apart
    floor: float = 1.0  # smallest span / rate / residual scale, in register units
    min_learn: int = 5

    def __post_init__(self) -> None:
        if not (0.0 < self.alpha <= 1.0 and 0.0 <= self.beta <= 1.0):
            raise ValueError(f"need 0 < alpha <= 1, 0 <= beta <= 1: {self.alpha}, {self.beta}")
        if self.dt_floor <= 0.0 or self.floor <= 0.0 or self.min_learn < 1:
            raise ValueError("need dt_floor > 0, floor > 0, min_learn >= 1")


class SeriesBank:
    """Every series' state in one array, rows handed out in order of first sight."""

    def __init__(self, params: ProcessParams | None = None) -> None:
        self.params = params or ProcessParams()
        self.keys: list[SeriesKey] = []
        self.rows: dict[SeriesKey, int] = {}
        self.state = np.zeros((64, COLUMNS))

    def row(self, key: SeriesKey) -> int:
        r = self.rows.get(key)
        if r is None:
            r = len(self.keys)
            if r == self.state.shape[0]:
                self.state = np.concatenate([self.state, np.zeros_like(self.state)])
            self.rows[key] = r
            self.keys.append(key)
        return r

    def run(
        self,
        rows: npt.NDArray[np.int64],
        t: F64,
        v: F64,
        modes: npt.NDArray[np.int64],
        state: F64 | None = None,
    ) -> tuple[F64, F64]:
        """Scores (n x 3: range, rate, forecast) and previous values, in observation order.

        ``state`` defaults to the bank's own (updated in place); pass a copy to look ahead.
        """
        n = rows.shape[0]
        scores = np.zeros((n, 3))
        prev = np.zeros(n)
        p = self.params
        process_values(
            rows, t, v, modes, self.state if state is None else state, p.alpha, p.beta,
            p.dt_floor, p.floor, float(p.min_learn), scores, prev,
        )
        return scores, prev

    def learned(self, row: int) -> dict[str, float]:
        """What a row learned, for explanations."""
        s = self.state[row]
        mean_res = s[SUM_ABS_RES] / s[N_RES] if s[N_RES] > 0 else 0.0
        return {"n": float(s[N]), "min": float(s[VMIN]), "max": float(s[VMAX]),
                "max_rate": float(s[MAX_RATE]), "mean_abs_residual": float(mean_res)}

    def state_arrays(self) -> tuple[Arrays, dict[str, Any]]:
        return (
            {"series": self.state[: len(self.keys)].copy()},
            {"params": asdict(self.params), "keys": [list(k) for k in self.keys]},
        )

    @classmethod
    def from_state(cls, arrays: Arrays, meta: dict[str, Any]) -> SeriesBank:
        bank = cls(ProcessParams(**meta["params"]))
        for k in meta["keys"]:
            bank.row((str(k[0]), int(k[1]), str(k[2]), int(k[3])))
        series = np.asarray(arrays["series"], dtype=np.float64)
        if series.shape != (len(bank.keys), COLUMNS):
            raise ValueError(f"series state of shape {series.shape} for {len(bank.keys)} keys")
        bank.state[: len(bank.keys)] = series
        return bank


class _SingleSeries(AnomalyModel):
    """One series behind the model contract: rows are ``[time_s, value]`` in time order."""

    column: ClassVar[int]
    n_features = 2

    def __init__(self, params: ProcessParams | None = None) -> None:
        self.bank = SeriesBank(params)
        self.bank.row(("", 0, "", 0))

    def _run(self, X: npt.ArrayLike, mode: int, state: F64 | None) -> F64:
        arr = self._matrix(X)
        n = arr.shape[0]
        scores, _ = self.bank.run(
            np.zeros(n, np.int64), np.ascontiguousarray(arr[:, 0]),
            np.ascontiguousarray(arr[:, 1]), np.full(n, mode, np.int64), state,
        )
        out: F64 = scores[:, self.column].copy()
        return out

    def learn_many(self, X: npt.ArrayLike) -> None:
        self._run(X, LEARN, None)

    def score_many(self, X: npt.ArrayLike) -> F64:
        return self._run(X, SCORE, self.bank.state.copy())

    def state(self) -> tuple[Arrays, dict[str, Any]]:
        return self.bank.state_arrays()

    @classmethod
    def from_state(cls, arrays: Arrays, meta: dict[str, Any]) -> _SingleSeries:
        model = cls()
        model.bank = SeriesBank.from_state(arrays, meta)
        return model


class RangeModel(_SingleSeries):
    """Distance outside the learned range, in spans of that range."""

    kind = "process-range"
    column = 0


class RateModel(_SingleSeries):
    """Rate of change over the largest rate learned."""

    kind = "process-rate"
    column = 1


class ForecastModel(_SingleSeries):
    """Holt forecast residual over the mean absolute residual learned."""

    kind = "process-forecast"
    column = 2
