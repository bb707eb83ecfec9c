"""`--db`: the inventory, the detectors' alerts and a store sink wired for one analysis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:  # SQLAlchemy, the inventory and the detectors: only when --db is given
    from sqlalchemy.engine import Engine

    from ..detect.stage import DetectionStage
    from ..inventory.builder import InventoryBuilder
    from ..inventory.oui import OuiRegistry
    from ..store.batch import BatchWriter
    from ..store.sink import StoreSink


@dataclass
class StoreStages:
    """The stages a ``--db`` run adds, and how to finish them."""

    inventory: InventoryBuilder
    sink: StoreSink
    writer: BatchWriter
    description: str

    def close(self) -> None:
        """Write what is left (the sink's finish has flushed; this catches early exits)."""
        from ..store.batch import BatchFailed

        try:
            self.writer.close()
        except BatchFailed as exc:
            Console(stderr=True).print(f"[red]error:[/] store: {exc}", highlight=False)

    def report(self) -> str:
        stats = self.writer.stats
        written = ", ".join(f"{n} {k}" for k, n in sorted(stats.written.items())) or "nothing"
        line = f"store {self.description}: wrote {written} in {stats.batches} batches"
        if stats.failed_batches:
            line += f"; {stats.failed_batches} batches failed ({stats.lost} records lost)"
        return line


def open_engine(db: str | None, err: Console) -> Engine:
    """The store's engine with its schema in place (made if the database is empty); exits 2
    with the reason when the database cannot be used."""
    from ..store.db import make_engine
    from ..store.errors import StoreError
    from ..store.migrate import ensure_schema

    try:
        engine = make_engine(db)
        ensure_schema(engine)
    except (StoreError, OSError) as exc:
        err.print(f"[red]error:[/] --db {db}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # the driver's own errors: a server not running, a bad password
        err.print(
            f"[red]error:[/] --db {db}: cannot open the store: {exc}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    return engine


def vendor_registry(err: Console) -> OuiRegistry | None:
    """The MAC vendor registries, or None (with a warning) when none is installed."""
    from ..inventory.oui import OuiRegistry

    try:
        return OuiRegistry.load()
    except FileNotFoundError as exc:
        err.print(f"[yellow]warning:[/] {exc}; vendors from MAC addresses are off")
        return None


def open_store(
    db: str, source: str, detection: DetectionStage | None, err: Console
) -> StoreStages:
    """Open (and if empty, create) the store; exit 2 with the reason when that fails."""
    from ..inventory.builder import InventoryBuilder
    from ..store.batch import BatchWriter
    from ..store.db import describe, session_factory
    from ..store.sink import StoreSink

    engine = open_engine(db, err)
    inventory = InventoryBuilder(oui=vendor_registry(err))
    writer = BatchWriter(session_factory(engine))
    alerts = (lambda: detection.alerts) if detection is not None else None
    incidents = detection.incidents if detection is not None else None
    sink = StoreSink(writer, source, inventory=inventory, alerts=alerts, incidents=incidents)
    return StoreStages(inventory, sink, writer, describe(engine))
