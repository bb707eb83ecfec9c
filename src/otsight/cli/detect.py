"""Detection on the command line: alerts for `otsight analyze --alerts`, and `otsight eval`.

`analyze` wires it in three calls: :func:`detection_stage` (an observer to add to the stages),
then after the run :func:`report_alerts` (a table, and JSON lines with ``--alerts-out``).
`eval` runs detection on a capture and scores it against the lab's truth.json
(:mod:`otsight.detect.evaluate` states the matching rule).
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

from ..alerts.incidents import Incident
from ..alerts.model import Alert
from ..alerts.serialize import alert_to_dict, incident_to_dict
from ..detect.evaluate import MatchRule, Score, load_truth, score
from ..pipeline.assemble import build_stages, run_files

if TYPE_CHECKING:  # the detectors (and pydantic) load only when a command runs them
    from ..detect.stage import DetectionStage

SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def load_detector_config(path: Path | None) -> dict[str, dict[str, Any]]:
    """``{"detector-name": {"option": value}}`` from a JSON file (None: defaults)."""
    if path is None:
        return {}
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read detector config: {exc}") from None
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise ValueError(f"{path}: detector config must map detector names to option objects")
    return doc


def detection_stage(
    config: Path | None = None, *, keep_raw: bool = False, err: Console | None = None
) -> DetectionStage:
    """The detection observer with every built-in (and plugin) detector; exits 2 on a bad
    config, naming the problem."""
    try:
        from ..detect.registry import create_detectors
        from ..detect.stage import DetectionStage

        detectors = create_detectors(load_detector_config(config))
    except ValueError as exc:
        (err or Console(stderr=True)).print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    return DetectionStage(detectors, keep_raw=keep_raw)


def _time(ts: float) -> str:
    when = _dt.datetime.fromtimestamp(ts, tz=_dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def _who(ip: str | None, mac: str | None) -> str:
    return ip or mac or "-"


def render_alerts(alerts: list[Alert], incidents: list[Incident], out: Console) -> None:
    """Alerts as a table (capture time of the first packet, UTC), then incidents."""
    if not alerts:
        out.print("[green]no alerts[/]")
        return
    days = {_time(a.ts)[:10] for a in alerts}
    one_day = len(days) == 1
    title = f"Alerts ({len(alerts)})" + (f", {days.pop()} UTC" if one_day else "")
    table = Table(title=title, show_lines=False)
    table.add_column("first packet" if one_day else "first packet (UTC)", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("kind")
    table.add_column("ATT&CK", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("what happened", overflow="fold", ratio=1)
    for a in alerts:
        style = SEVERITY_STYLE.get(a.severity, "")
        when = _time(a.ts)[11:] if one_day else _time(a.ts)
        table.add_row(
            when, f"[{style}]{a.severity}[/]", a.kind, a.technique_id, str(a.count), a.title
        )
    out.print(table)
    if incidents:
        inc = Table(title=f"Incidents ({len(incidents)})")
        for column in ("first packet (UTC)", "severity", "alerts", "incident"):
            inc.add_column(column, justify="right" if column == "alerts" else "left")
        for i in incidents:
            style = SEVERITY_STYLE.get(i.severity, "")
            inc.add_row(_time(i.ts), f"[{style}]{i.severity}[/]", str(len(i.alert_ids)), i.title)
        out.print(inc)


def write_alerts(path: Path, alerts: list[Alert], incidents: list[Incident]) -> None:
    """JSON lines: one alert per line, then one incident per line (``"record": "incident"``);
    ``-`` writes to standard output."""
    lines = [orjson.dumps({"record": "alert", **alert_to_dict(a)}) for a in alerts]
    lines += [orjson.dumps({"record": "incident", **incident_to_dict(i)}) for i in incidents]
    data = b"".join(line + b"\n" for line in lines)
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        path.write_bytes(data)


def report_alerts(
    stage: DetectionStage, alerts_out: Path | None, out: Console, show: bool = True
) -> None:
    """After `analyze`: print the alert table (when ``show``) and write ``--alerts-out``."""
    alerts, incidents = stage.alerts, stage.incidents()
    if show:
        render_alerts(alerts, incidents, out)
    for name, count in sorted(stage.dropped.items()):
        Console(stderr=True).print(
            f"[yellow]warning:[/] detector {name} reached a memory bound: {count} items not "
            "tracked (raise its max_* option)", highlight=False,
        )
    for name, count in sorted(stage.errors.items()):
        Console(stderr=True).print(
            f"[red]warning:[/] detector {name} failed {count} times (kept running): "
            + "; ".join(stage.failures.get(name, [])), highlight=False, soft_wrap=True,
        )
    if alerts_out is not None:
        try:
            write_alerts(alerts_out, alerts, incidents)
        except OSError as exc:
            Console(stderr=True).print(f"[red]error:[/] {alerts_out}: {exc.strerror or exc}")
            raise typer.Exit(1) from None


# ----------------------------------------------------------------------------- eval
def score_to_dict(result: Score) -> dict[str, Any]:
    return {
        "recall": result.recall,
        "precision": result.precision,
        "alerts": result.alerts,
        "true_alerts": result.true_alerts,
        "false_alerts": len(result.false_alerts),
        "false_alerts_per_hour": result.false_per_hour,
        "benign_false_alerts": result.benign_false_alerts,
        "info_findings": result.info_findings,
        "normal_hours": result.normal_hours,
        "median_ttd_s": result.median_ttd_s,
        "steps": [
            {
                "step_id": r.step.step_id,
                "name": r.step.name,
                "techniques": list(r.step.technique_ids),
                "ok": r.step.ok,
                "detected": r.detected,
                "ttd_s": r.ttd_s,
                "alert_kinds": list(r.kinds),
            }
            for r in result.steps
        ],
        "false": [
            {"alert_id": a.alert_id, "kind": a.kind, "ts": a.ts, "title": a.title}
            for a in result.false_alerts
        ],
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render_score(result: Score, scenario: str, out: Console) -> None:
    steps = Table(title=f"Attack steps of {scenario}")
    for column in ("step", "name", "ATT&CK", "detected", "time to detect", "alert kinds"):
        steps.add_column(column)
    for r in result.steps:
        verdict = "[green]yes[/]" if r.detected else ("[red]MISSED[/]" if r.step.ok else "n/a")
        steps.add_row(
            r.step.step_id + ("" if r.step.ok else " (tool failed)"), r.step.name,
            ",".join(r.step.technique_ids), verdict, _fmt(r.ttd_s, ".2f") + " s"
            if r.ttd_s is not None else "-", ", ".join(r.kinds),
        )
    if result.steps:
        out.print(steps)
    out.print(
        f"recall {_fmt(result.recall, '.2f')}  precision {_fmt(result.precision, '.2f')} "
        f"({result.true_alerts}/{result.alerts} alerts)  median time to detect "
        f"{_fmt(result.median_ttd_s, '.2f')} s  false alerts {len(result.false_alerts)} in "
        f"{result.normal_hours * 3600:.0f} s of normal traffic = "
        f"{_fmt(result.false_per_hour, '.1f')}/h  (benign-change windows: "
        f"{result.benign_false_alerts}; info findings, not counted: {result.info_findings})",
        highlight=False,
    )
    if result.false_alerts:
        false = Table(title="False alerts")
        for column in ("first packet (UTC)", "kind", "source", "target", "what happened"):
            false.add_column(column)
        for a in result.false_alerts:
            false.add_row(_time(a.ts), a.kind, _who(a.src_ip, a.src_mac),
                          _who(a.dst_ip, a.dst_mac), a.title)
        out.print(false)


def eval_command(
    captures: list[str] = typer.Argument(..., help="Capture file(s) of the labelled run."),
    truth: Path = typer.Option(..., "--truth", "-t", help="truth.json written by `otsight lab`."),
    config: Path | None = typer.Option(
        None, "--detectors", help="JSON file: detector name -> options."
    ),
    tolerance: float = typer.Option(
        2.0, "--tolerance", help="Seconds an alert may fall before or after a step window."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
    alerts_out: Path | None = typer.Option(
        None, "--alerts-out", help="Also write the alerts as JSON lines to this file."
    ),
) -> None:
    """Detect on a labelled capture and score it: precision, recall, time to detect, false
    alerts per hour of normal traffic."""
    err = Console(stderr=True)
    try:
        ground = load_truth(truth)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if tolerance < 0:
        err.print("[red]error:[/] --tolerance must be >= 0")
        raise typer.Exit(2)
    stage = detection_stage(config, keep_raw=True, err=err)
    result = run_files(captures, build_stages([stage]))
    for problem in result.errors:
        err.print(f"[red]error:[/] {problem.source}: {problem.reason}", highlight=False)
    if result.errors:
        raise typer.Exit(1)
    rule = MatchRule(before_s=tolerance, after_s=tolerance)
    scored = score(ground, stage.alerts, stage.raw, rule)
    if alerts_out is not None:
        report_alerts(stage, alerts_out, err, show=False)
    if json_out:
        doc = {"scenario": ground.scenario, **score_to_dict(scored)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        out = Console()
        render_alerts(stage.alerts, stage.incidents(), out)
        render_score(scored, ground.scenario, out)
