"""`otsight sensor`: capture one interface live into the store, as a service.

Exit codes: 0 after a stop by SIGTERM or SIGINT (the store written, the final counters logged);
1 when the capture cannot start or fails while running (interface gone, no permission), so a
service manager restarts it; 2 for a bad option, filter, detector config or database.

The counters are logged on stderr every ``--stats-every`` seconds and at exit, whatever
``--verbose`` says (they are how an operator sees a sensor keep up), and stored as the row
``sensor:HOST:INTERFACE`` of the ``sensors`` table (``GET /api/sensors/{name}``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.console import Console

from ..sensor.options import DEFAULT_MAX_FLOWS

if TYPE_CHECKING:  # the pipeline and the store load when the command runs
    from ..sensor.options import SensorOptions
    from ..sensor.service import Sensor

DB_HELP = (
    "Store to write into: a SQLite file path or a database URL (sqlite:///PATH, "
    "postgresql+psycopg://...); default $OTSIGHT_DB, else ~/.local/share/otsight/otsight.db."
)


class _SensorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stderr`` (as logging's last-resort handler does), so a run
    inside a test runner that swaps stderr never writes to a stream closed since."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _sensor_logging() -> None:
    """The sensor's own logger reports at INFO on stderr (the journal under systemd)."""
    logger = logging.getLogger("otsight.sensor")
    if not any(isinstance(h, _SensorHandler) for h in logger.handlers):
        handler = _SensorHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def sensor_command(
    interface: str = typer.Option(..., "--interface", "-i", help="Interface to capture on."),
    bpf: str | None = typer.Option(
        None, "--filter", "-f", help="BPF filter (tcpdump syntax) applied in the kernel."
    ),
    db: str | None = typer.Option(None, "--db", envvar="OTSIGHT_DB", help=DB_HELP),
    checkpoint_s: float = typer.Option(
        5.0,
        "--checkpoint-s",
        min=0.1,
        help="Write assets and conversations at most every S seconds (alerts go at once).",
    ),
    max_flows: int = typer.Option(
        DEFAULT_MAX_FLOWS,
        "--max-flows",
        min=1,
        help="Live flows tracked at most; beyond that the oldest are evicted (and counted).",
    ),
    stats_every: float = typer.Option(
        60.0, "--stats-every", min=0.1, help="Log and store the counters every S seconds."
    ),
    detectors: Path | None = typer.Option(
        None, "--detectors", help="JSON file: detector name -> options."
    ),
) -> None:
    """Capture live into the store until SIGTERM or Ctrl-C: inventory, alerts and conversations
    appear in the API while it runs (see deploy/otsight-sensor.service to run it as a service)."""
    from ..capture.live import compile_filter
    from ..core.errors import CaptureError
    from ..sensor.options import SensorOptions
    from ..sensor.service import open_capture
    from .detect import load_detector_config

    err = Console(stderr=True)
    _sensor_logging()
    try:
        options = SensorOptions(
            interface,
            bpf_filter=bpf,
            checkpoint_s=checkpoint_s,
            stats_every_s=stats_every,
            max_flows=max_flows,
            detectors=load_detector_config(detectors),
        )
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if bpf is not None:  # a bad filter is a configuration error (2), not a capture failure
        try:
            compile_filter(bpf, source=f"live:{interface}")
        except CaptureError as exc:
            err.print(f"[red]error:[/] {exc.reason}", highlight=False)
            raise typer.Exit(2) from None
    sensor, where = _make_sensor(options, db, err)
    with sensor.handle_signals():
        try:
            capture = open_capture(options)
        except CaptureError as exc:
            err.print(f"[red]error:[/] {exc.source}: {exc.reason}", highlight=False)
            raise typer.Exit(1) from None
        err.print(
            f"otsight sensor: capturing on {interface}"
            + (f" ({bpf})" if bpf else "")
            + f" into {where}; status row {sensor.status.name!r}; SIGTERM or Ctrl-C stops",
            highlight=False,
            soft_wrap=True,
        )
        try:
            counters = sensor.run(capture)
        except CaptureError as exc:
            err.print(f"[red]error:[/] {exc.source}: {exc.reason}", highlight=False)
            raise typer.Exit(1) from None
    err.print(
        f"otsight sensor: stopped after {counters.uptime_s:.1f} s; "
        f"{counters.captured:,} frames, {counters.kernel_dropped:,} dropped by the kernel, "
        f"{counters.assets:,} assets, {counters.alerts:,} alerts",
        highlight=False,
        soft_wrap=True,
    )


def _make_sensor(options: SensorOptions, db: str | None, err: Console) -> tuple[Sensor, str]:
    """The sensor on an open store (made if empty); exits 2 with the reason when that fails."""
    from ..sensor.service import Sensor
    from ..store.db import describe, session_factory
    from .storage import open_engine, vendor_registry

    engine = open_engine(db, err)
    oui = vendor_registry(err)
    try:
        sensor = Sensor(options, session_factory(engine), oui=oui)
    except ValueError as exc:  # a detector config naming an unknown detector or option
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    return sensor, describe(engine)


def main() -> None:
    """``python -m otsight.cli.sensor``: the same command without the rest of the CLI."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(sensor_command)
    code = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip numba's finalisers, as `otsight` does


if __name__ == "__main__":
    main()
