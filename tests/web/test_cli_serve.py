"""`otsight serve`, `user`, `token` and `db` as the lead registers them in cli/app.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from otsight.cli.serve import db_app, serve_command, token_app, user_app
from otsight.store import make_engine, session_factory
from otsight.store.migrate import current_revision, head_revision
from otsight.store.users import Principal, authenticate

app = typer.Typer()
app.command("serve")(serve_command)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")

SCRIPT = """
import typer
from otsight.cli.serve import serve_command
app = typer.Typer()
app.command("serve")(serve_command)
app.command("noop")(lambda: None)
app()
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_creates_then_reports_head(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    code, out, _ = run("db", "upgrade", "--db", db)
    assert code == 0
    assert f"upgraded from empty to {head_revision()}" in out
    code, out, _ = run("db", "upgrade", "--db", db)
    assert code == 0
    assert f"already at revision {head_revision()}" in out
    assert current_revision(make_engine(db)) == head_revision()


def test_user_and_token_lifecycle(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code, out, _ = run("user", "add", "ann", "--role", "analyst", "--db", db)
    assert code == 0
    assert "user ann (analyst) created" in out
    code, out, err = run("token", "create", "ann", "--label", "laptop", "--db", db)
    token = out.strip()
    assert code == 0
    assert token.startswith("ots_")
    assert "keep it now" in err
    with session_factory(make_engine(db))() as s:
        assert authenticate(s, token) == Principal("ann", "analyst")
    code, out, _ = run("token", "list", "--db", db)
    assert token[:12] in out
    assert token not in out
    assert "laptop" in out
    code, out, _ = run("user", "list", "--db", db)
    assert "ann" in out
    assert "analyst" in out
    code, out, _ = run("token", "revoke", token[:12], "--db", db)
    assert code == 0
    assert "revoked 1 token(s)" in out
    with session_factory(make_engine(db))() as s:
        assert authenticate(s, token) is None


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("user", "add", "ann", "--role", "root"), 2, "role must be one of viewer, analyst, admin"),
        (("user", "add", "a b", "--role", "viewer"), 2, "is not valid"),
        (("token", "create", "ghost"), 2, "user 'ghost' not found"),
        (("token", "revoke", "ots_"), 2, "first 12 characters"),
    ],
)
def test_bad_cli_input_fails_with_a_message(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    got, _, err = run(*args, "--db", str(tmp_path / "x.db"))
    assert got == code
    assert message in " ".join(err.split())


def test_unsupported_database_url_is_refused(tmp_path: Path) -> None:
    code, _, err = run("db", "upgrade", "--db", "mysql://u@h/db")
    assert code == 1
    assert "unsupported database 'mysql'" in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_real_http(tmp_path: Path) -> None:
    db = str(tmp_path / "served.db")
    assert run("user", "add", "vic", "--role", "viewer", "--db", db)[0] == 0
    token = run("token", "create", "vic", "--db", db)[1].strip()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "serve", "--db", db, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "serve did not start in 30 s"
            time.sleep(0.1)
        assert httpx.get(f"{base}/assets").status_code == 401
        r = httpx.get(f"{base}/assets", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        assert r.json()["total"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
