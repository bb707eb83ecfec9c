"""`otsight detect --baseline` and `otsight baseline show|accept|merge`: the learned baseline on
the command line.

`detect` runs the rule detectors and the baseline detector on captures, loading the baseline
file when it exists (learning goes on where it stopped, or detection starts at once) and saving
it back atomically at the end. `baseline accept` is analyst feedback: the alert's behaviour
becomes normal. The lead registers :func:`detect_command` and :data:`baseline_app` in app.py.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..alerts.model import Alert
from ..alerts.serialize import alert_from_dict
from .detect import load_detector_config, report_alerts

if TYPE_CHECKING:  # the detectors (and pydantic) load only when a command runs them
    from ..detect.baseline.detector import BaselineDetector, BaselineOptions
    from ..detect.baseline.model import BaselineState

baseline_app = typer.Typer(
    name="baseline",
    help="Inspect, accept alerts into, and merge learned baselines (see `otsight detect`).",
    no_args_is_help=True,
)


def _fail(err: Console, message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _load(path: Path, err: Console, missing_ok: bool = False) -> BaselineState:
    from ..detect.baseline.model import BaselineState
    from ..detect.baseline.persist import BaselineFormatError, load_baseline

    if missing_ok and not path.exists():
        err.print(f"new baseline {path}: learning starts", highlight=False)
        return BaselineState()
    try:
        return load_baseline(path)
    except BaselineFormatError as exc:
        raise _fail(err, str(exc)) from None


def _save(state: BaselineState, path: Path, err: Console) -> None:
    from ..detect.baseline.persist import save_baseline

    try:
        save_baseline(state, path)
    except OSError as exc:
        raise _fail(err, f"{path}: cannot save baseline: {exc.strerror or exc}", 1) from None


def _options(
    config: dict[str, dict[str, Any]], learn: float | None, learn_packets: int | None,
    err: Console,
) -> BaselineOptions:
    from ..detect.baseline.detector import BaselineOptions

    settings = dict(config.pop("baseline", {}))
    if learn is not None and learn_packets is not None:
        raise _fail(err, "give --learn or --learn-packets, not both")
    if learn is not None:
        settings["learn_s"], settings["learn_packets"] = learn, None
    if learn_packets is not None:
        settings["learn_packets"] = learn_packets
    try:
        return BaselineOptions.model_validate(settings)
    except ValueError as exc:
        raise _fail(err, f"detector baseline: {exc}") from None


def status_line(detector: BaselineDetector) -> str:
    """One line: how much was learned, and whether it is learning or detecting."""
    from ..detect.baseline.alerts import duration

    st, lr = detector.state, detector.state.learning
    learned = f"{duration(lr.seconds)} ({lr.packets} packets)"
    if lr.complete:
        phase = "detecting"
    elif lr.goal_packets is not None:
        phase = f"learning ({lr.packets}/{lr.goal_packets} packets)"
    else:
        phase = f"learning ({lr.seconds:.0f}/{lr.goal_s or 0:.0f} s)"
    return (
        f"learned {learned}: {phase}; {len(st.devices)} devices, {len(st.edges)} edges, "
        f"{st.operations()} operations, {len(st.points)} point tables, "
        f"{sum(s.periodic for s in st.series.values())} polling loops watched"
    )


def detect_command(
    captures: list[str] = typer.Argument(..., help="Capture files (pcap/pcapng, compressed)."),
    baseline: Path = typer.Option(
        ..., "--baseline", "-b", help="Baseline file: loaded if it exists, saved back at the end."
    ),
    learn: float | None = typer.Option(
        None, "--learn", help="Seconds of packet time to learn in total (default: the goal saved "
        "in the baseline, else 300)."
    ),
    learn_packets: int | None = typer.Option(
        None, "--learn-packets", help="Learn this many packets in total instead of seconds."
    ),
    alerts_out: Path | None = typer.Option(
        None, "--alerts-out", help="Write alerts and incidents as JSON lines (- for stdout)."
    ),
    detectors: Path | None = typer.Option(
        None, "--detectors", help="JSON file: detector name -> options ('baseline' included)."
    ),
    rules: bool = typer.Option(True, "--rules/--no-rules", help="Also run the rule detectors."),
    save: bool = typer.Option(True, "--save/--no-save", help="Save the baseline back."),
) -> None:
    """Detect with the rules and a learned baseline: learn first, then report deviations."""
    from ..detect.baseline.detector import BaselineDetector, LearnedPeers
    from ..detect.registry import available_detectors, create_detectors
    from ..detect.rules.ot_commands import UnknownMasterDetector
    from ..detect.stage import DetectionStage
    from ..pipeline.assemble import build_stages, run_files

    err = Console(stderr=True)
    try:
        config = load_detector_config(detectors)
    except ValueError as exc:
        raise _fail(err, str(exc)) from None
    options = _options(config, learn, learn_packets, err)
    state = _load(baseline, err, missing_ok=True)
    detector = BaselineDetector(options, state)
    others = []
    if rules:
        dropped = ["baseline"] if "baseline" in available_detectors() else []
        try:
            others = create_detectors(config, disable=dropped)
        except ValueError as exc:
            raise _fail(err, str(exc)) from None
        for other in others:
            if isinstance(other, UnknownMasterDetector):
                other.baseline = LearnedPeers(detector)
    elif config:
        raise _fail(err, f"--no-rules but options for {', '.join(sorted(config))}")
    stage = DetectionStage([*others, detector])
    result = run_files(captures, build_stages([stage]))
    for problem in result.errors:
        err.print(f"[red]error:[/] {problem.source}: {problem.reason}", highlight=False)
    if result.errors:
        err.print("baseline not saved: the input was not read completely")
        raise typer.Exit(1)
    out = Console(stderr=True) if alerts_out is not None and str(alerts_out) == "-" else Console()
    report_alerts(stage, alerts_out, out)
    err.print(f"baseline {baseline}: {status_line(detector)}", highlight=False, soft_wrap=True)
    if save:
        _save(detector.state, baseline, err)


# ----------------------------------------------------------------------------- show
def _time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _span(span: Any) -> str:
    return "-" if span is None else (f"{span.lo}" if span.lo == span.hi else f"{span.lo}-{span.hi}")


def render_baseline(state: BaselineState, out: Console) -> None:
    from ..detect.baseline.alerts import duration

    lr = state.learning
    out.print(
        f"learned {duration(lr.seconds)} ({lr.packets} packets) of traffic from "
        f"{_time(lr.first_ts)} to {_time(lr.last_ts)} UTC", highlight=False,
    )
    devices = Table(title=f"Devices ({len(state.devices)} MACs, {len(state.addresses)} local IPs)")
    for column in ("MAC", "IPs", "first seen (UTC)"):
        devices.add_column(column)
    for mac, dev in sorted(state.devices.items()):
        devices.add_row(mac, ", ".join(sorted(dev.ips)) or "-", _time(dev.first_ts))
    out.print(devices)
    edges = Table(title=f"Edges ({len(state.edges)})")
    for column in ("client", "server", "service", "operations"):
        edges.add_column(column, overflow="fold")
    for (client, server, transport, port), edge in sorted(state.edges.items()):
        ops = "; ".join(
            f"{proto}: " + ", ".join(f"{op} x{n}" for op, n in sorted(names.items()))
            for proto, names in sorted(edge.protocols.items())
        )
        edges.add_row(client, server, f"{transport}/{port}", ops or "-")
    out.print(edges)
    points = Table(title=f"Registers and points ({len(state.points)} tables)")
    for column in ("server", "protocol", "unit", "table", "reads", "writes", "written values"):
        points.add_column(column, overflow="fold")
    for (server, proto, unit, table), pts in sorted(state.points.items()):
        values = ", ".join(f"{a}: {lo:g}..{hi:g} (x{n})" for a, (lo, hi, n) in
                           sorted(pts.values.items())[:8])
        points.add_row(server, proto, str(unit), table, _span(pts.read), _span(pts.write),
                       values or "-")
    out.print(points)
    watched = [(k, s) for k, s in sorted(state.series.items()) if s.periodic or s.ignored]
    loops = Table(title=f"Polling loops ({len(watched)} regular of {len(state.series)})")
    for column in ("client", "server", "operation", "every", "MAD", "samples", "watched"):
        loops.add_column(column, overflow="fold")
    for (client, server, _t, _p, proto, op, sig), s in watched:
        loops.add_row(client, server, f"{proto} {op}" + (f" [{sig}]" if sig else ""),
                      f"{s.median or 0:.3g} s", f"{s.mad or 0:.2g} s", str(len(s.intervals)),
                      "no (accepted)" if s.ignored else "yes")
    out.print(loops)


@baseline_app.command("show")
def show_command(
    path: Path = typer.Argument(..., help="Baseline file."),
    json_out: bool = typer.Option(False, "--json", help="Print the baseline document as JSON."),
) -> None:
    """What a baseline has learned: devices, edges, register ranges, polling loops."""
    from ..detect.baseline.persist import state_to_dict

    err = Console(stderr=True)
    state = _load(path, err)
    if json_out:
        sys.stdout.write(json.dumps(state_to_dict(state), indent=1) + "\n")
    else:
        render_baseline(state, Console())


# ----------------------------------------------------------------------------- accept
def _alert_from_text(text: str, err: Console) -> Alert:
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise TypeError("not a JSON object")
        return alert_from_dict(doc)
    except (ValueError, TypeError) as exc:
        raise _fail(err, f"not an alert record ({exc})") from None


def _find_alert(alerts: Path, alert_id: str, err: Console) -> Alert:
    try:
        lines = alerts.read_bytes().splitlines()
    except OSError as exc:
        raise _fail(err, f"{alerts}: {exc.strerror or exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise _fail(err, f"{alerts}:{n}: not JSON") from None
        if isinstance(doc, dict) and doc.get("record", "alert") == "alert" and (
            doc.get("alert_id") == alert_id
        ):
            return _alert_from_text(line.decode(), err)
    raise _fail(err, f"{alerts}: no alert with id {alert_id}")


@baseline_app.command("accept")
def accept_command(
    path: Path = typer.Argument(..., help="Baseline file to update."),
    alert: str | None = typer.Option(
        None, "--alert", help="The alert as JSON (a line of --alerts-out), or a file holding it."
    ),
    alert_id: str | None = typer.Option(None, "--alert-id", help="Id of the alert to accept."),
    alerts: Path | None = typer.Option(
        None, "--alerts", help="JSON lines written by --alerts-out (with --alert-id)."
    ),
) -> None:
    """Analyst feedback: the alert's behaviour is expected; add it to the baseline."""
    from ..detect.baseline.feedback import FeedbackError, mark_expected

    err = Console(stderr=True)
    if alert is not None and (alert_id or alerts):
        raise _fail(err, "give --alert, or --alert-id with --alerts")
    if alert is not None:
        text = alert
        if not alert.lstrip().startswith("{"):  # a file holding the alert
            try:
                text = Path(alert).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise _fail(err, f"{alert}: cannot read the alert: {exc}") from None
        found = _alert_from_text(text, err)
    elif alert_id and alerts:
        found = _find_alert(alerts, alert_id, err)
    else:
        raise _fail(err, "give --alert, or --alert-id with --alerts")
    state = _load(path, err)
    try:
        changes = mark_expected(state, found)
    except FeedbackError as exc:
        raise _fail(err, str(exc)) from None
    _save(state, path, err)
    for line in changes:
        Console().print(f"accepted: {line}", highlight=False)


@baseline_app.command("merge")
def merge_command(
    out: Path = typer.Argument(..., help="Baseline file to write."),
    inputs: list[Path] = typer.Argument(..., help="Baselines to merge (two or more)."),
) -> None:
    """One baseline allowing everything its inputs allow (e.g. two sites of one process)."""
    from ..detect.baseline.detector import BaselineOptions
    from ..detect.baseline.model import merge

    err = Console(stderr=True)
    states = [_load(p, err) for p in inputs]
    merged = merge(states)
    defaults = BaselineOptions()
    merged.finalize(defaults.min_period_samples, defaults.max_period_dispersion,
                    defaults.min_period_s)
    _save(merged, out, err)
    err.print(f"merged {len(states)} baselines into {out}", highlight=False)
