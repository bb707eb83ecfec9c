"""Compare otsight's decoding with tshark's on real captures, one tshark run per capture.

Checks three things the foundation promises: the packet count, the per-packet IP 5-tuple of
TCP/UDP packets, and the set of TCP/UDP conversations (endpoint pairs). Run as a module for
the figures: ``python -m otsight.testing.oracle [DATA_DIR]``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..capture.sources import Input, read_input
from ..core.errors import CaptureError
from ..core.types import ip_from_words
from ..decode.flows import FlowRecord
from ..decode.table import L3_IPV4, L3_IPV6
from ..decode.view import BatchView
from ..pipeline.engine import Engine
from . import tshark
from .corpus import capture_files, shared_data

FIELDS = [
    "frame.number",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "frame.protocols",
]
Tuple5 = tuple[str, str, int, int, int]
Pair = frozenset[tuple[str, int]]


@dataclass
class TsharkView:
    packets: int
    tuples: dict[int, Tuple5]
    conv: dict[str, set[Pair]]


@dataclass
class CaptureComparison:
    path: str
    tshark_packets: int
    our_packets: int
    tuples_compared: int = 0
    tuples_agreed: int = 0
    tuple_examples: list[str] = field(default_factory=list)
    conv_equal: dict[str, bool] = field(default_factory=dict)
    conv_only_ours: dict[str, list[str]] = field(default_factory=dict)
    conv_only_tshark: dict[str, list[str]] = field(default_factory=dict)
    read_error: str | None = None

    @property
    def convs_agree(self) -> bool:
        return all(self.conv_equal.values())


def _ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


def run_tshark(path: Path) -> TsharkView:
    """One tshark pass: per-frame fields, then the TCP and UDP conversation tables."""
    assert tshark.TSHARK is not None
    cmd = [
        tshark.TSHARK,
        "-n",
        "-r",
        str(path),
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]
    for name in FIELDS:
        cmd += ["-e", name]
    cmd += ["-z", "conv,tcp", "-z", "conv,udp"]
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False).stdout
    packets = 0
    tuples: dict[int, Tuple5] = {}
    conv: dict[str, set[Pair]] = {"tcp": set(), "udp": set()}
    section = None
    in_stats = False
    for line in out.splitlines():
        if line.startswith("===="):
            in_stats = True
            continue
        if in_stats:
            if "TCP Conversations" in line:
                section = "tcp"
            elif "UDP Conversations" in line:
                section = "udp"
            elif section and "<->" in line:
                left, _, right = line.partition("<->")
                try:
                    a = _endpoint(left.strip())
                    b = _endpoint(right.split()[0])
                except (ValueError, IndexError):
                    continue
                conv[section].add(frozenset((a, b)))
            continue
        parts = line.split("\t")
        if not parts[0].isdigit():
            continue
        packets += 1
        parts += [""] * (len(FIELDS) - len(parts))
        t = _tuple_from_fields(parts)
        if t is not None:
            tuples[int(parts[0])] = t
    return TsharkView(packets, tuples, conv)


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return _ip(host), int(port)


def _tuple_from_fields(parts: list[str]) -> Tuple5 | None:
    """The 5-tuple tshark gives a TCP/UDP packet: ports of the first TCP/UDP layer, addresses of
    the innermost IP header before it. ICMP errors quoting a TCP/UDP header are not TCP/UDP
    packets and are left out."""
    layers = parts[9].split(":")
    l4 = next((i for i, x in enumerate(layers) if x in ("tcp", "udp")), None)
    if l4 is None:
        return None
    before = layers[:l4]
    if "icmp" in before or "icmpv6" in before:
        return None
    ips = [x for x in before if x in ("ip", "ipv6")]
    if not ips:
        return None
    last = ips[-1]
    occurrence = sum(1 for x in ips if x == last) - 1
    src_f, dst_f = (parts[1], parts[2]) if last == "ip" else (parts[3], parts[4])
    srcs, dsts = src_f.split(","), dst_f.split(",")
    sport_f, dport_f = (parts[5], parts[6]) if layers[l4] == "tcp" else (parts[7], parts[8])
    try:
        return (
            _ip(srcs[occurrence]),
            _ip(dsts[occurrence]),
            int(sport_f.split(",")[0]),
            int(dport_f.split(",")[0]),
            6 if layers[l4] == "tcp" else 17,
        )
    except (ValueError, IndexError):
        return None


def run_otsight(path: Path) -> tuple[int, dict[int, Tuple5], list[FlowRecord], str | None]:
    """Packets, per-frame TCP/UDP 5-tuples and flow records, as otsight decodes them."""
    tuples: dict[int, Tuple5] = {}
    flows: list[FlowRecord] = []

    def on_batch(view: BatchView) -> None:
        t = view.table
        sel = (
            ((t.l3 == L3_IPV4) | (t.l3 == L3_IPV6))
            & ((t.proto == 6) | (t.proto == 17))
            & t.has_ports
            & (t.frag == 0)
        )
        for i in np.nonzero(sel)[0]:
            tuples[view.batch.first_frame + int(i)] = (
                ip_from_words(int(t.src_hi[i]), int(t.src_lo[i])),
                ip_from_words(int(t.dst_hi[i]), int(t.dst_lo[i])),
                int(t.sport[i]),
                int(t.dport[i]),
                int(t.proto[i]),
            )

    engine = Engine(on_flow_end=flows.append, on_batch=on_batch)
    packets = 0
    error = None
    try:
        for batch in read_input(Input(str(path), path)):
            packets += len(batch)
            engine.process(batch)
    except CaptureError as exc:
        error = exc.reason
    engine.finish()
    return packets, tuples, flows, error


def compare(path: Path, root: Path | None = None) -> CaptureComparison:
    theirs = run_tshark(path)
    packets, ours, flows, error = run_otsight(path)
    name = str(path.relative_to(root)) if root else str(path)
    cmp = CaptureComparison(name, theirs.packets, packets, read_error=error)
    for frame in sorted(set(ours) | set(theirs.tuples)):
        cmp.tuples_compared += 1
        a, b = ours.get(frame), theirs.tuples.get(frame)
        if a == b:
            cmp.tuples_agreed += 1
        elif len(cmp.tuple_examples) < 3:
            cmp.tuple_examples.append(f"frame {frame}: otsight {a} tshark {b}")
    for kind, proto in (("tcp", 6), ("udp", 17)):
        mine: set[Pair] = {
            frozenset(((f.orig_ip, f.orig_port), (f.resp_ip, f.resp_port)))
            for f in flows
            if f.proto == proto
        }
        cmp.conv_equal[kind] = mine == theirs.conv[kind]
        if mine != theirs.conv[kind]:
            cmp.conv_only_ours[kind] = [str(sorted(p)) for p in list(mine - theirs.conv[kind])[:3]]
            cmp.conv_only_tshark[kind] = [
                str(sorted(p)) for p in list(theirs.conv[kind] - mine)[:3]
            ]
    return cmp


def compare_all(root: Path, workers: int | None = None) -> list[CaptureComparison]:
    files = capture_files(root, tshark_readable_only=True)
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        return list(pool.map(lambda p: compare(p, root), files))


def totals(results: list[CaptureComparison]) -> dict[str, float]:
    compared = sum(r.tuples_compared for r in results)
    agreed = sum(r.tuples_agreed for r in results)
    conv_ok = sum(1 for r in results if r.convs_agree)
    count_ok = sum(1 for r in results if r.tshark_packets == r.our_packets)
    return {
        "captures": len(results),
        "packet_count_equal": count_ok,
        "tuples_compared": compared,
        "tuples_agreed": agreed,
        "tuple_agreement": agreed / compared if compared else 1.0,
        "conversations_equal": conv_ok,
        "conversation_agreement": conv_ok / len(results) if results else 1.0,
    }


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else shared_data()
    if root is None:
        sys.exit("no corpus: pass a directory or set OTSIGHT_SHARED_DATA")
    results = compare_all(root)
    for r in results:
        if (
            r.tshark_packets != r.our_packets
            or not r.convs_agree
            or r.tuples_agreed != r.tuples_compared
        ):
            print(json.dumps(asdict(r)))
    print(json.dumps(totals(results), indent=2))


if __name__ == "__main__":
    main()
