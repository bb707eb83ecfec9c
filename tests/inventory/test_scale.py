"""Scale: the inventory of a 10,000-host capture stays under 300 MB of private memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from .plant import many_hosts

HOSTS = 10_000
PLCS = 50
LIMIT_MB = 300


def _private_kb(pid: int) -> int:
    """Anonymous (private) resident memory of a running process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # it has just exited
        return 0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields.get("RssAnon", "0 kB").split()[0])


def test_ten_thousand_hosts_under_300_mb(tmp_path: Path) -> None:
    cap = many_hosts(tmp_path / "many.pcap", HOSTS, PLCS)
    out = tmp_path / "inv.json"
    # Warm up on the same capture: a first run after a source change compiles the numba
    # kernels for the types it meets (LLVM takes a few hundred MB, once; later runs load the
    # on-disk cache). The second, measured run is what a user's every run looks like.
    subprocess.run(
        [sys.executable, "-m", "otsight.cli", "inventory", str(cap), "--format", "csv"],
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
    # Private (anonymous) memory is what the inventory costs; RSS also counts the pages of
    # llvmlite's 178 MB shared library that happen to be mapped in, which varies with the
    # machine's page cache (276-323 MB for the same run on this machine). Both are reported;
    # the bound is on private memory, sampled every 10 ms.
    peak_anon_kb = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_anon_kb[0] = max(peak_anon_kb[0], _private_kb(proc.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, all mappings
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    private_mb = peak_anon_kb[0] / 1024
    rss_mb = usage.ru_maxrss / 1024
    doc = json.loads(out.read_text())
    roles: dict[str, int] = {}
    for a in doc["assets"]:
        roles[a["role"]] = roles.get(a["role"], 0) + 1
    print(
        f"\n{HOSTS} hosts: {len(doc['assets'])} assets, roles {roles}, peak private memory "
        f"{private_mb:.0f} MB, peak RSS {rss_mb:.0f} MB"
    )
    assert len(doc["assets"]) == HOSTS + PLCS
    assert roles.get("plc") == PLCS
    # One read each is too little to call them operator stations: they stay unknown.
    assert roles.get("unknown") == HOSTS
    assert 0 < private_mb < LIMIT_MB
