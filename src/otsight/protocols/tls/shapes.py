"""Parse results remembered by the bytes the parse depended on ("shapes").

A TLS peer sends nearly the same hello on every connection: only its random, session id,
key_share public key and a few opaque extension contents change. A parse that never reads
those spans gives the same result for any message of the same length that has the same bytes
everywhere else, so a later message is matched with a few byte comparisons instead of being
parsed again. Matching is exact: the caller names every span its parse did not read (or reads
again per message), and all the other bytes must be equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

# A variable span shorter than this is compared with the rest: one more piece to compare
# costs more than a few more bytes in a piece (and a short span rarely varies anyway).
SPAN_MIN = 16


class Shape(Generic[T]):
    """A message's bytes outside its variable spans, and the parse of that message (not
    changed once made; a plain slotted class as it is built for every new shape)."""

    __slots__ = ("extra", "pieces", "value")

    def __init__(
        self, pieces: tuple[tuple[int, bytes], ...], value: T, extra: tuple[int, int] | None
    ) -> None:
        self.pieces = pieces  # (offset, bytes) that a match must have
        self.value = value  # the parse (immutable: it is handed to every matching message)
        self.extra = extra  # a span the caller reads again for each message

    def matches(self, body: bytes) -> bool:
        """Whether ``body`` (of this shape's length) has every piece at its offset."""
        # A loop, not all(...): a generator costs more, and this runs for every hello.
        for offset, piece in self.pieces:  # noqa: SIM110
            if not body.startswith(piece, offset):
                return False
        return True


class ShapeCache(Generic[T]):
    """Shapes by message length, newest first, bounded both ways: a length keeps its newest
    ``per_length`` shapes, and all are dropped when ``lengths`` lengths are held."""

    def __init__(self, lengths: int = 512, per_length: int = 4) -> None:
        self.lengths = lengths
        self.per_length = per_length
        self.by_length: dict[int, list[Shape[T]]] = {}

    def __len__(self) -> int:
        return sum(len(shapes) for shapes in self.by_length.values())

    def find(self, body: bytes) -> Shape[T] | None:
        """The remembered shape that ``body`` matches, if any."""
        shapes = self.by_length.get(len(body))
        if shapes is not None:
            for shape in shapes:
                if shape.matches(body):
                    return shape
        return None

    def add(
        self,
        body: bytes,
        variable: Iterable[tuple[int, int]],
        value: T,
        extra: tuple[int, int] | None = None,
    ) -> None:
        """Remember ``value`` as the parse of every message of ``body``'s length that has
        its bytes outside the ``variable`` (start, stop) spans, which must be disjoint."""
        pieces = []
        pos = 0
        for start, stop in sorted(variable):
            if stop - start < SPAN_MIN:
                continue
            if start > pos:
                pieces.append((pos, body[pos:start]))
            pos = max(pos, stop)
        if pos < len(body):
            pieces.append((pos, body[pos:]))
        shape = Shape(tuple(pieces), value, extra)
        shapes = self.by_length.get(len(body))
        if shapes is None:
            if len(self.by_length) >= self.lengths:
                self.by_length.clear()
            self.by_length[len(body)] = [shape]
        else:
            shapes.insert(0, shape)
            del shapes[self.per_length :]
