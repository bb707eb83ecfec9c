"""What stages after decoding see of one processed batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..capture.batch import FrameBatch
from .table import PacketTable


@dataclass(slots=True)
class BatchView:
    """A processed batch: frames, their decoded columns and flow assignment (read-only)."""

    batch: FrameBatch
    table: PacketTable
    slots: npt.NDArray[np.int64]
    flow_ids: npt.NDArray[np.int64]  # 0 for packets outside flows
