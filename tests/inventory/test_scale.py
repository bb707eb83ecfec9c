"""Scale: the inventory of a 10,000-host capture stays well under 300 MB."""

from __future__ import annotations

import json
import resource
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
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, "-m", "otsight.cli", "inventory", str(cap), "--format", "json", "-o",
         str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    doc = json.loads(out.read_text())
    roles: dict[str, int] = {}
    for a in doc["assets"]:
        roles[a["role"]] = roles.get(a["role"], 0) + 1
    print(f"\n{HOSTS} hosts: {len(doc['assets'])} assets, roles {roles}, peak RSS {peak_mb:.0f} MB")
    assert len(doc["assets"]) == HOSTS + PLCS
    assert roles.get("plc") == PLCS
    assert roles.get("hmi") == HOSTS
    # ru_maxrss of children is the largest child so far; only meaningful if this one was larger.
    assert before / 1024 < LIMIT_MB
    assert peak_mb < LIMIT_MB
