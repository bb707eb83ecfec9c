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

try:  # numba internals, used only to load cached kernels faster (see _KernelCache)
    from numba.core.caching import FunctionCache
    from numba.core.runtime.nrt import rtsys
except ImportError:  # pragma: no cover - a numba without them loads the usual way
    FunctionCache = None  # type: ignore[assignment,misc]


if FunctionCache is not None and hasattr(FunctionCache, "_load_overload"):

    class _KernelCache(FunctionCache):
        """numba's on-disk function cache, without the registry refresh before each load.

        Before loading a cached kernel numba refreshes its whole compiler context, importing
        some forty modules of typing and lowering registries (0.1-0.15 s, a fifth of a short
        run's start-up), though running cached machine code needs none of them. Kernels load
        from the cache on every run, so only the runtime they link against is set up here; a
        cache miss compiles, and compiling refreshes the context on its own.
        """

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)  # type: ignore[no-untyped-call]

else:  # pragma: no cover
    _KernelCache = None  # type: ignore[assignment,misc]


def kernel(func: F) -> F:
    """Compile ``func`` with numba (cached on disk, GIL released) if numba is importable."""
    if numba is None:  # pragma: no cover
        return func
    compiled: Any = numba.njit(cache=True, nogil=True, boundscheck=False)(func)
    if _KernelCache is not None and getattr(compiled, "_cache", None) is not None:
        compiled._cache = _KernelCache(compiled.py_func)  # type: ignore[no-untyped-call]
    return cast(F, compiled)
