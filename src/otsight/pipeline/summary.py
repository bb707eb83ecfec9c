"""The numbers `otsight analyze` reports: volume, time span, protocol mix, talkers, errors.

Aggregated per batch with numpy (no per-packet Python), and from flow records as flows end.
Ended flows are folded in a few thousand at a time: a flow that ends mid-batch (its key taken
by a new connection) is reported alone, and folding one flow costs as much numpy overhead as
folding thousands. Top-N lists break ties by name, so they do not depend on how flows were
grouped when folded.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ..core.ports import ethertype_name, proto_name, service_name
from ..core.types import ip_from_words
from ..decode.flows import FlowColumns
from ..decode.table import ERR_NAMES, L3_ARP, L3_IPV4, L3_IPV6, L3_LLC, L3_OTHER
from ..decode.view import BatchView

_TCP_TOTALS = {
    f"{side}_{name}": name
    for side in ("orig", "resp")
    for name in ("delivered", "retrans", "overlaps", "gaps", "ooo")
}
L3_NAMES = {
    L3_IPV4: "ipv4",
    L3_IPV6: "ipv6",
    L3_ARP: "arp",
    L3_LLC: "llc",
    L3_OTHER: "other-l2",
    0: "undecoded",
}


@dataclass(slots=True)
class InputReport:
    name: str
    packets: int = 0
    error: str | None = None


@dataclass
class Summary:
    packets: int = 0
    wire_bytes: int = 0
    captured_bytes: int = 0
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None
    linktypes: Counter[int] = field(default_factory=Counter)
    l3: Counter[str] = field(default_factory=Counter)
    transport: Counter[str] = field(default_factory=Counter)
    ethertypes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    vlan_tagged: int = 0
    tunnelled: int = 0
    flows: int = 0
    flows_by_proto: Counter[str] = field(default_factory=Counter)
    services: Counter[str] = field(default_factory=Counter)
    service_bytes: Counter[str] = field(default_factory=Counter)
    talker_bytes: Counter[str] = field(default_factory=Counter)
    talker_packets: Counter[str] = field(default_factory=Counter)
    conversations: Counter[tuple[str, str]] = field(default_factory=Counter)
    tcp: Counter[str] = field(default_factory=Counter)
    inputs: list[InputReport] = field(default_factory=list)
    fragments: dict[str, int] = field(default_factory=dict)
    flow_table: dict[str, int] = field(default_factory=dict)
    handler_errors: int = 0
    observer_errors: dict[str, int] = field(default_factory=dict)
    dissected: dict[str, dict[str, int]] = field(default_factory=dict)
    # Ended flows not folded in yet (see the module docstring); flush() folds them.
    _pending: list[FlowColumns] = field(default_factory=list, repr=False)
    _pending_rows: int = 0

    def add_batch(self, view: BatchView) -> None:
        b, t = view.batch, view.table
        n = len(b)
        self.packets += n
        self.wire_bytes += int(b.wirelen.sum(dtype=np.int64))
        self.captured_bytes += int(b.caplen.sum(dtype=np.int64))
        ts = b.ts_ns
        lo, hi = int(ts.min()), int(ts.max())
        self.first_ts_ns = lo if self.first_ts_ns is None else min(self.first_ts_ns, lo)
        self.last_ts_ns = hi if self.last_ts_ns is None else max(self.last_ts_ns, hi)
        for value, count in _counts(b.linktype):
            self.linktypes[value] += count
        for value, count in _counts(t.l3):
            self.l3[L3_NAMES.get(value, str(value))] += count
        ip = (t.l3 == L3_IPV4) | (t.l3 == L3_IPV6)
        if ip.any():
            for value, count in _counts(t.proto[ip & (t.frag == 0)]):
                self.transport[proto_name(value)] += count
            frags = int(np.count_nonzero(t.frag[ip]))
            if frags:
                self.transport["ip-fragment"] += frags
        other = t.l3 == L3_OTHER
        if other.any():
            for value, count in _counts(t.ethertype[other]):
                self.ethertypes[ethertype_name(value)] += count
        bad = t.err != 0
        if bad.any():
            for value, count in _counts(t.err[bad]):
                self.errors[ERR_NAMES.get(value, str(value))] += count
        self.vlan_tagged += int(np.count_nonzero(t.vlan))
        self.tunnelled += int(np.count_nonzero(t.tunnel))

    def add_flows(self, f: FlowColumns) -> None:
        """Take ended flows; they are folded in once FOLD_ROWS are waiting (or at flush)."""
        if len(f) == 0:
            return
        self._pending.append(f)
        self._pending_rows += len(f)
        if self._pending_rows >= FOLD_ROWS:
            self.flush()

    def flush(self) -> None:
        """Fold in every ended flow taken so far (the run's end calls this; so does to_dict)."""
        if self._pending:
            pending = self._pending
            self._pending = []
            self._pending_rows = 0
            self._fold(FlowColumns.concat(pending))

    def _fold(self, f: FlowColumns) -> None:
        """Fold ended flows in, vectorised: strings are made once per distinct address."""
        n = len(f)
        self.flows += n
        for value, count in _counts(f.proto):
            self.flows_by_proto[proto_name(value)] += count
        total = f.orig_bytes + f.resp_bytes
        packets = f.orig_packets + f.resp_packets
        svc_key = (f.proto << 16) | f.resp_port
        keys, inverse = np.unique(svc_key, return_inverse=True)
        flow_counts = np.bincount(inverse)
        byte_sums = np.bincount(inverse, weights=total)
        for k, key in enumerate(keys.tolist()):
            label = _service_label(key >> 16, key & 0xFFFF)
            if label:
                self.services[label] += int(flow_counts[k])
                self.service_bytes[label] += int(byte_sums[k])
        hosts_hi, hosts_lo, inverse = _unique_addresses(
            np.concatenate([f.orig_hi, f.resp_hi]), np.concatenate([f.orig_lo, f.resp_lo])
        )
        host_bytes = np.bincount(inverse, weights=np.concatenate([total, total]))
        host_packets = np.bincount(inverse, weights=np.concatenate([packets, packets]))
        names = [
            ip_from_words(h, lo) for h, lo in zip(hosts_hi.tolist(), hosts_lo.tolist(), strict=True)
        ]
        for k, name in enumerate(names):
            self.talker_bytes[name] += int(host_bytes[k])
            self.talker_packets[name] += int(host_packets[k])
        # Host indices follow address order, so (min, max) orders each pair by address.
        first, second = inverse[:n], inverse[n:]
        lo_idx, hi_idx = np.minimum(first, second), np.maximum(first, second)
        pair_keys, pinv = np.unique(lo_idx * len(names) + hi_idx, return_inverse=True)
        pair_bytes = np.bincount(pinv, weights=total)
        for k, key in enumerate(pair_keys.tolist()):
            x, y = divmod(key, len(names))
            self.conversations[(names[x], names[y])] += int(pair_bytes[k])
        tcp = f.proto == 6
        if tcp.any():
            for key, col in f.tcp.items():
                self.tcp[_TCP_TOTALS[key]] += int(col[tcp].sum())
            self.tcp["handshakes"] += int(np.count_nonzero(f.handshake))

    @property
    def duration_s(self) -> float:
        if self.first_ts_ns is None or self.last_ts_ns is None:
            return 0.0
        return (self.last_ts_ns - self.first_ts_ns) / 1e9

    def to_dict(self, top: int = 10) -> dict[str, Any]:
        self.flush()
        return {
            "packets": self.packets,
            "bytes": self.wire_bytes,
            "captured_bytes": self.captured_bytes,
            "first_ts": None if self.first_ts_ns is None else self.first_ts_ns / 1e9,
            "last_ts": None if self.last_ts_ns is None else self.last_ts_ns / 1e9,
            "duration_s": self.duration_s,
            "link_types": {str(k): v for k, v in sorted(self.linktypes.items())},
            "network": dict(self.l3.most_common()),
            "transport": dict(self.transport.most_common()),
            "other_ethertypes": dict(self.ethertypes.most_common()),
            "vlan_tagged": self.vlan_tagged,
            "tunnelled": self.tunnelled,
            "flows": self.flows,
            "flows_by_protocol": dict(_top(self.flows_by_proto)),
            "services_by_port": [
                {"service": k, "flows": v, "bytes": self.service_bytes[k]}
                for k, v in sorted(
                    self.services.items(),
                    key=lambda kv: (-kv[1], -self.service_bytes[kv[0]], kv[0]),
                )[:top]
            ],
            "top_talkers": [
                {"ip": ip, "bytes": v, "packets": self.talker_packets[ip]}
                for ip, v in _top(self.talker_bytes, top)
            ],
            "top_conversations": [
                {"a": a, "b": b, "bytes": v} for (a, b), v in _top(self.conversations, top)
            ],
            "tcp": {
                name: self.tcp.get(name, 0)
                for name in ("handshakes", "delivered", "retrans", "overlaps", "ooo", "gaps")
            },
            "ip_fragments": self.fragments,
            "flow_table": self.flow_table,
            "decode_errors": dict(self.errors.most_common()),
            "handler_errors": self.handler_errors,
            "observer_errors": self.observer_errors,
            "dissected": self.dissected,
            "inputs": [
                {"name": r.name, "packets": r.packets, "error": r.error} for r in self.inputs
            ],
        }


FOLD_ROWS = 4096  # ended flows taken before they are folded in


K = TypeVar("K", bound=Hashable)


def _top(counter: Counter[K], n: int | None = None) -> list[tuple[K, int]]:
    """The ``n`` largest counts (all if None), ties by key: the same whatever order the keys
    were counted in."""
    items: list[tuple[K, int]] = list(counter.items())
    if n is None:
        return sorted(items, key=_by_count_then_key)
    return heapq.nsmallest(n, items, key=_by_count_then_key)


def _by_count_then_key(item: tuple[Any, int]) -> tuple[int, Any]:
    return (-item[1], item[0])


@functools.lru_cache(maxsize=4096)
def _service_label(proto: int, port: int) -> str | None:
    svc = service_name(proto, port)
    return f"{svc} ({port}/{proto_name(proto)})" if svc else None


def _unique_addresses(
    hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """Distinct (hi, lo) address words in address order, and each input's index among them."""
    if not hi.any():  # IPv4 only (IPv4-mapped: hi is 0): one word decides
        ulo, inverse = np.unique(lo, return_inverse=True)
        return np.zeros(ulo.shape[0], dtype=np.uint64), ulo, inverse
    order = np.lexsort((lo, hi))
    shi, slo = hi[order], lo[order]
    new = np.ones(order.shape[0], dtype=bool)
    new[1:] = (shi[1:] != shi[:-1]) | (slo[1:] != slo[:-1])
    group = np.cumsum(new) - 1
    inverse = np.empty(order.shape[0], dtype=np.intp)
    inverse[order] = group
    return shi[new], slo[new], inverse


def _counts(arr: np.ndarray[Any, Any]) -> list[tuple[int, int]]:
    if arr.size == 0:
        return []
    values, counts = np.unique(arr, return_counts=True)
    return [(int(v), int(c)) for v, c in zip(values, counts, strict=True)]
