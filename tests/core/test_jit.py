"""Kernels load from numba's cache without numba's compiler registries, and still compile.

Each check runs in a fresh interpreter with its own cache directory: what is imported at a
kernel's first call is only visible in a process that has not compiled anything yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("numba")

KERNELS = textwrap.dedent(
    """
    import numpy as np

    from otsight.core.jit import kernel


    @kernel
    def weighted(values, weights):
        total = 0
        for i in range(values.shape[0]):
            total += values[i] * weights[i]
        return total
    """
)

RUN = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import jit_kernels

    out = {"result": int(jit_kernels.weighted(np.arange(10, dtype=np.int64),
                                               np.arange(10, dtype=np.int64)))}
    # a compiler registry numba loads when it refreshes its context (and not before)
    out["registries"] = "numba.np.arraymath" in sys.modules
    out["cache_hits"] = sum(jit_kernels.weighted.stats.cache_hits.values())
    if "--compile" in sys.argv:  # a fresh compile in the same process still works
        import numba

        @numba.njit
        def second(a):
            return np.sort(a)[::-1].sum() + len(a)

        out["compiled"] = int(second(np.array([3, 1, 2])))
        out["registries_after"] = "numba.np.arraymath" in sys.modules
    print(json.dumps(out))
    """
)


def _run(tmp_path: Path, *args: str) -> dict[str, object]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(tmp_path))
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "run.py"), *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture
def kernels(tmp_path: Path) -> Path:
    (tmp_path / "jit_kernels.py").write_text(KERNELS)
    (tmp_path / "run.py").write_text(RUN)
    return tmp_path


def test_cached_kernel_loads_without_compiler_registries(kernels: Path) -> None:
    first = _run(kernels)  # compiles and fills the cache: the compiler needs its registries
    assert first == {"result": 285, "registries": True, "cache_hits": 0}
    again = _run(kernels)  # loads machine code from the cache: no compiler context needed
    assert again == {"result": 285, "registries": False, "cache_hits": 1}


def test_compiling_after_a_cached_load_still_works(kernels: Path) -> None:
    _run(kernels)
    after = _run(kernels, "--compile")
    assert after["cache_hits"] == 1
    assert after["registries"] is False
    assert after["compiled"] == 9  # (3 + 2 + 1) + 3
    assert after["registries_after"] is True  # the compile refreshed the context itself
