"""Re-run a fuzz module with numba disabled, so an out-of-bounds index raises IndexError.

Compiled kernels do not check bounds (that is what makes them fast); the same kernels run as
plain Python do. A fuzz module calls :func:`rerun_without_jit` from one test to prove its
kernels never leave their buffers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .corpus import ROOT

NOJIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"


def rerun_without_jit(module: str, exclude_test: str, examples: int = 100) -> None:
    """Run every test of ``module`` but ``exclude_test`` with the JIT off; assert they pass."""
    env = {
        **os.environ,
        "NUMBA_DISABLE_JIT": "1",
        "OTSIGHT_FUZZ_EXAMPLES": os.environ.get("OTSIGHT_FUZZ_EXAMPLES_NOJIT", str(examples)),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(Path(module).resolve()),
            "-k",
            f"not {exclude_test}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::RuntimeWarning",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]
