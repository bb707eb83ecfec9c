"""A progress bar for commands that read capture files (on for big inputs on a terminal)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

PROGRESS_MIN_BYTES = 32 << 20

Update = Callable[[str, int, int], None]


def total_bytes(captures: list[str]) -> int:
    total = 0
    for name in captures:
        path = Path(name)
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return total


@contextmanager
def file_progress(
    captures: list[str], wanted: bool | None, console: Console
) -> Iterator[Update | None]:
    """Yields the callback the runner reports bytes read to, or None when no bar is shown."""
    total = total_bytes(captures)
    show = wanted if wanted is not None else (console.is_terminal and total >= PROGRESS_MIN_BYTES)
    if not show:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=total or None)
        done_by_input: dict[str, int] = {}

        def update(name: str, done: int, _size: int) -> None:
            done_by_input[name] = done
            bar.update(
                task,
                completed=sum(done_by_input.values()),
                description=os.path.basename(name)[:40],
            )

        yield update
