"""What the two detectors share: learning phases and saving open bursts.

A learning period runs map -> train -> calibrate by its progress (0 at the first packet or
value, 1 at its end); calibration data is only scored, to fit thresholds on benign scores the
model never learned from. After it (or after ``end_learning``) everything is detection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

import numpy as np
import numpy.typing as npt

from ...alerts.model import AlertEvidence
from .grouping import Burst, BurstGrouper
from .persist import Arrays

MAP, TRAIN, CALIBRATE, DETECT = 0, 1, 2, 3
PHASES = ("map", "train", "calibrate", "detect")


def phase_of(
    progress: npt.NDArray[np.float64], mapping: float, calibration: float
) -> npt.NDArray[np.int64]:
    """Phase of each item: the first ``mapping`` of the training part maps features, the last
    ``calibration`` of the whole period calibrates."""
    train_end = 1.0 - calibration
    out: npt.NDArray[np.int64] = np.select(
        [progress < mapping * train_end, progress < train_end, progress < 1.0],
        [MAP, TRAIN, CALIBRATE],
        DETECT,
    ).astype(np.int64)
    return out


def sub_arrays(arrays: Arrays, prefix: str) -> Arrays:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def bursts_to_json(grouper: BurstGrouper) -> list[dict[str, Any]]:
    out = []
    for b in grouper.open.values():
        doc = dataclasses.asdict(b)
        doc["key"] = list(b.key) if isinstance(b.key, tuple) else b.key
        out.append(doc)
    return out


def bursts_from_json(grouper: BurstGrouper, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        key: Hashable = tuple(doc["key"]) if isinstance(doc["key"], list) else doc["key"]
        evidence = [AlertEvidence(**e) for e in doc["evidence"]]
        grouper.open[key] = Burst(**{**doc, "key": key, "evidence": evidence})
