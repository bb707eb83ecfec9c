"""Saved state as ``PREFIX.npz`` (numpy arrays) plus ``PREFIX.json`` (everything else).

No pickle: arrays are loaded with ``allow_pickle=False`` and metadata is plain JSON, so a state
file from elsewhere can be inspected and cannot run code.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

Arrays = dict[str, npt.NDArray[Any]]
T = TypeVar("T")
FORMAT_VERSION = 1


class StateError(ValueError):
    """A saved state that is missing, unreadable or of another format."""


def _paths(prefix: str | Path) -> tuple[Path, Path]:
    base = str(prefix)
    return Path(base + ".npz"), Path(base + ".json")


def save_state(prefix: str | Path, arrays: Arrays, meta: dict[str, Any]) -> None:
    npz, js = _paths(prefix)
    npz.parent.mkdir(parents=True, exist_ok=True)
    with npz.open("wb") as fh:
        savez: Any = np.savez  # numpy's stub types **kwds as its allow_pickle flag
        savez(fh, **arrays)
    doc = {"format": FORMAT_VERSION, **meta}
    js.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=True))


def rebuild(prefix: str | Path, build: Callable[[], T]) -> T:
    """Run ``build`` (which reads a loaded state); a state missing a key or holding a value of
    the wrong type or shape becomes a :class:`StateError` naming the file."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, StateError):
            raise
        raise StateError(f"saved state {prefix} is incomplete or inconsistent: {exc!r}") from exc


def load_model(
    prefix: str | Path, name: str, build: Callable[[Arrays, dict[str, Any]], T]
) -> T:
    """Read a saved state, check it is model ``name``'s and ``build`` the model from it."""
    arrays, meta = load_state(prefix)
    if meta.get("detector") != name:
        raise StateError(f"{prefix}: not a {name} state")
    return rebuild(prefix, lambda: build(arrays, meta))


def load_state(prefix: str | Path) -> tuple[Arrays, dict[str, Any]]:
    npz, js = _paths(prefix)
    try:
        meta = json.loads(js.read_text())
        with np.load(npz, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise StateError(f"cannot read saved state {prefix}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise StateError(f"{js}: not a format-{FORMAT_VERSION} otsight anomaly state")
    return arrays, meta
