"""Damped incremental statistics per key, compiled (the hot path of :mod:`.features`).

Each key (a host, a channel, a socket) owns a row of running sums that decay by
``2 ** (-lambda * dt)`` with packet time, one set per decay rate, as in Kitsune's AfterImage.
Keys live in open-addressing hash tables held in numpy arrays: ``index`` maps a hash bucket to a
row, ``keys`` holds the row's key words. When a table is full a kernel returns the packet index
it stopped at, so Python can grow or purge the table (rare) and call it again from there.

Single-key rows hold their last update time and, per decay rate: ``w, ls, ss`` (weight, linear
and squared sum of packet sizes) and ``wi, lsi, ssi`` (the same for inter-arrival times). Pair
rows (channel, socket) hold that per direction, plus ``sr, w3`` (decayed sum of residual
products and its weight) and each direction's last residual, from which magnitude, radius,
covariance and correlation follow. Each row is one contiguous float64 record.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...core.jit import kernel

KEY_WORDS = 6
SINGLE_STATS = 5  # per decay rate: w, mean, std of sizes; mean, std of inter-arrival times
PAIR_STATS = 9  # the five above for the packet's direction, then magnitude, radius, cov, pcc
VAR_REL = 1e-9
TINY = 1e-30
HUGE = 1e30
LN2 = math.log(2.0)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S1 = np.uint64(1)


@kernel
def key_hash(keys: Any, i: int) -> np.uint64:
    """One multiply per key word, then a final avalanche (murmur3's finaliser)."""
    h = _GOLD
    for k in range(keys.shape[1]):
        h = (h ^ keys[i, k]) * _M1
    h = (h ^ (h >> _S30)) * _M2
    return h ^ (h >> _S31)


@kernel
def bucket(h: np.uint64, mask: int) -> int:
    """A hash's bucket in a power-of-two table (kept in signed integers for indexing)."""
    return int(np.int64(h >> _S1) & mask)


@kernel
def find_or_insert(
    qkeys: Any, i: int, tab_keys: Any, index: Any, count: Any, cap: int
) -> tuple[int, bool]:
    """Row of key ``qkeys[i]`` (inserted if new); (-1, False) when the table is full."""
    mask = index.shape[0] - 1
    b = bucket(key_hash(qkeys, i), mask)
    while True:
        r = index[b]
        if r < 0:
            if count[0] >= cap:
                return -1, False
            r = count[0]
            count[0] = r + 1
            for k in range(qkeys.shape[1]):
                tab_keys[r, k] = qkeys[i, k]
            index[b] = r
            return r, True
        same = True
        for k in range(qkeys.shape[1]):
            if tab_keys[r, k] != qkeys[i, k]:
                same = False
                break
        if same:
            return r, False
        b = (b + 1) & mask


@kernel
def rebuild_index(tab_keys: Any, count: int, index: Any) -> None:
    """Fill an emptied ``index`` (all -1) with rows ``0..count-1``."""
    mask = index.shape[0] - 1
    for r in range(count):
        b = bucket(key_hash(tab_keys, r), mask)
        while index[b] >= 0:
            b = (b + 1) & mask
        index[b] = r


@kernel
def clean(x: float) -> float:
    """A value fit for float32 output: tiny magnitudes are 0 (denormals make every later
    product slow), huge ones are capped, NaN is 0."""
    if math.isnan(x) or abs(x) < TINY:
        return 0.0
    return min(max(x, -HUGE), HUGE)


@kernel
def decay_factor(lam: float, dt: float) -> float:
    """``2 ** (-lam * dt)``; factors below ``TINY`` are 0, so a long-idle key starts afresh
    (and no denormal numbers, which make every later product slow, ever appear)."""
    f = math.exp(-LN2 * lam * dt)
    return f if f >= TINY else 0.0


@kernel
def variance(mean_sq: float, var: float) -> float:
    """``E[x^2] - mean^2`` with rounding noise removed: below ``VAR_REL * mean^2`` it is 0, so
    a constant stream has exactly zero spread (and no correlation made of noise)."""
    return var if var > VAR_REL * mean_sq else 0.0


@kernel
def update_single(
    start: int,
    qkeys: Any,
    t: Any,
    size: Any,
    decay: Any,
    tab_keys: Any,
    index: Any,
    count: Any,
    rec: Any,
    out: Any,
    col0: int,
) -> int:
    """Update single-key rows for packets ``start..``; returns where it stopped (n if done).

    A row of ``rec`` is ``[t, then per decay rate: w, ls, ss, wi, lsi, ssi]``, decayed by
    ``2 ** (-decay[j] * dt)``. Every output cell of the kind's columns is written (``out`` may
    be uninitialised).
    """
    n: int = qkeys.shape[0]
    nl = decay.shape[0]
    cap = tab_keys.shape[0]
    for i in range(start, n):
        r, new = find_or_insert(qkeys, i, tab_keys, index, count, cap)
        if r < 0:
            return i
        ti = t[i]
        v = size[i]
        dt = 0.0 if new else max(ti - rec[r, 0], 0.0)
        for j in range(nl):
            b = 1 + 6 * j
            if new:
                w = 1.0
                ls = v
                ss = v * v
                wi = 0.0
                lsi = 0.0
                ssi = 0.0
            else:
                f = decay_factor(decay[j], dt) if dt > 0.0 else 1.0
                w = rec[r, b] * f + 1.0
                ls = rec[r, b + 1] * f + v
                ss = rec[r, b + 2] * f + v * v
                wi = rec[r, b + 3] * f + 1.0
                lsi = rec[r, b + 4] * f + dt
                ssi = rec[r, b + 5] * f + dt * dt
            rec[r, b] = w
            rec[r, b + 1] = ls
            rec[r, b + 2] = ss
            rec[r, b + 3] = wi
            rec[r, b + 4] = lsi
            rec[r, b + 5] = ssi
            inv = 1.0 / w
            mean = ls * inv
            c = col0 + j * 5
            out[c, i] = w
            out[c + 1, i] = mean
            out[c + 2, i] = math.sqrt(variance(mean * mean, ss * inv - mean * mean))
            if wi > 0.0:
                inv = 1.0 / wi
                imean = lsi * inv
                out[c + 3, i] = imean
                ivar = variance(imean * imean, ssi * inv - imean * imean)
                out[c + 4, i] = math.sqrt(ivar)
            else:
                out[c + 3, i] = 0.0
                out[c + 4, i] = 0.0
        rec[r, 0] = ti if new else max(ti, rec[r, 0])
    return n


# pair row layout: t, last time per direction, seen per direction, then per decay rate a block
# of 16: the six sums of direction 0, of direction 1, sr, w3, last residual of each direction
PAIR_HEAD = 5
PAIR_BLOCK = 16


@kernel
def update_pair(
    start: int,
    qkeys: Any,
    direction: Any,
    t: Any,
    size: Any,
    decay: Any,
    tab_keys: Any,
    index: Any,
    count: Any,
    rec: Any,
    out: Any,
    col0: int,
) -> int:
    """Update pair rows (canonical key, ``direction`` 0 or 1) for packets ``start..``.

    One contiguous row per pair (layout above) keeps a packet's update within a few adjacent
    cache lines, which matters once there are more conversations than the cache holds.
    """
    n: int = qkeys.shape[0]
    nl = decay.shape[0]
    cap = tab_keys.shape[0]
    width = rec.shape[1]
    for i in range(start, n):
        r, new = find_or_insert(qkeys, i, tab_keys, index, count, cap)
        if r < 0:
            return i
        ti = t[i]
        v = size[i]
        d = direction[i]
        o = 1 - d
        if new:
            for k in range(width):
                rec[r, k] = 0.0
        dt = 0.0 if new else max(ti - rec[r, 0], 0.0)
        had = rec[r, 3 + d] != 0.0
        iat = max(ti - rec[r, 1 + d], 0.0) if had else 0.0
        for j in range(nl):
            b = PAIR_HEAD + PAIR_BLOCK * j
            bd = b + 6 * d
            bo = b + 6 * o
            if dt > 0.0:
                f = decay_factor(decay[j], dt)
                for k in range(14):
                    rec[r, b + k] *= f
            w = rec[r, bd] + 1.0
            ls = rec[r, bd + 1] + v
            ss = rec[r, bd + 2] + v * v
            rec[r, bd] = w
            rec[r, bd + 1] = ls
            rec[r, bd + 2] = ss
            if had:
                wi = rec[r, bd + 3] + 1.0
                lsi = rec[r, bd + 4] + iat
                ssi = rec[r, bd + 5] + iat * iat
                rec[r, bd + 3] = wi
                rec[r, bd + 4] = lsi
                rec[r, bd + 5] = ssi
            else:
                wi = rec[r, bd + 3]
                lsi = rec[r, bd + 4]
                ssi = rec[r, bd + 5]
            inv = 1.0 / w
            mean = ls * inv
            var = variance(mean * mean, ss * inv - mean * mean)
            std = math.sqrt(var)
            wo = rec[r, bo]
            omean = 0.0
            ovar = 0.0
            if wo > 0.0:
                inv = 1.0 / wo
                omean = rec[r, bo + 1] * inv
                ovar = variance(omean * omean, rec[r, bo + 2] * inv - omean * omean)
            res = v - mean
            sr = rec[r, b + 12] + res * rec[r, b + 14 + o]
            w3 = rec[r, b + 13] + 1.0
            rec[r, b + 12] = sr
            rec[r, b + 13] = w3
            rec[r, b + 14 + d] = res
            cov = sr / w3
            c = col0 + j * 9
            out[c, i] = w
            out[c + 1, i] = mean
            out[c + 2, i] = std
            if wi > 0.0:
                inv = 1.0 / wi
                imean = lsi * inv
                out[c + 3, i] = imean
                ivar = variance(imean * imean, ssi * inv - imean * imean)
                out[c + 4, i] = math.sqrt(ivar)
            else:
                out[c + 3, i] = 0.0
                out[c + 4, i] = 0.0
            out[c + 5, i] = math.sqrt(mean * mean + omean * omean)
            out[c + 6, i] = math.sqrt(var + ovar)
            out[c + 7, i] = clean(cov)
            den = math.sqrt(var * ovar)
            out[c + 8, i] = clean(min(max(cov / den, -1.0), 1.0)) if den > 0.0 else 0.0
        rec[r, 0] = ti if new else max(ti, rec[r, 0])
        rec[r, 1 + d] = ti if not had else max(ti, rec[r, 1 + d])
        rec[r, 3 + d] = 1.0
    return n
