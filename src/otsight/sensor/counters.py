"""What a running sensor counts, as one immutable snapshot: logged, stored and returned.

Where frames can be lost, and which counter says so:

- in the kernel, when the socket buffer is full because otsight did not read fast enough:
  ``kernel_dropped`` (``PACKET_STATISTICS``). The sensor never discards a frame it has read:
  when its queue is full the reader waits, so overload always shows up here;
- inside otsight, what it stops *tracking* when a memory bound is reached: flows evicted from
  the full flow table (``flows_evicted``), items the detectors skip at their bounds
  (``detector_skips``), IP fragments dropped by the reassembler (``fragments_dropped``), and
  records of store batches that failed (``store_lost``).
"""

from __future__ import annotations

import os
import resource
from dataclasses import asdict, dataclass
from typing import Any

MB = 1 << 20


@dataclass(frozen=True, slots=True)
class SensorCounters:
    """Counters of one sensor since it started."""

    interface: str
    uptime_s: float
    captured: int  # frames handed over by the capture
    kernel_received: int  # frames that passed the filter, including those the kernel dropped
    kernel_dropped: int  # frames lost in the kernel: the socket buffer was full
    processed: int  # frames the pipeline decoded
    queue_bytes: int  # captured and not yet processed
    queue_peak_bytes: int
    queue_waits: int  # times the reader waited for the pipeline (the queue was full)
    flows_live: int
    flows_total: int
    flows_evicted: int  # flows pushed out of the full flow table (otsight's loss)
    assets: int  # at the last checkpoint
    alerts: int  # deduplicated
    alerts_raised: int  # before deduplication
    detector_skips: int  # items detectors did not track at their memory bounds
    fragments_dropped: int
    stage_errors: int  # contained failures of dissectors, stages and detectors
    store_batches: int
    store_failed_batches: int
    store_lost: int  # records of failed batches
    rss_bytes: int
    peak_rss_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the store's status row and ``--json``-style consumers."""
        return {**asdict(self), "uptime_s": round(self.uptime_s, 3)}

    def line(self) -> str:
        """One log line that an operator reads from the journal."""
        return (
            f"sensor {self.interface}: up {self.uptime_s:,.0f} s; "
            f"frames {self.captured:,} captured, {self.processed:,} processed, "
            f"{self.kernel_dropped:,} dropped by the kernel (of {self.kernel_received:,}); "
            f"queue {self.queue_bytes / MB:.1f} MB (peak {self.queue_peak_bytes / MB:.1f} MB, "
            f"{self.queue_waits:,} waits); "
            f"flows {self.flows_live:,} live, {self.flows_total:,} total, "
            f"{self.flows_evicted:,} evicted; {self.assets:,} assets; "
            f"{self.alerts:,} alerts ({self.alerts_raised:,} raised); "
            f"skipped {self.detector_skips:,} detector items, "
            f"{self.fragments_dropped:,} fragments; {self.stage_errors:,} stage errors; "
            f"store {self.store_batches:,} batches, {self.store_failed_batches:,} failed "
            f"({self.store_lost:,} records lost); "
            f"memory {self.rss_bytes / MB:.0f} MB (peak {self.peak_rss_bytes / MB:.0f} MB)"
        )


def memory() -> tuple[int, int]:
    """(resident, peak resident) bytes of this process."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            resident = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        resident = 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
    return resident or peak, max(peak, resident)
