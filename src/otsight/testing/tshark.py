"""tshark as an oracle: run it on a capture and read back fields or conversation tables.

Used by tests and benchmarks only; the product never needs Wireshark.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TSHARK = shutil.which("tshark")
CAPINFOS = shutil.which("capinfos")


def available() -> bool:
    return TSHARK is not None


def fields(
    path: Path, names: list[str], display_filter: str | None = None, extra: list[str] | None = None
) -> list[list[str]]:
    """One row per frame with the values of ``names`` (first occurrence of each field)."""
    assert TSHARK is not None
    cmd = [
        TSHARK,
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
    for name in names:
        cmd += ["-e", name]
    if display_filter:
        cmd += ["-Y", display_filter]
    cmd += extra or []
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        parts += [""] * (len(names) - len(parts))
        rows.append(parts)
    return rows


def packet_count(path: Path) -> int | None:
    """Packets capinfos counts (it stops at the first unreadable record, as otsight does)."""
    assert CAPINFOS is not None
    out = subprocess.run(
        [CAPINFOS, "-c", "-M", "-T", "-r", str(path)], capture_output=True, text=True, check=False
    )
    try:
        return int(out.stdout.strip().split("\t")[-1])
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True, slots=True)
class Conversation:
    a: tuple[str, int]
    b: tuple[str, int]

    def key(self) -> frozenset[tuple[str, int]]:
        return frozenset((self.a, self.b))


_CONV_LINE = re.compile(r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s")
_CONV_LINE_V6 = re.compile(r"^(\S+?)(?:\.|:)(\d+)\s+<->\s+(\S+?)(?:\.|:)(\d+)\s")


def _norm_ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


def conversations(path: Path, kind: str) -> set[frozenset[tuple[str, int]]]:
    """Distinct endpoint pairs from ``tshark -q -z conv,tcp|udp`` (ports as numbers)."""
    assert TSHARK is not None
    out = subprocess.run(
        [TSHARK, "-n", "-r", str(path), "-q", "-z", f"conv,{kind}"],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    pairs: set[frozenset[tuple[str, int]]] = set()
    for line in out.stdout.splitlines():
        left, sep, right = line.partition("<->")
        if not sep:
            continue
        a = left.strip()
        b = right.split()[0] if right.split() else ""
        try:
            ea = _split_endpoint(a)
            eb = _split_endpoint(b)
        except ValueError:
            continue
        pairs.add(frozenset((ea, eb)))
    return pairs


def _split_endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return _norm_ip(host), int(port)
