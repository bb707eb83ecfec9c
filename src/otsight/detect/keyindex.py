"""Dense, order-preserving codes for rows of uint64 key columns, without sorting the rows.

Why: a detector that counts packets per destination (and second) every batch would otherwise
sort the whole batch by key; looking each row up in a perfect hash of the keys seen so far is
a few gathers and compares per row, several times cheaper. Keys are codes in lexicographic key
order, so whatever is ordered by code is ordered by key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
INTP = npt.NDArray[np.intp]

# Odd 64-bit multipliers: one per key column (mixing), then one per attempt at a perfect hash.
_COLUMN_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)
_SEEDS = (0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB,
          0xBF58476D1CE4E5B9, 0x2545F4914F6CDD1D, 0x9FB21C651E98DF25, 0xA0761D6478BD642F)
MAX_HASH_BITS = 20  # a slot table of at most 8 MB (some 1000 keys; usually a few dozen kB)


class KeyIndex:
    """Order-preserving dense codes for keys of ``width`` uint64 columns, without sorting rows.

    The distinct keys met so far (at most ``max_keys``) each get a slot of their own in a table
    addressed by a multiplicative hash (a perfect hash, chosen again when keys are added), so
    coding a batch's rows is a few vectorised gathers and compares per row, where sorting them
    costs several times more. A key's code is its rank in lexicographic key order, so whatever
    is ordered by code is ordered by key. :meth:`codes` answers None when the keys do not fit
    (too many distinct keys, or no perfect hash found): the caller sorts instead.
    """

    def __init__(self, width: int, max_keys: int = 2048) -> None:
        if not 1 <= width <= len(_COLUMN_MIX):
            raise ValueError(f"key width must be 1..{len(_COLUMN_MIX)}")
        self.width = width
        self.max_keys = max_keys
        self.clear()

    def __len__(self) -> int:
        return int(self.keys[0].shape[0])

    def clear(self) -> None:
        self.keys: list[U64] = [np.zeros(0, np.uint64) for _ in range(self.width)]  # by rank
        # slot -> rank. An empty slot holds 0 too: a row is matched by comparing its key with
        # the key of that rank, so an empty slot never matches a row by mistake.
        self._slots = np.zeros(1, np.int64)
        self._seed = np.uint64(_SEEDS[0])
        self._shift = np.uint64(63)

    def _mixed(self, cols: Sequence[U64]) -> U64:
        mixed = cols[0] * np.uint64(_COLUMN_MIX[0])
        for col, factor in zip(cols[1:], _COLUMN_MIX[1:], strict=False):
            mixed ^= col * np.uint64(factor)
        return mixed

    def _slot(self, mixed: U64, seed: np.uint64, shift: np.uint64) -> INTP:
        return ((mixed * seed) >> shift).astype(np.intp)

    def find(self, cols: Sequence[U64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Each row's code, and whether its key is in the index (where not, the code is
        meaningless)."""
        n = int(cols[0].shape[0])
        if not len(self):
            return np.zeros(n, np.int64), np.zeros(n, np.bool_)
        codes = self._slots[self._slot(self._mixed(cols), self._seed, self._shift)]
        found = self.keys[0][codes] == cols[0]
        for col, keys in zip(cols[1:], self.keys[1:], strict=True):
            found &= keys[codes] == col
        return codes, found

    def add(self, cols: Sequence[U64], rows: INTP) -> bool:
        """Add the keys of ``cols`` at ``rows`` (none of them in the index yet); False, and the
        index emptied, when they do not fit."""
        new = [col[rows] for col in cols]
        order = np.lexsort(new[::-1])
        new = [col[order] for col in new]
        distinct = np.ones(order.shape[0], np.bool_)
        for col in new:
            distinct[1:] &= col[1:] == col[:-1]
        distinct[1:] = ~distinct[1:]  # first row of each distinct key
        if len(self) + int(distinct.sum()) > self.max_keys:
            self.clear()
            return False
        merged = [np.concatenate([keys, col[distinct]]) for keys, col in zip(self.keys, new,
                                                                              strict=True)]
        by_rank = np.lexsort(merged[::-1])
        self.keys = [col[by_rank] for col in merged]
        if not self._rehash():
            self.clear()
            return False
        return True

    def _rehash(self) -> bool:
        """A hash under which every key has a slot of its own (a few tries per table size)."""
        count = len(self)
        mixed = self._mixed(self.keys)
        low = max(8, 2 * count.bit_length() - 1)  # about count**2 / 2 slots
        for bits in range(min(low, MAX_HASH_BITS), min(low + 2, MAX_HASH_BITS) + 1):
            shift = np.uint64(64 - bits)
            for seed in _SEEDS:
                slot = self._slot(mixed, np.uint64(seed), shift)
                if np.unique(slot).shape[0] == count:
                    self._slots = np.zeros(1 << bits, np.int64)
                    self._slots[slot] = np.arange(count, dtype=np.int64)
                    self._seed, self._shift = np.uint64(seed), shift
                    return True
        return False

    def codes(self, cols: Sequence[U64]) -> npt.NDArray[np.int64] | None:
        """Each row's code (new keys are added first), or None when they do not fit."""
        codes, found = self.find(cols)
        if not found.all():
            if not self.add(cols, np.flatnonzero(~found)):
                return None
            codes, found = self.find(cols)  # codes of older keys move up as keys are added
        return codes
