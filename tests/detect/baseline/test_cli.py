"""`otsight detect --baseline` and `otsight baseline show|accept|merge`, through a Typer app
of their own (the lead registers them in cli/app.py)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import typer
from typer.testing import CliRunner

from otsight.cli.baseline import baseline_app, detect_command
from otsight.detect.baseline.persist import load_baseline

from .plant import ATK, PLC, Plant
from .test_detect import attacked

app = typer.Typer()
app.command("detect")(detect_command)
app.add_typer(baseline_app, name="baseline")


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def alerts_of(path: Path) -> list[dict[str, object]]:
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return [r for r in records if r["record"] == "alert"]


def test_detect_learns_saves_then_detects_and_accept_silences(tmp_path: Path) -> None:
    base = tmp_path / "plant.json"
    normal = Plant().normal(0, 120).write(tmp_path / "normal.pcap")
    code, out, err = invoke("detect", normal, "--baseline", base, "--learn", "100")
    assert code == 0, err
    assert "new baseline" in err
    assert "learned 100 s" in err
    assert "detecting" in err
    assert "no alerts" in out
    assert load_baseline(base).learning.goal_s == 100

    capture = attacked(tmp_path / "attacked.pcap")
    jsonl = tmp_path / "alerts.jsonl"
    code, out, err = invoke("detect", capture, "--baseline", base, "--alerts-out", jsonl)
    assert code == 0, err
    records = alerts_of(jsonl)
    mine = [r for r in records if r["detector"] == "baseline"]
    assert {r["kind"] for r in mine} >= {"new-device", "new-conversation", "write-out-of-range"}
    # the rules ran too, and unknown-master consulted the learned baseline
    assert any(r["detector"] == "unknown-master" and r["src_ip"] == ATK for r in records)
    assert "New device" in out

    device = next(r for r in mine if r["kind"] == "new-device")
    code, out, err = invoke("baseline", "accept", base, "--alert-id", str(device["alert_id"]),
                            "--alerts", jsonl)
    assert code == 0, err
    assert out.startswith("accepted: device b8:27:eb:9d:3e:66 192.0.2.66")
    single = tmp_path / "one-alert.json"
    single.write_text(json.dumps(next(r for r in mine if r["kind"] == "new-conversation")))
    code, out, err = invoke("baseline", "accept", base, "--alert", single)
    assert code == 0, err
    assert f"conversation {ATK} -> {PLC} tcp/502" in out

    again = tmp_path / "again.jsonl"
    code, _, err = invoke("detect", capture, "--baseline", base, "--alerts-out", again,
                          "--no-rules", "--no-save")
    assert code == 0, err
    kinds = {r["kind"] for r in alerts_of(again)}
    assert "new-device" not in kinds
    assert "new-conversation" not in kinds
    assert "write-out-of-range" in kinds


def test_show_summarises_and_dumps_the_baseline(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    normal = Plant().normal(0, 120).write(tmp_path / "normal.pcap")
    assert invoke("detect", normal, "--baseline", base, "--learn", "60", "--no-rules")[0] == 0
    code, out, _ = invoke("baseline", "show", base)
    assert code == 0
    assert "learned 60 s" in out
    assert "Polling loops" in out
    assert "read-holding-registers" in out
    code, out, _ = invoke("baseline", "show", base, "--json")
    assert json.loads(out)["format"] == "otsight-baseline"


def test_merge_writes_one_baseline(tmp_path: Path) -> None:
    a, b, merged = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "m.json"
    normal = Plant().normal(0, 120).write(tmp_path / "normal.pcap")
    for path in (a, b):
        assert invoke("detect", normal, "--baseline", path, "--learn", "60", "--no-rules")[0] == 0
    code, _, err = invoke("baseline", "merge", merged, a, b)
    assert code == 0, err
    assert load_baseline(merged).learning.seconds == 120


def test_bad_input_gives_a_clear_error_and_exit_2(tmp_path: Path) -> None:
    normal = Plant().normal(0, 10).write(tmp_path / "normal.pcap")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"format": "zeek-intel"}')
    code, _, err = invoke("detect", normal, "--baseline", foreign)
    assert code == 2
    assert "not an otsight baseline" in err
    assert foreign.read_text() == '{"format": "zeek-intel"}'  # never overwritten
    code, _, err = invoke("detect", normal, "--baseline", tmp_path / "n.json", "--learn", "5",
                          "--learn-packets", "9")
    assert code == 2
    assert "not both" in err
    code, _, err = invoke("baseline", "show", foreign)
    assert code == 2
    assert "not an otsight baseline" in err
    base = tmp_path / "b.json"
    assert invoke("detect", normal, "--baseline", base, "--no-rules")[0] == 0
    code, _, err = invoke("baseline", "accept", base, "--alert", tmp_path / "none.json")
    assert code == 2
    assert "cannot read the alert" in err
    code, _, err = invoke("baseline", "accept", base, "--alert", '{"kind": "x"}')
    assert code == 2
    assert "not an alert record" in err
    code, _, err = invoke("baseline", "accept", base, "--alert-id", "nope", "--alerts",
                          tmp_path / "missing.jsonl")
    assert code == 2
    assert "missing.jsonl" in err
