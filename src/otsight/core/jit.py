"""One place that decides how hot-path kernels are compiled.

Kernels are plain Python functions over numpy arrays, compiled by numba when it is available.
With ``NUMBA_DISABLE_JIT=1`` they run as ordinary Python, which the fuzz tests use to prove the
kernels never index out of bounds (an out-of-bounds read raises IndexError there, while compiled
code would silently read garbage).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

try:
    import numba
except ImportError:  # pragma: no cover - numba is a declared dependency
    numba = None  # type: ignore[assignment]


def kernel(func: F) -> F:
    """Compile ``func`` with numba (cached on disk, GIL released) if numba is importable."""
    if numba is None:  # pragma: no cover
        return func
    compiled: Any = numba.njit(cache=True, nogil=True, boundscheck=False)(func)
    return cast(F, compiled)
