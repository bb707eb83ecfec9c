"""How a sensor runs: its options, checked when made (no heavy imports: the CLI reads them)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MB = 1 << 20
DEFAULT_MAX_FLOWS = 100_000  # ~0.5 kB of flow state each, plus dissector state for OT flows


@dataclass(frozen=True, slots=True)
class SensorOptions:
    """How one sensor runs; checked when made."""

    interface: str
    bpf_filter: str | None = None
    checkpoint_s: float = 5.0  # assets and conversations written at most this often
    stats_every_s: float = 60.0  # counters logged and stored this often
    max_flows: int = DEFAULT_MAX_FLOWS
    queue_bytes: int = 32 * MB  # captured frames waiting for the pipeline, at most
    tick_s: float = 0.25  # longest wait for a batch before the loop looks at the clock
    detectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("checkpoint_s", "stats_every_s", "tick_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        if self.max_flows < 1:
            raise ValueError(f"max_flows must be at least 1, not {self.max_flows}")
        if self.queue_bytes < 1 * MB:
            raise ValueError(f"queue_bytes must be at least 1 MB, not {self.queue_bytes}")

    def settings(self) -> dict[str, Any]:
        """What the status row records of how the sensor was started."""
        return {
            "interface": self.interface,
            "filter": self.bpf_filter,
            "checkpoint_s": self.checkpoint_s,
            "stats_every_s": self.stats_every_s,
            "max_flows": self.max_flows,
            "queue_bytes": self.queue_bytes,
        }
