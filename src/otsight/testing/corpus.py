"""Where the shared corpus of real captures lives, for tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

from ..capture.sources import looks_like_capture

ROOT = Path(__file__).resolve().parents[3]


def shared_data() -> Path | None:
    """``../shared/data`` beside the project (or $OTSIGHT_SHARED_DATA), if present."""
    env = os.environ.get("OTSIGHT_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def capture_files(root: Path, tshark_readable_only: bool = False) -> list[Path]:
    """Every file under ``root`` that starts like a capture (sorted). Zips are included unless
    only files tshark can read are wanted."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or not looks_like_capture(path):
            continue
        if tshark_readable_only:
            with path.open("rb") as fh:
                if fh.read(4) == b"PK\x03\x04":
                    continue
        found.append(path)
    return found


def catalog_captures(root: Path, protocol: str) -> list[Path]:
    """Captures whose row in ``CATALOG.md`` lists ``protocol`` among its key protocols
    (tshark's protocol hierarchy, as the catalogue recorded it)."""
    catalog = root / "CATALOG.md"
    if not catalog.exists():
        return []
    found = []
    for line in catalog.read_text(errors="replace").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 6 or not cells[1] or cells[1] == "file":
            continue
        protocols = {p.strip().lower() for p in cells[4].split(",")}
        if protocol.lower() in protocols and (root / cells[1]).is_file():
            found.append(root / cells[1])
    return found
