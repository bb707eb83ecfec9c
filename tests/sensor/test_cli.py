"""`otsight sensor` on the command line: what is refused before capture starts, and with which
exit code (2: fix the configuration; 1: the capture itself failed, a service manager retries)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from otsight.cli.sensor import sensor_command


def _run(*args: str) -> tuple[int, str]:
    app = typer.Typer(add_completion=False)
    app.command()(sensor_command)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_bad_filter_is_a_configuration_error(tmp_path: Path) -> None:
    code, out = _run("-i", "eth0", "--filter", "tcp port", "--db", str(tmp_path / "s.db"))
    assert code == 2
    assert "bad filter 'tcp port'" in out


@pytest.mark.parametrize(
    "option", [("--max-flows", "0"), ("--checkpoint-s", "0"), ("--stats-every", "-1")]
)
def test_out_of_range_numbers_are_refused(tmp_path: Path, option: tuple[str, str]) -> None:
    code, _out = _run("-i", "eth0", *option, "--db", str(tmp_path / "s.db"))
    assert code == 2


def test_unknown_detector_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "detectors.json"
    config.write_text(json.dumps({"no-such-detector": {}}))
    code, out = _run("-i", "eth0", "--detectors", str(config), "--db", str(tmp_path / "s.db"))
    assert code == 2
    assert "unknown detector(s): no-such-detector" in out


def test_unsupported_database_is_refused() -> None:
    code, out = _run("-i", "eth0", "--db", "mysql://somewhere/otsight")
    assert code == 2
    assert "unsupported database 'mysql'" in out


def test_missing_interface_is_a_capture_failure(tmp_path: Path) -> None:
    """Exit 1 (root: no such interface; others: no permission), the store made but empty."""
    code, out = _run("-i", "nosuch0", "--db", str(tmp_path / "s.db"))
    assert code == 1
    assert "error: live:nosuch0:" in out
    assert (tmp_path / "s.db").exists()
