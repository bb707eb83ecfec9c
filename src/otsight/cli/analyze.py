"""`otsight analyze`: what is in these captures (or on this interface)?"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from ..core.errors import CaptureError
from ..pipeline.assemble import Stages, build_stages, run_batches, run_files
from ..pipeline.runner import AnalysisResult
from ..pipeline.summary import Summary
from .progress import file_progress

if TYPE_CHECKING:  # each imported where its option asks for it: start-up time is throughput
    from ..core.plugins import Observer
    from ..export.jsonl import JsonlSink


def analyze_command(
    captures: list[str] = typer.Argument(
        None,
        help="pcap/pcapng files (optionally gzip/zstd/bz2/xz/zip), directories, or - for stdin.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    interface: str | None = typer.Option(
        None, "--interface", "-i", help="Capture live from this interface."
    ),
    bpf: str | None = typer.Option(None, "--filter", "-f", help="BPF filter for live capture."),
    count: int | None = typer.Option(
        None, "--count", "-c", help="Stop live capture after N packets."
    ),
    duration: float | None = typer.Option(
        None, "--duration", help="Stop live capture after S seconds."
    ),
    top: int = typer.Option(10, "--top", help="Rows in the top-N tables."),
    dissect: bool = typer.Option(
        False,
        "--dissect",
        help="Dissect application protocols and count their flows and events per protocol "
        "in the summary (implied by --events, --alerts and --db).",
    ),
    events: Path | None = typer.Option(
        None,
        "--events",
        help="Dissect application protocols and write every event as ECS JSON lines to this file.",
    ),
    alerts: bool = typer.Option(False, "--alerts", help="Run the detectors; print their alerts."),
    alerts_out: Path | None = typer.Option(
        None, "--alerts-out", help="Write alerts and incidents as JSON lines (- for stdout)."
    ),
    detectors: Path | None = typer.Option(
        None, "--detectors", help="JSON file: detector name -> options (with --alerts or --db)."
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Build the inventory, run the detectors and write assets, conversations, alerts "
        "and events of note to this store (SQLite path or database URL; see `otsight serve`).",
    ),
    progress: bool | None = typer.Option(
        None,
        "--progress/--no-progress",
        help="Progress bar (default: on for big inputs on a terminal).",
    ),
    processes: int = typer.Option(
        1,
        "--processes",
        min=1,
        max=2,
        help="Dissect capture files with 2 processes: a second one dissects part of the flows "
        "(the results are the same; it pays off for big captures when nothing but counts is "
        "wanted).",
    ),
) -> None:
    """Decode captures and summarise them: volume, protocols, flows, talkers, errors."""
    err = Console(stderr=True)
    if not captures and not interface:
        err.print("[red]error:[/] give capture files, directories, - for stdin, or --interface")
        raise typer.Exit(2)
    stdout_users = [
        json_out,
        events is not None and str(events) == "-",
        alerts_out is not None and str(alerts_out) == "-",
    ]
    if sum(stdout_users) > 1:
        err.print(
            "[red]error:[/] --json, --events - and --alerts-out - all write to standard output: "
            "choose one"
        )
        raise typer.Exit(2)
    started = time.perf_counter()
    sink: JsonlSink | None = None
    observers: list[Observer] = []
    if events is not None:
        from ..export.jsonl import JsonlSink

        try:
            sink = JsonlSink(events)
        except OSError as exc:
            err.print(f"[red]error:[/] {events}: cannot write events: {exc.strerror or exc}")
            raise typer.Exit(2) from None
        observers.append(sink)
    detection = None
    if alerts or alerts_out is not None or db is not None:
        from .detect import detection_stage

        detection = detection_stage(detectors, err=err)
    store = None
    if db is not None:
        from .storage import open_store

        source = f"live:{interface}" if interface else " ".join(captures)
        store = open_store(db, source, detection, err)
        observers += [store.inventory, *([detection] if detection else []), store.sink]
    elif detection is not None:
        observers.append(detection)
    stages = build_stages(observers) if observers or dissect else None
    try:
        if interface:
            result = _live(interface, bpf, count, duration, err, stages)
        else:
            result = _files(captures, progress, err, stages, processes)
    finally:
        if sink is not None:
            sink.close()
        if store is not None:
            store.close()
    if stages is not None:
        result.summary.dissected = stages.dissected()
    elapsed = time.perf_counter() - started
    for problem in result.errors:
        err.print(
            f"[red]error:[/] {problem.source}: {problem.reason}", highlight=False, soft_wrap=True
        )
    if json_out:
        data = result.summary.to_dict(top)
        data["elapsed_s"] = round(elapsed, 3)
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        # With --events - or --alerts-out - those own standard output; the summary goes to stderr.
        to_stderr = sum(stdout_users) > 0
        _render(result.summary, top, elapsed, Console(stderr=to_stderr))
    if detection is not None and (alerts or alerts_out is not None):
        from .detect import report_alerts

        report_alerts(detection, alerts_out, Console(stderr=sum(stdout_users) > 0), show=alerts)
    if store is not None:
        err.print(store.report(), highlight=False)
    if result.errors:
        raise typer.Exit(1)


def _files(
    captures: list[str],
    progress: bool | None,
    err: Console,
    stages: Stages | None,
    processes: int = 1,
) -> AnalysisResult:
    """Analyse files, with a progress bar for big inputs on a terminal."""
    from ..pipeline.shards import ShardError

    try:
        with file_progress(captures, progress, err) as update:
            return run_files(captures, stages, progress=update, processes=processes)
    except ShardError as exc:
        err.print(f"[red]error:[/] {exc}; --processes 1 runs without the second process")
        raise typer.Exit(1) from None


def _live(
    interface: str,
    bpf: str | None,
    count: int | None,
    duration: float | None,
    err: Console,
    stages: Stages | None,
) -> AnalysisResult:
    try:
        from ..capture.live import LiveCapture
    except ImportError as exc:  # pragma: no cover - live.py is part of the package
        err.print(f"[red]error:[/] live capture unavailable: {exc}")
        raise typer.Exit(2) from None
    try:
        cap = LiveCapture(interface, bpf_filter=bpf, count=count, duration=duration)
    except CaptureError as exc:
        err.print(f"[red]error:[/] {exc.source}: {exc.reason}")
        raise typer.Exit(1) from None
    err.print(f"capturing on {interface}" + (f" ({bpf})" if bpf else "") + "; Ctrl-C to stop")
    with cap:
        try:
            return run_batches(f"live:{interface}", cap, stages)
        except KeyboardInterrupt:
            cap.stop()
            raise


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _render(s: Summary, top: int, elapsed: float, out: Console) -> None:
    start = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s.first_ts_ns / 1e9))
        if s.first_ts_ns
        else "-"
    )
    out.print(
        f"[bold]{s.packets:,} packets[/], {_fmt_bytes(s.wire_bytes)}, "
        f"{s.duration_s:,.1f} s of traffic from {start} UTC, {s.flows:,} flows "
        f"(analysed in {elapsed:.2f} s)"
    )
    mix = Table(title="Protocol mix", show_header=True)
    mix.add_column("layer")
    mix.add_column("protocol")
    mix.add_column("packets", justify="right")
    for name, n in s.l3.most_common():
        mix.add_row("network", name, f"{n:,}")
    for name, n in s.transport.most_common():
        mix.add_row("transport", name, f"{n:,}")
    for name, n in s.ethertypes.most_common(top):
        mix.add_row("link", name, f"{n:,}")
    out.print(mix)
    if s.services:
        svc = Table(title="Services (named by server port: a hint, not proof)")
        svc.add_column("service")
        svc.add_column("flows", justify="right")
        svc.add_column("bytes", justify="right")
        for name, n in s.services.most_common(top):
            svc.add_row(name, f"{n:,}", _fmt_bytes(s.service_bytes[name]))
        out.print(svc)
    if s.talker_bytes:
        talk = Table(title="Top talkers")
        talk.add_column("address")
        talk.add_column("bytes", justify="right")
        talk.add_column("packets", justify="right")
        for ip, n in s.talker_bytes.most_common(top):
            talk.add_row(ip, _fmt_bytes(n), f"{s.talker_packets[ip]:,}")
        out.print(talk)
    if s.dissected:
        app = Table(title="Application protocols (identified by content)")
        app.add_column("protocol")
        app.add_column("flows", justify="right")
        app.add_column("events", justify="right")
        for name, d in s.dissected.items():
            app.add_row(name, f"{d['flows']:,}", f"{d['events']:,}")
        out.print(app)
    tcp = s.tcp
    if tcp:
        out.print(
            f"TCP: {tcp.get('handshakes', 0):,} handshakes seen, "
            f"{_fmt_bytes(tcp.get('delivered', 0))} reassembled, "
            f"{_fmt_bytes(tcp.get('retrans', 0))} retransmitted, "
            f"{tcp.get('ooo', 0):,} out-of-order segments, "
            f"{_fmt_bytes(tcp.get('gaps', 0))} missing (gaps)"
        )
    if s.errors:
        errs = Table(title="Decode problems (packets counted and skipped)")
        errs.add_column("problem")
        errs.add_column("packets", justify="right")
        for name, n in s.errors.most_common():
            errs.add_row(name, f"{n:,}")
        out.print(errs)
    else:
        out.print("No decode errors.")
