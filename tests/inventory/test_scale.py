"""Scale: the inventory of a 10,000-host capture stays well under 300 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .plant import many_hosts

HOSTS = 10_000
PLCS = 50
LIMIT_MB = 300


def test_ten_thousand_hosts_under_300_mb(tmp_path: Path) -> None:
    cap = many_hosts(tmp_path / "many.pcap", HOSTS, PLCS)
    out = tmp_path / "inv.json"
    # Warm up: a first run after a source change compiles the numba kernels (LLVM needs a few
    # hundred MB once, then the kernels load from the on-disk cache). Measure a normal run.
    # (more frames than one inventory batch, so the batch-path kernels run too)
    small = many_hosts(tmp_path / "small.pcap", 3000, PLCS)
    subprocess.run(
        [sys.executable, "-m", "otsight.cli", "inventory", str(small), "--format", "csv"],
        capture_output=True,
        check=True,
        timeout=300,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "otsight.cli", "inventory", str(cap), "--format", "json", "-o",
         str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the largest of every
    # child this test process ever had, tshark included).
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    peak_mb = usage.ru_maxrss / 1024
    doc = json.loads(out.read_text())
    roles: dict[str, int] = {}
    for a in doc["assets"]:
        roles[a["role"]] = roles.get(a["role"], 0) + 1
    print(f"\n{HOSTS} hosts: {len(doc['assets'])} assets, roles {roles}, peak RSS {peak_mb:.0f} MB")
    assert len(doc["assets"]) == HOSTS + PLCS
    assert roles.get("plc") == PLCS
    # One read each is too little to call them operator stations: they stay unknown.
    assert roles.get("unknown") == HOSTS
    assert peak_mb < LIMIT_MB
