"""`otsight inventory`: formats, expected-asset coverage, bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from otsight.cli.app import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed" / "capture.pcap"
runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["inventory", str(EXAMPLE), *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_has_every_asset_with_evidence() -> None:
    code, out, _ = _invoke("--format", "json", "--changes")
    assert code == 0
    doc = json.loads(out)
    assets = doc["assets"]
    assert doc["meta"]["assets"] == len(assets) == 16
    plc = next(a for a in assets if "192.0.2.10" in a["ips"])
    assert plc["role"] == "plc"
    assert plc["firmware"] == "v3.10"
    assert any(e["claim"] == "role" for e in plc["evidence"])
    assert {c["kind"] for c in doc["changes"]} >= {"new-asset"}


def test_csv_round_trips_through_a_csv_reader() -> None:
    code, out, _ = _invoke("--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 16
    by_ip = {r["ips"]: r for r in rows}
    assert by_ip["192.0.2.70"]["model"] == "Desigo PXC4.E16"
    assert by_ip["192.0.2.40"]["role"] == "iot_gateway"


def test_cyclonedx_devices(tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    code, _, _ = _invoke("--format", "cyclonedx", "-o", str(out))
    assert code == 0
    bom = json.loads(out.read_text())
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.5"
    assert len(bom["components"]) == 16
    assert all(c["type"] == "device" for c in bom["components"])
    plc = next(c for c in bom["components"] if c.get("version") == "v3.10")
    assert plc["name"] == "BMX P34 2020"
    assert plc["manufacturer"]["name"] == "Schneider Electric"
    # Same capture, same document (no wall-clock or random identifiers).
    again = tmp_path / "bom2.json"
    _invoke("--format", "cyclonedx", "-o", str(again))
    assert again.read_text() == out.read_text()


def test_expected_assets_coverage(tmp_path: Path) -> None:
    expected = tmp_path / "assets.csv"
    expected.write_text(
        "name,ip,mac,hostname\n"
        "tank PLC,192.0.2.10,,\n"
        "pump PLC,,00:30:de:0b:44:02,\n"
        "engineering laptop,,,eng-wks-07\n"
        "spare PLC,192.0.2.12,,\n"
    )
    code, _, err = _invoke("--format", "json", "--expected", str(expected))
    assert code == 0
    assert "coverage: 3/4 expected assets seen (75%); 13 seen but not expected" in err
    assert "unseen: spare PLC (line 5)" in err


def test_bad_expected_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,location\nplc,hall 1\n")
    code, _, err = _invoke("--expected", str(bad))
    assert code == 2
    assert "needs at least one of the columns mac, ip, hostname" in err
    code, _, err = _invoke("--expected", str(tmp_path / "missing.csv"))
    assert code == 2
    assert "cannot read" in err
