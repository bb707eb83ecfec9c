"""`otsight eval` and the `analyze --alerts` helpers, through a Typer app of their own (the lead
registers them in cli/app.py and cli/analyze.py)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import typer
from rich.console import Console
from typer.testing import CliRunner

from otsight.alerts.serialize import alert_from_dict
from otsight.cli.detect import detection_stage, eval_command, report_alerts
from otsight.pipeline.assemble import build_stages, run_files

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed"

app = typer.Typer()
app.command()(eval_command)


def test_eval_prints_scores_as_json_and_writes_alerts(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(app, [
        str(EXAMPLE / "capture.pcap"), "--truth", str(EXAMPLE / "truth.json"), "--json",
        "--alerts-out", str(out),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["scenario"], doc["recall"], doc["false_alerts"]) == ("mixed", 1.0, 0)
    assert [s["step_id"] for s in doc["steps"] if s["detected"]] == [
        "recon-1", "recon-2", "recon-3", "mitm-1", "manip-1", "manip-2", "manip-3", "manip-4"]
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    alerts = [alert_from_dict(r) for r in records if r["record"] == "alert"]
    incidents = [r for r in records if r["record"] == "incident"]
    assert len(alerts) == doc["alerts"] + doc["info_findings"]
    assert {a.kind for a in alerts} >= {"arp-spoofing", "port-scan", "modbus-listen-only"}
    assert all(r["@timestamp"].endswith("Z") for r in records)
    assert any("192.0.2.66" in i["actors"] for i in incidents)


def test_eval_table_output_and_bad_inputs(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, [str(EXAMPLE / "capture.pcap"), "--truth",
                                 str(EXAMPLE / "truth.json")])
    assert result.exit_code == 0, result.output
    assert "recall 1.00" in result.stdout
    assert "Attack steps of mixed" in result.stdout
    missing = runner.invoke(app, [str(EXAMPLE / "capture.pcap"), "--truth",
                                  str(tmp_path / "none.json")])
    assert missing.exit_code == 2
    assert "cannot read truth" in missing.output
    config = tmp_path / "detectors.json"
    config.write_text(json.dumps({"scan": {"grace": 1}}))
    bad = runner.invoke(app, [str(EXAMPLE / "capture.pcap"), "--truth",
                              str(EXAMPLE / "truth.json"), "--detectors", str(config)])
    assert bad.exit_code == 2
    assert "grace" in bad.output
    config.write_text(json.dumps({"unknown-master": {"warmup_s": 60}}))
    strict = runner.invoke(app, [str(EXAMPLE / "capture.pcap"), "--truth",
                                 str(EXAMPLE / "truth.json"), "--detectors", str(config),
                                 "--json"])
    assert strict.exit_code == 0
    # a 60 s warm-up learns the attacker as a master of both PLCs: its writes go unreported
    assert json.loads(strict.stdout)["recall"] < 1.0


def test_report_alerts_prints_a_table_and_writes_json_lines(tmp_path: Path) -> None:
    stage = detection_stage()
    run_files([str(EXAMPLE / "capture.pcap")], build_stages([stage]))
    console = Console(record=True, width=160)
    out = tmp_path / "alerts.jsonl"
    report_alerts(stage, out, console)
    text = console.export_text()
    assert "arp-spoofing" in text
    assert "T0830" in text
    assert "Incidents" in text
    lines = out.read_bytes().splitlines()
    assert len(lines) == len(stage.alerts) + len(stage.incidents())
