"""Throughput of ``otsight analyze`` against ``tshark -q -z io,phs`` on a synthetic plant capture.

Usage::

    .venv/bin/python benchmarks/throughput.py [--packets 1000000] [--runs 3] [--json]
        [--otsight "CMD"] [--modes l4,dissect,alerts,events] [--no-cold] [--no-tshark]

The capture comes from :mod:`otsight.testing.synth` and is kept under ``benchmarks/data/``
(git-ignored); it is reused when its parameters and the generator's source are unchanged.

otsight runs in these modes, each one row, each compared with tshark in the same run:

- ``l4``: ``otsight analyze`` (L2-L4: decoding, flows, TCP reassembly, summary);
- ``dissect``: ``otsight analyze --dissect`` (every dissector on, events counted per protocol);
- ``alerts``: ``otsight analyze --alerts`` (every dissector on, the default detectors);
- ``events``: ``otsight analyze --events /dev/null`` (every dissector on, every event written
  as ECS JSON);
- ``dissect2``, ``alerts2``: ``dissect`` and ``alerts`` with ``--processes 2`` (a second
  process dissects part of the flows). The CPU column counts both processes (a child's
  resource usage includes the children it waited for); peak RSS is the larger process's.

``--otsight`` is the command that starts the CLI (split like a shell would): by default the
checkout's ``.venv/bin/otsight`` if it exists, else ``<this python> -m otsight.cli``, which runs
whatever ``PYTHONPATH`` points at (e.g. a git worktree's ``src``).

For each otsight mode, one run on the full capture with an empty numba cache (a fresh
``NUMBA_CACHE_DIR``) gives the cold first-run time (skip with ``--no-cold``); then one untimed
warm-up on a small capture fills the normal on-disk caches (numba's kernels and Python's
bytecode: the children run without ``PYTHONDONTWRITEBYTECODE``, as a user's would), and the
best of ``--runs`` timed runs is reported. tshark gets the same best-of-N. Peak RSS and CPU
time (user + system, which a busy machine disturbs less than wall time) come from ``wait4()``'s
resource usage of each child.

If the otsight CLI is missing or fails, its rows say why, tshark is still measured, and the
script exits with status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from otsight.testing import synth

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
WARMUP_PACKETS = 2000
MODES: dict[str, tuple[str, list[str]]] = {
    "l4": ("otsight analyze (L2-L4)", []),
    "dissect": ("otsight analyze --dissect (all dissectors, events counted)", ["--dissect"]),
    "alerts": ("otsight analyze --alerts (all dissectors, default detectors)", ["--alerts"]),
    "events": (
        "otsight analyze --events /dev/null (all dissectors, ECS JSON)",
        ["--events", os.devnull],
    ),
    "dissect2": ("  the same, two processes (--processes 2)", ["--dissect", "--processes", "2"]),
    "alerts2": ("  the same, two processes (--processes 2)", ["--alerts", "--processes", "2"]),
}


@dataclass
class Measurement:
    """One tool on one capture: best of ``runs`` (and every run)."""

    tool: str
    command: list[str]
    ok: bool = True
    error: str = ""
    runs_s: list[float] = field(default_factory=list)
    best_s: float = 0.0
    best_cpu_s: float = 0.0  # CPU time of the fastest run
    packets_per_s: float = 0.0
    mb_per_s: float = 0.0
    peak_rss_mb: float = 0.0
    cold_s: float | None = None
    cold_peak_rss_mb: float | None = None
    packets_reported: int | None = None
    events_reported: int | None = None
    vs_tshark: float | None = None


@dataclass
class RunResult:
    wall_s: float
    cpu_s: float  # user + system time of the child: less sensitive to a busy machine
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(command: list[str], env: dict[str, str] | None = None) -> RunResult:
    """Run ``command`` to completion; wall time and the child's peak RSS (from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return RunResult(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


# ----------------------------------------------------------------------------- inputs


def generator_fingerprint() -> str:
    """Hash of the generator's and writer's source: a changed generator means a new capture."""
    package = Path(synth.__file__).resolve().parents[1]  # src/otsight
    digest = hashlib.sha256()
    for module in ("testing/synth.py", "testing/packets.py", "capture/writer.py"):
        digest.update((package / module).read_bytes())
    return digest.hexdigest()[:16]


def ensure_capture(packets: int, seed: int, log: Console) -> tuple[Path, float | None]:
    """The capture for these parameters, generated unless an identical one exists.

    Returns the path and the generation time (None when reused).
    """
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"synth-{packets}-seed{seed}.pcap"
    meta_path = path.with_suffix(".json")
    wanted = {
        "packets": packets,
        "seed": seed,
        "start_ts_ns": synth.DEFAULT_START_TS_NS,
        "generator": generator_fingerprint(),
    }
    if path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        if {k: meta.get(k) for k in wanted} == wanted and meta.get("size") == path.stat().st_size:
            return path, None
    log.print(f"generating {packets:,} packets (seed {seed}) -> {path}")
    started = time.perf_counter()
    stats = synth.generate(path, packets, seed)
    elapsed = time.perf_counter() - started
    meta_path.write_text(
        json.dumps({**wanted, "size": path.stat().st_size, "generate_s": round(elapsed, 3),
                    "bytes": stats.bytes}, indent=2)
    )
    return path, elapsed


def machine_info(tshark: str | None) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu_model": model or platform.processor() or "unknown",
        "cpu_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": mem_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg")
        else None,
    }
    for name in ("numpy", "numba"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    if tshark:
        out = subprocess.run([tshark, "--version"], capture_output=True, text=True, check=False)
        info["tshark"] = out.stdout.splitlines()[0] if out.stdout else None
    return info


# ----------------------------------------------------------------------------- tools


def finish(m: Measurement, results: list[RunResult], packets: int, size: int) -> None:
    m.runs_s = [round(r.wall_s, 3) for r in results]
    best = min(results, key=lambda r: r.wall_s)
    m.best_s = round(best.wall_s, 3)
    m.best_cpu_s = round(best.cpu_s, 3)
    m.packets_per_s = round(packets / best.wall_s)
    m.mb_per_s = round(size / best.wall_s / 1e6, 1)
    m.peak_rss_mb = round(max(r.peak_rss_mb for r in results), 1)


def default_otsight() -> list[str]:
    """The checkout's installed CLI, else this interpreter running ``otsight.cli``."""
    exe = ROOT / ".venv" / "bin" / "otsight"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "otsight.cli"]


def bench_otsight(
    cli: list[str],
    mode: str,
    capture: Path,
    warmup: Path,
    *,
    runs: int,
    packets: int,
    cold: bool,
    log: Console,
) -> Measurement:
    label, extra = MODES[mode]
    command = [*cli, "analyze", str(capture), "--json", *extra]
    # A normal first run leaves the bytecode of every module beside its source (pip does the
    # same at install time), so later runs do not compile. PYTHONDONTWRITEBYTECODE (set on
    # some CI and sandbox machines) would make every timed run compile otsight's ~300 modules
    # again (~0.4 s): the children run without it, as on a user's machine.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    m = Measurement(label, command)
    if not Path(cli[0]).exists() and shutil.which(cli[0]) is None:
        m.ok = False
        m.error = (f"{cli[0]} not found: install the package (pip install -e .) so the otsight "
                   "CLI exists, or pass --otsight CMD")
        return m

    def failed(result: RunResult, what: str) -> bool:
        if result.returncode == 0:
            return False
        m.ok = False
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        m.error = f"{what} exited with status {result.returncode}: {tail}"
        return True

    if cold:
        with tempfile.TemporaryDirectory(prefix="otsight-numba-cold-") as cold_cache:
            log.print(f"{label}: cold run (empty numba cache)")
            first = run_measured(command, env={**env, "NUMBA_CACHE_DIR": cold_cache})
        if failed(first, "cold run"):
            return m
        m.cold_s = round(first.wall_s, 3)
        m.cold_peak_rss_mb = round(first.peak_rss_mb, 1)
    log.print(f"{label}: warm-up on a small capture")
    warm = run_measured([*cli, "analyze", str(warmup), "--json", *extra], env=env)
    if failed(warm, "warm-up run"):
        return m
    results = []
    for i in range(runs):
        log.print(f"{label}: run {i + 1}/{runs}")
        result = run_measured(command, env=env)
        if failed(result, f"run {i + 1}"):
            return m
        results.append(result)
    try:
        summary = json.loads(results[-1].stdout)
        m.packets_reported = int(summary["packets"])
        if summary.get("dissected"):
            m.events_reported = sum(int(d["events"]) for d in summary["dissected"].values())
    except (ValueError, KeyError, TypeError):
        m.packets_reported = None
    finish(m, results, packets, capture.stat().st_size)
    return m


def bench_tshark(tshark: str | None, capture: Path, runs: int, packets: int,
                 log: Console) -> Measurement:
    command = [tshark or "tshark", "-r", str(capture), "-q", "-z", "io,phs"]
    m = Measurement("tshark io,phs", command)
    if tshark is None:
        m.ok = False
        m.error = "tshark not found on PATH (apt-get install tshark)"
        return m
    results = []
    for i in range(runs):
        log.print(f"tshark: run {i + 1}/{runs}")
        result = run_measured(command)
        if result.returncode != 0:
            m.ok = False
            m.error = f"exited with status {result.returncode}: {result.stderr.strip()[-200:]}"
            return m
        results.append(result)
    for line in results[-1].stdout.splitlines():
        if line.strip().startswith("eth ") and "frames:" in line:
            m.packets_reported = int(line.split("frames:")[1].split()[0])
            break
    finish(m, results, packets, capture.stat().st_size)
    return m


# ----------------------------------------------------------------------------- report


def render(report: dict[str, Any], console: Console) -> None:
    cap = report["capture"]
    mach = report["machine"]
    console.print(
        f"[bold]capture[/] {cap['path']}: {cap['packets']:,} packets, "
        f"{cap['size_bytes'] / 1e6:.1f} MB"
        + (f" (generated in {cap['generate_s']:.1f} s)" if cap.get("generate_s") else " (reused)")
    )
    console.print(
        f"[bold]machine[/] {mach['cpu_model']}, {mach['cpu_cores']} cores "
        f"({mach['usable_cores']} usable), {mach['memory_gb']} GB, load {mach['load_average']}"
    )
    table = Table(title=f"best of {report['runs']} runs")
    for col in ("tool", "wall s", "runs s", "cpu s", "packets/s", "MB/s", "peak RSS MB",
                "cold s", "vs tshark", "events", "note"):
        table.add_column(col, justify="left" if col in ("tool", "note", "runs s") else "right")
    for m in report["results"]:
        if m["ok"]:
            table.add_row(
                m["tool"], f"{m['best_s']:.2f}", " ".join(f"{x:.2f}" for x in m["runs_s"]),
                f"{m['best_cpu_s']:.2f}", f"{m['packets_per_s']:,}", f"{m['mb_per_s']:.1f}",
                f"{m['peak_rss_mb']:.0f}",
                "" if m["cold_s"] is None else f"{m['cold_s']:.2f}",
                "" if m["vs_tshark"] is None else f"{m['vs_tshark']:.2f}x",
                "" if m["events_reported"] is None else f"{m['events_reported']:,}",
                "" if m["packets_reported"] in (None, cap["packets"])
                else f"reported {m['packets_reported']:,} packets",
            )
        else:
            table.add_row(m["tool"], "-", "-", "-", "-", "-", "-", "-", "-", "-",
                          f"[red]{m['error']}[/]")
    console.print(table)
    for m in report["results"]:
        console.print(f"  {m['tool']}: {' '.join(m['command'])}", highlight=False)
    console.print("vs tshark: throughput relative to tshark io,phs in this run (higher is faster)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (best is kept)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument(
        "--otsight", type=shlex.split, default=None,
        help="command that starts the otsight CLI (default: .venv/bin/otsight if present, "
        "else this python -m otsight.cli)",
    )
    parser.add_argument(
        "--modes", default="l4,dissect,dissect2,alerts,alerts2,events",
        help=f"comma-separated otsight modes, from {', '.join(MODES)}",
    )
    parser.add_argument("--no-cold", action="store_true", help="skip the empty-cache runs")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark baseline")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.packets < 1:
        parser.error("--runs and --packets must be positive")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        parser.error(f"unknown mode(s) {', '.join(unknown) or '(none)'}; known: {', '.join(MODES)}")
    cli: list[str] = args.otsight or default_otsight()
    log = Console(stderr=True)
    tshark = None if args.no_tshark else shutil.which("tshark")

    capture, generate_s = ensure_capture(args.packets, args.seed, log)
    warmup, _ = ensure_capture(WARMUP_PACKETS, args.seed, log)
    results = [
        bench_otsight(cli, mode, capture, warmup, runs=args.runs, packets=args.packets,
                      cold=not args.no_cold, log=log)
        for mode in modes
    ]
    if not args.no_tshark:
        baseline = bench_tshark(tshark, capture, args.runs, args.packets, log)
        if baseline.ok:
            for m in results:
                if m.ok:
                    m.vs_tshark = round(m.packets_per_s / baseline.packets_per_s, 2)
        results.append(baseline)
    report = {
        "capture": {
            "path": str(capture),
            "packets": args.packets,
            "seed": args.seed,
            "size_bytes": capture.stat().st_size,
            "generate_s": None if generate_s is None else round(generate_s, 3),
        },
        "runs": args.runs,
        "machine": machine_info(tshark),
        "results": [asdict(m) for m in results],
    }
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        console = Console()
        if not console.is_terminal:
            console = Console(width=150)
        render(report, console)
    if not all(m.ok for m in results):
        for m in results:
            if not m.ok:
                log.print(f"[red]error:[/] {m.tool}: {m.error}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
