"""Feature mapping: group correlated features so each small autoencoder sees one group.

As in Kitsune, the distance between two features is ``1 - correlation`` measured on the
mapping grace period; single-linkage agglomerative clustering builds a tree, which is cut
top-down until every group has at most ``max_size`` features. Ties break on the lowest index,
so the same data always gives the same groups.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


class CorrelationStats:
    """Running sums for the correlation matrix of feature rows (shifted for stability)."""

    def __init__(self, n_features: int) -> None:
        self.n = 0
        self.shift = np.zeros(n_features)
        self.s1 = np.zeros(n_features)
        self.s2 = np.zeros((n_features, n_features))

    def update(self, X: F64) -> None:
        if X.shape[0] == 0:
            return
        if self.n == 0:
            self.shift = X[0].copy()
        centred = X - self.shift
        self.n += X.shape[0]
        self.s1 += centred.sum(axis=0)
        self.s2 += centred.T @ centred

    def distance(self) -> F64:
        """``1 - corr`` clipped to [0, 2]; a constant feature is at distance 1 from all."""
        f = self.s1.shape[0]
        d: F64 = np.ones((f, f))
        if self.n < 2:
            np.fill_diagonal(d, 0.0)
            return d
        mean = self.s1 / self.n
        cov = self.s2 / self.n - np.outer(mean, mean)
        std = np.sqrt(np.maximum(np.diag(cov), 0.0))
        den = np.outer(std, std)
        corr = np.divide(cov, den, out=np.zeros_like(cov), where=den > 0.0)
        d = np.clip(1.0 - corr, 0.0, 2.0)
        np.fill_diagonal(d, 0.0)
        return d


def single_linkage_groups(distance: F64, max_size: int) -> list[list[int]]:
    """Groups of at most ``max_size`` feature indices from a square distance matrix."""
    f = distance.shape[0]
    if max_size < 1:
        raise ValueError(f"max_size must be >= 1: {max_size}")
    if f == 0:
        return []
    # children[node] for internal nodes f.., members for leaves; node ids as in a dendrogram
    children: dict[int, tuple[int, int]] = {}
    size = {i: 1 for i in range(f)}
    d = distance.astype(np.float64, copy=True)
    np.fill_diagonal(d, np.inf)
    node_of = list(range(f))  # matrix slot -> current tree node
    for new in range(f, 2 * f - 1):
        flat = int(np.argmin(d))
        i, j = divmod(flat, f)
        a, b = min(i, j), max(i, j)
        na, nb = node_of[a], node_of[b]
        children[new] = (na, nb)
        size[new] = size[na] + size[nb]
        merged = np.minimum(d[a], d[b])
        d[a, :] = merged
        d[:, a] = merged
        d[a, a] = np.inf
        d[b, :] = np.inf
        d[:, b] = np.inf
        node_of[a] = new
    root = 2 * f - 2
    groups: list[list[int]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if size[node] <= max_size:
            groups.append(sorted(_leaves(node, children)))
        else:
            left, right = children[node]
            stack.extend((right, left))
    groups.sort(key=lambda g: g[0])
    return groups


def _leaves(node: int, children: dict[int, tuple[int, int]]) -> list[int]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if n in children:
            stack.extend(children[n])
        else:
            out.append(n)
    return out
