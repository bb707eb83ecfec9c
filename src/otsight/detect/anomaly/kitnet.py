"""KitNET: an ensemble of small autoencoders with an output autoencoder over their errors.

After Mirsky et al., "Kitsune: An Ensemble of Autoencoders for Online Network Intrusion
Detection" (NDSS 2018), re-implemented from the paper's description:

1. mapping grace period (``mapping_samples`` rows): correlation statistics of the features,
   then single-linkage clustering into groups of at most ``max_ae`` features (:mod:`.cluster`);
2. training: every row trains each group's autoencoder (hidden layer ``hidden_ratio`` of its
   inputs) and the output autoencoder on the vector of the ensemble's RMSEs; the score of a row
   is the output autoencoder's RMSE.

Training is plain per-sample SGD, exactly as in the paper, but compiled (numba) so it costs a
few microseconds per row rather than Python per row. Scoring is vectorised over the batch with
numpy (two small products per group, by einsum: single-threaded on purpose). Rows are learned
in the order given; features must come in the same column order at scoring time. Before the
map exists the model scores 0.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .base import F64, AnomalyModel
from .cluster import CorrelationStats, single_linkage_groups
from .kitnet_kernel import SPAN_REL, train_ensemble
from .persist import Arrays


class KitNET(AnomalyModel):
    kind: ClassVar[str] = "kitnet"

    def __init__(
        self,
        n_features: int,
        max_ae: int = 10,
        hidden_ratio: float = 0.75,
        learning_rate: float = 0.1,
        mapping_samples: int = 5000,
        seed: int = 0,
    ) -> None:
        if n_features < 1 or max_ae < 1 or not 0.0 < hidden_ratio <= 1.0:
            raise ValueError("need n_features >= 1, max_ae >= 1, 0 < hidden_ratio <= 1")
        if learning_rate <= 0.0 or mapping_samples < 0:
            raise ValueError("need learning_rate > 0 and mapping_samples >= 0")
        self.n_features = n_features
        self.max_ae = max_ae
        self.hidden_ratio = hidden_ratio
        self.learning_rate = learning_rate
        self.mapping_samples = mapping_samples
        self.seed = seed
        self.corr = CorrelationStats(n_features)
        self.groups: list[list[int]] = []
        self.trained = 0  # rows trained on after the map was built
        self._arrays: Arrays = {}
        self._scorer: _Scorer | None = None

    # ------------------------------------------------------------------ learning

    @property
    def mapped(self) -> bool:
        return bool(self.groups)

    def learn_many(self, X: npt.ArrayLike) -> None:
        arr = self._matrix(X)
        if not self.mapped:
            need = self.mapping_samples - self.corr.n
            self.corr.update(arr[:need])
            arr = arr[max(need, 0):]
            if self.corr.n < self.mapping_samples:
                return
            self.build_map()
        if arr.shape[0]:
            self.train(np.ascontiguousarray(arr))

    def build_map(self) -> None:
        """End the mapping grace period now (a detector calls this at a packet-time boundary)."""
        if self.mapped:
            return
        self.groups = single_linkage_groups(self.corr.distance(), self.max_ae)
        rng = np.random.default_rng(self.seed)
        k = len(self.groups)
        vsize = np.array([len(g) for g in self.groups], dtype=np.int64)
        hsize = np.array([self._hidden(len(g)) for g in self.groups], dtype=np.int64)
        vmax, hmax = int(vsize.max()), int(hsize.max())
        feat = np.zeros((k, vmax), dtype=np.int64)
        W = np.zeros((k, vmax, hmax))
        for i, g in enumerate(self.groups):
            feat[i, : len(g)] = g
            W[i, : len(g), : hsize[i]] = self._init_weights(rng, len(g), int(hsize[i]))
        oh = self._hidden(k)
        self._arrays = {
            "feat": feat, "vsize": vsize, "hsize": hsize, "W": W,
            "hb": np.zeros((k, hmax)), "vb": np.zeros((k, vmax)),
            "nmin": np.full((k, vmax), np.inf), "nmax": np.full((k, vmax), -np.inf),
            "oW": self._init_weights(rng, k, oh), "ohb": np.zeros(oh), "ovb": np.zeros(k),
            "onmin": np.full(k, np.inf), "onmax": np.full(k, -np.inf),
        }

    def train(self, X: F64) -> F64:
        """Train on the rows of a C-contiguous ``X``; the rows' scores before each step."""
        if not self.mapped:
            self.build_map()
        a = self._arrays
        out = np.zeros(X.shape[0])
        train_ensemble(
            X, a["feat"], a["vsize"], a["hsize"], a["W"], a["hb"], a["vb"], a["nmin"],
            a["nmax"], a["oW"], a["ohb"], a["ovb"], a["onmin"], a["onmax"],
            self.learning_rate, out,
        )
        self.trained += X.shape[0]
        self._scorer = None
        return out

    def _hidden(self, v: int) -> int:
        return max(1, math.ceil(v * self.hidden_ratio))

    @staticmethod
    def _init_weights(rng: np.random.Generator, v: int, h: int) -> F64:
        bound = 1.0 / v
        return rng.uniform(-bound, bound, size=(v, h))

    # ------------------------------------------------------------------ scoring

    def score_many(self, X: npt.ArrayLike) -> F64:
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ValueError(
                f"KitNET expects rows of {self.n_features} features, got shape {arr.shape}"
            )
        scores = self.score_columns(np.ascontiguousarray(arr.T))
        if not np.isfinite(scores).all() and not np.isfinite(arr).all():
            raise ValueError("KitNET: non-finite feature values")
        return scores

    def score_columns(self, XT: npt.NDArray[np.floating[Any]]) -> F64:
        """Scores of the columns of ``XT`` (features x rows), computed in float32."""
        n = XT.shape[1]
        if not self.trained:
            return np.zeros(n)
        if self._scorer is None:
            self._scorer = _Scorer(self.groups, self._arrays)
        return self._scorer(XT).astype(np.float64)

    def explain(self, x: npt.ArrayLike, top: int = 3) -> list[tuple[int, float]]:
        """Features of one row that its autoencoders reconstructed worst: (index, error)."""
        row = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        if not self.trained:
            return []
        a = self._arrays
        found: list[tuple[int, float]] = []
        for k, g in enumerate(self.groups):
            v, h = len(g), int(a["hsize"][k])
            err = _errors(row[g], a["W"][k, :v, :h], a["hb"][k, :h], a["vb"][k, :v],
                          a["nmin"][k, :v], a["nmax"][k, :v])
            found += [(g[i], float(abs(err[i, 0]))) for i in range(v)]
        found.sort(key=lambda p: (-p[1], p[0]))
        return found[:top]

    # ------------------------------------------------------------------ state

    def state(self) -> tuple[Arrays, dict[str, Any]]:
        arrays: Arrays = {f"ae.{k}": v for k, v in self._arrays.items()}
        arrays |= {"corr.shift": self.corr.shift, "corr.s1": self.corr.s1,
                   "corr.s2": self.corr.s2}
        meta = {
            "n_features": self.n_features, "max_ae": self.max_ae,
            "hidden_ratio": self.hidden_ratio, "learning_rate": self.learning_rate,
            "mapping_samples": self.mapping_samples, "seed": self.seed,
            "groups": self.groups, "trained": self.trained, "corr_n": self.corr.n,
        }
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: Arrays, meta: dict[str, Any]) -> KitNET:
        model = cls(
            int(meta["n_features"]), int(meta["max_ae"]), float(meta["hidden_ratio"]),
            float(meta["learning_rate"]), int(meta["mapping_samples"]), int(meta["seed"]),
        )
        model.groups = [[int(i) for i in g] for g in meta["groups"]]
        model.trained = int(meta["trained"])
        model.corr.n = int(meta["corr_n"])
        model.corr.shift = arrays["corr.shift"].astype(np.float64)
        model.corr.s1 = arrays["corr.s1"].astype(np.float64)
        model.corr.s2 = arrays["corr.s2"].astype(np.float64)
        model._arrays = {k[3:]: v.copy() for k, v in arrays.items() if k.startswith("ae.")}
        return model


def _sigmoid(x: F64) -> F64:
    """Logistic function without overflow."""
    out: F64 = 0.5 + 0.5 * np.tanh(0.5 * x)
    return out


def _errors(XT: F64, W: F64, hb: F64, vb: F64, nmin: F64, nmax: F64) -> F64:
    """Reconstruction errors (inputs x rows) of normalised columns (float64, slow path)."""
    spans = np.maximum(nmax - nmin, SPAN_REL * np.maximum(1.0, np.maximum(abs(nmin), abs(nmax))))
    xn = (XT - nmin[:, None]) / spans[:, None]
    y = _sigmoid(W.T @ xn + hb[:, None])
    z = _sigmoid(W @ y + vb[:, None])
    out: F64 = xn - z
    return out


class _Layer:
    """One trained autoencoder prepared for fast float32 scoring.

    With ``s(u) = (1 + tanh(u / 2)) / 2`` the encoder's and decoder's halvings and the
    decoder's ``+1/2`` (it acts on ``t = 2y - 1``) are folded into the weights, so scoring is
    two matrix products, two tanh and a few in-place passes over the batch.
    """

    def __init__(self, W: F64, hb: F64, vb: F64, nmin: F64, nmax: F64) -> None:
        spans = np.maximum(
            nmax - nmin, SPAN_REL * np.maximum(1.0, np.maximum(abs(nmin), abs(nmax)))
        )
        f32 = np.float32
        self.enc = (0.5 * W.T).astype(f32)  # h x v
        self.enc_b = (0.5 * hb).astype(f32)[:, None]
        self.dec = (0.25 * W).astype(f32)  # v x h
        self.dec_b = (0.5 * (vb + 0.5 * W.sum(axis=1))).astype(f32)[:, None]
        self.nmin = nmin.astype(f32)[:, None]
        self.inv = (1.0 / spans).astype(f32)[:, None]

    def rmse(self, X: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """``X`` (inputs x rows) is overwritten."""
        X -= self.nmin  # subtract first: exact near the minimum, so constant inputs stay 0
        X *= self.inv
        # einsum, not BLAS: these products are tiny (a few rows) and OpenBLAS spreads them over
        # threads that fight the rest of the pipeline for the cores (3-10x slower when busy)
        t = np.einsum("hv,vn->hn", self.enc, X)
        t += self.enc_b
        np.tanh(t, out=t)
        u = np.einsum("vh,hn->vn", self.dec, t)
        u += self.dec_b
        np.tanh(u, out=u)
        u *= 0.5
        u += 0.5
        X -= u  # xn - z
        X *= X
        out: npt.NDArray[np.float32] = np.sqrt(X.mean(axis=0, dtype=np.float32))
        return out


class _Scorer:
    def __init__(self, groups: list[list[int]], a: Arrays) -> None:
        self.groups = [np.asarray(g, dtype=np.intp) for g in groups]
        self.layers = []
        for k, g in enumerate(groups):
            v, h = len(g), int(a["hsize"][k])
            self.layers.append(_Layer(a["W"][k, :v, :h], a["hb"][k, :h], a["vb"][k, :v],
                                      a["nmin"][k, :v], a["nmax"][k, :v]))
        self.out = _Layer(a["oW"], a["ohb"], a["ovb"], a["onmin"], a["onmax"])

    def __call__(self, XT: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
        errors = np.empty((len(self.groups), XT.shape[1]), dtype=np.float32)
        for k, (g, layer) in enumerate(zip(self.groups, self.layers, strict=True)):
            errors[k] = layer.rmse(XT[g].astype(np.float32, copy=False))  # XT[g] copies
        return self.out.rmse(errors)
