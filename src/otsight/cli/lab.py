"""`otsight lab`: a labelled lab plant of real protocol stacks in network namespaces."""

from __future__ import annotations

from pathlib import Path

import typer

lab_app = typer.Typer(
    name="lab",
    help="Run a labelled lab plant (real Modbus stacks, nmap) in network namespaces (root).",
    no_args_is_help=True,
)


def _fail(message: str) -> None:
    typer.echo(f"otsight lab: {message}", err=True)
    raise typer.Exit(2)


@lab_app.command("run")
def run_command(
    scenario: str = typer.Option(..., "--scenario", "-s", help="Scenario name (see `lab list`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for capture.pcap and truth.json."),
    duration: float = typer.Option(30.0, "--duration", "-d", help="Run length in seconds."),
    seed: int = typer.Option(1, "--seed", help="Seed of the process models and clients."),
) -> None:
    """Build the plant, capture it, play the scenario, tear everything down."""
    from otsight.lab.runner import run_scenario
    from otsight.lab.topology import LabError, LabInterrupted

    try:
        truth = run_scenario(scenario, out, duration=duration, seed=seed, echo=typer.echo)
    except LabInterrupted as exc:
        typer.echo(f"otsight lab: interrupted ({exc}); everything torn down", err=True)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        typer.echo("otsight lab: interrupted; everything torn down", err=True)
        raise typer.Exit(130) from None
    except LabError as exc:
        _fail(str(exc))
        return
    typer.echo(
        f"wrote {out / truth.capture_file} and {out / 'truth.json'}: "
        f"{len(truth.devices)} devices, {len(truth.attack_steps)} attack steps, "
        f"{len(truth.benign_changes)} benign changes, "
        f"{truth.capture_end - truth.capture_start:.1f} s"
    )


@lab_app.command("list")
def list_command() -> None:
    """List the scenarios."""
    from otsight.lab.scenarios import SCENARIOS

    for scenario in SCENARIOS.values():
        typer.echo(f"{scenario.name:14} {scenario.description}")


@lab_app.command("cleanup")
def cleanup_command(
    all_runs: bool = typer.Option(False, "--all", help="Also remove runs whose owner is alive."),
) -> None:
    """Remove namespaces (and their processes) left behind by dead lab runs."""
    import os

    from otsight.lab.topology import sweep_stale

    if os.geteuid() != 0:
        _fail("cleanup needs root")
    removed = sweep_stale(include_live=all_runs)
    typer.echo(f"removed {len(removed)} namespaces" + (f": {' '.join(removed)}" if removed else ""))
