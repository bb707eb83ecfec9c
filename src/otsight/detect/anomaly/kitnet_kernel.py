"""KitNET training, compiled: plain per-sample SGD over every autoencoder of the ensemble.

Each autoencoder has tied weights ``W`` (visible x hidden), sigmoid units and a cross-entropy
gradient (the error at the output is ``x - z``), and normalises its inputs by the running
minimum and maximum it has seen, as Kitsune's denoising autoencoders do (without corruption;
see :func:`span` for the one departure).
Weights of all ensemble members share padded arrays so one kernel trains them all.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...core.jit import kernel

SPAN_REL = 1e-6


@kernel
def span(lo: float, hi: float) -> float:
    """The normalising span of an input seen between ``lo`` and ``hi``.

    Kitsune divides by ``hi - lo + 1e-16``; a floor relative to the magnitude keeps inputs that
    never varied while learning hugely anomalous when they change, but finite in float32.
    """
    return max(hi - lo, SPAN_REL * max(1.0, abs(lo), abs(hi)))


@kernel
def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@kernel
def train_one(
    x: Any, v: int, h: int, W: Any, hb: Any, vb: Any, nmin: Any, nmax: Any, lr: float,
    xn: Any, y: Any, z: Any, err: Any, dh: Any,
) -> float:
    """One SGD step of one autoencoder on ``x[:v]``; returns the RMSE before the step."""
    for a in range(v):
        nmin[a] = min(nmin[a], x[a])
        nmax[a] = max(nmax[a], x[a])
        xn[a] = (x[a] - nmin[a]) / span(nmin[a], nmax[a])
    for b in range(h):
        acc = hb[b]
        for a in range(v):
            acc += xn[a] * W[a, b]
        y[b] = _sigmoid(acc)
    sq = 0.0
    for a in range(v):
        acc = vb[a]
        for b in range(h):
            acc += y[b] * W[a, b]
        z[a] = _sigmoid(acc)
        err[a] = xn[a] - z[a]
        sq += err[a] * err[a]
    for b in range(h):
        acc = 0.0
        for a in range(v):
            acc += err[a] * W[a, b]
        dh[b] = acc * y[b] * (1.0 - y[b])
    for a in range(v):
        for b in range(h):
            W[a, b] += lr * (xn[a] * dh[b] + err[a] * y[b])
        vb[a] += lr * err[a]
    for b in range(h):
        hb[b] += lr * dh[b]
    return math.sqrt(sq / v)


@kernel
def train_ensemble(
    X: Any,
    feat: Any,
    vsize: Any,
    hsize: Any,
    W: Any,
    hb: Any,
    vb: Any,
    nmin: Any,
    nmax: Any,
    oW: Any,
    ohb: Any,
    ovb: Any,
    onmin: Any,
    onmax: Any,
    lr: float,
    out: Any,
) -> None:
    """Train on the rows of ``X`` (samples x features) in order; ``out`` gets each sample's
    output-layer RMSE before its step."""
    k_count = feat.shape[0]
    vmax = max(feat.shape[1], oW.shape[0])
    hmax = max(W.shape[2], oW.shape[1])
    x = np.empty(vmax)
    xn = np.empty(vmax)
    y = np.empty(hmax)
    z = np.empty(vmax)
    err = np.empty(vmax)
    dh = np.empty(hmax)
    rmse = np.empty(k_count)
    for i in range(X.shape[0]):
        for k in range(k_count):
            v = vsize[k]
            for a in range(v):
                x[a] = X[i, feat[k, a]]
            rmse[k] = train_one(
                x, v, hsize[k], W[k], hb[k], vb[k], nmin[k], nmax[k], lr, xn, y, z, err, dh
            )
        out[i] = train_one(
            rmse, k_count, oW.shape[1], oW, ohb, ovb, onmin, onmax, lr, xn, y, z, err, dh
        )
