"""Inventory over the shared corpus, per capture family: assets found, roles, unknowns.

Usage: ``python -m otsight.testing.inventory_survey [DATA_DIR]``. Each capture is inventoried on
its own (captures of one family are unrelated recordings); a family row sums them.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..inventory.builder import InventoryBuilder
from ..inventory.oui import OuiRegistry
from ..pipeline.assemble import build_stages, run_files
from .corpus import capture_files, shared_data


@dataclass
class FamilyRow:
    family: str
    captures: int = 0
    assets: int = 0
    roles: Counter[str] = field(default_factory=Counter)
    with_identity: int = 0  # assets with a model or firmware from a protocol
    errors: int = 0

    @property
    def unknown(self) -> int:
        return self.roles.get("unknown", 0)


def family_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return "/".join(parts[:3]) if len(parts) > 3 else "/".join(parts[:-1]) or "."


def survey(root: Path) -> list[FamilyRow]:
    try:
        oui: OuiRegistry | None = OuiRegistry.load()
    except FileNotFoundError:
        oui = None
    rows: dict[str, FamilyRow] = {}
    for path in capture_files(root):
        fam = family_of(path, root)
        row = rows.setdefault(fam, FamilyRow(fam))
        builder = InventoryBuilder(oui=oui)
        result = run_files([str(path)], build_stages([builder]))
        row.captures += 1
        row.errors += len(result.errors) + sum(result.summary.observer_errors.values())
        for asset in builder.assets():
            row.assets += 1
            row.roles[asset.role] += 1
            row.with_identity += bool(asset.model or asset.firmware)
    return sorted(rows.values(), key=lambda r: r.family)


def render(rows: list[FamilyRow]) -> str:
    lines = [
        "| family | captures | assets | identified (model/firmware) | roles assigned | unknown |"
        " top roles |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        top = ", ".join(f"{k} {v}" for k, v in r.roles.most_common(4) if k != "unknown")
        lines.append(
            f"| {r.family} | {r.captures} | {r.assets} | {r.with_identity} | "
            f"{r.assets - r.unknown} | {r.unknown} | {top} |"
        )
    total = FamilyRow("total")
    for r in rows:
        total.captures += r.captures
        total.assets += r.assets
        total.with_identity += r.with_identity
        total.roles.update(r.roles)
    lines.append(
        f"| **total** | {total.captures} | {total.assets} | {total.with_identity} | "
        f"{total.assets - total.unknown} | {total.unknown} | |"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else shared_data()
    if root is None or not root.is_dir():
        print("no shared data directory (give one, or put ../shared/data beside the repo)")
        return 2
    print(render(survey(root)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
