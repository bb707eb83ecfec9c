"""The `otsight` command."""

from __future__ import annotations

import logging
import os
import sys

import typer

from .. import __version__
from .analyze import analyze_command
from .baseline import baseline_app, detect_command
from .detect import eval_command
from .inventory import inventory_command
from .lab import lab_app
from .sensor import sensor_command
from .serve import db_app, serve_command, token_app, user_app

app = typer.Typer(
    name="otsight",
    help="Passive OT/IoT network security: decode captures, see every device, detect attacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("analyze")(analyze_command)
app.command("inventory")(inventory_command)
app.command("eval")(eval_command)
app.command("detect")(detect_command)
app.add_typer(baseline_app, name="baseline")
app.add_typer(lab_app, name="lab")
app.command("serve")(serve_command)
app.command("sensor")(sensor_command)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details to stderr."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"otsight {__version__}")
        raise typer.Exit()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    """Run the CLI, then leave without the interpreter's teardown.

    All output is flushed and every file the command opened is closed by then; what remains is
    numba's and llvmlite's finalisers, which cost about 0.2 s per run for nothing.
    """
    code = 0
    try:
        app()
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            sys.stderr.write(f"{exc.code}\n")
            code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
