"""`otsight inventory`: every device in the captures, what it is and why otsight thinks so."""

from __future__ import annotations

import datetime as _dt
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from .progress import file_progress

if TYPE_CHECKING:  # imported by the command itself: other commands start faster without them
    from ..inventory.builder import InventoryBuilder
    from ..inventory.model import Asset

# Smaller batches than `analyze`: the per-batch arrays are transient, the inventory is not, and
# at tens of thousands of hosts the two together set the peak memory.
INVENTORY_BATCH_FRAMES = 8192


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    cyclonedx = "cyclonedx"


def inventory_command(
    captures: list[str] = typer.Argument(..., help="pcap/pcapng files or directories."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here, not stdout."),
    expected: Path | None = typer.Option(
        None,
        "--expected",
        help="CSV of the assets you expect (columns name, ip, mac, hostname): report coverage.",
    ),
    truth: Path | None = typer.Option(
        None, "--truth", help="Score against a lab truth.json (roles, identity, split/merged)."
    ),
    changes: bool = typer.Option(False, "--changes", help="Also list change events."),
    evidence: bool = typer.Option(
        False, "--evidence", help="Table format: print each asset's evidence under it."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar (default: on for big inputs)."
    ),
) -> None:
    """Build the asset inventory from captures."""
    from ..inventory.builder import InventoryBuilder
    from ..inventory.evaluate import score
    from ..inventory.expected import ExpectedError, coverage, load_expected
    from ..pipeline.assemble import build_stages, run_files
    from .storage import vendor_registry

    err = Console(stderr=True)
    rows = None
    if expected is not None:
        try:
            rows = load_expected(expected)
        except ExpectedError as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
    truth_doc = None
    if truth is not None:
        try:
            truth_doc = json.loads(truth.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            err.print(f"[red]error:[/] {truth}: cannot read the truth file: {exc}", highlight=False)
            raise typer.Exit(2) from None
    oui = vendor_registry(err)
    builder = InventoryBuilder(oui=oui)
    stages = build_stages([builder])
    with file_progress(captures, progress, err) as update:
        result = run_files(captures, stages, progress=update, batch_frames=INVENTORY_BATCH_FRAMES)
    for problem in result.errors:
        err.print(f"[red]error:[/] {problem.source}: {problem.reason}", highlight=False)
    assets = builder.assets()
    try:
        with _sink(output) as out:
            _render(out, assets, builder, fmt, captures, evidence, changes)
    except OSError as exc:
        err.print(f"[red]error:[/] {output}: cannot write: {exc.strerror or exc}", highlight=False)
        raise typer.Exit(2) from None
    if rows is not None:
        cov = coverage(rows, assets)
        err.print(
            f"coverage: {len(cov.seen)}/{len(cov.seen) + len(cov.unseen)} expected assets seen "
            f"({cov.ratio:.0%}); {len(cov.unexpected)} seen but not expected"
        )
        for row in cov.unseen:
            err.print(f"  unseen: {row.label()} (line {row.line})", highlight=False)
        for a in cov.unexpected:
            label = ", ".join(a.ips or a.macs)
            err.print(f"  unexpected: {label} ({a.role})", highlight=False)
    if truth_doc is not None:
        summary = score(assets, truth_doc).summary()
        err.print_json(json.dumps(summary))
    if result.errors:
        raise typer.Exit(1)


@contextmanager
def _sink(path: Path | None) -> Iterator[IO[bytes]]:
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with path.open("wb") as fh:
        yield fh


def _render(
    out: IO[bytes],
    assets: list[Asset],
    builder: InventoryBuilder,
    fmt: Format,
    captures: list[str],
    evidence: bool,
    changes: bool,
) -> None:
    """Write the inventory in ``fmt`` to ``out``."""
    from ..inventory.formats import to_csv, to_cyclonedx, write_json

    source = " ".join(captures)
    end = builder.now
    stamp = _dt.datetime.fromtimestamp(end, tz=_dt.UTC).isoformat().replace("+00:00", "Z")
    if fmt is Format.json:
        meta = {
            "source": source,
            "capture_end": stamp,
            "assets": len(assets),
            "external_endpoints": builder.external_endpoints,
        }
        extra = {"changes": [c.to_dict() for c in builder.changes]} if changes else None
        write_json(out, assets, meta, extra)
        return
    if fmt is Format.csv:
        out.write(to_csv(assets).encode())
        return
    if fmt is Format.cyclonedx:
        out.write((json.dumps(to_cyclonedx(assets, source, stamp), indent=2) + "\n").encode())
        return
    to_file = out is not sys.stdout.buffer
    console = Console(record=True, file=io.StringIO(), width=200) if to_file else Console()
    table = Table(title=f"{len(assets)} assets", show_lines=evidence)
    for col in ("address", "mac", "vendor", "model / firmware", "role", "purdue", "services"):
        table.add_column(col)
    for a in assets:
        ident = " ".join(x for x in (a.model, a.firmware) if x)
        services = ", ".join(f"{s.protocol}/{s.port}" for s in a.services[:4])
        role = f"{a.role} ({a.role_confidence:.2f})" + (" [router]" if a.is_router else "")
        cell = "\n".join(a.ips[:3] + a.hostnames[:1]) or "-"
        if evidence:
            cell += "\n" + "\n".join(f"  - {e.text}" for e in a.evidence[:6])
        table.add_row(
            cell,
            a.macs[0] if a.macs else "-",
            a.vendor or "",
            ident,
            role,
            "" if a.purdue_level is None else str(a.purdue_level),
            services,
        )
    console.print(table)
    if builder.external_endpoints:
        console.print(f"{builder.external_endpoints} remote endpoints not inventoried")
    if changes:
        for c in builder.changes:
            console.print(f"{c.ts:.6f} {c.asset_id} {c.kind}: {c.detail}", highlight=False)
    if to_file:
        out.write(console.export_text().encode())
