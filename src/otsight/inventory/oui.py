"""MAC vendor lookup from the IEEE registries as the system ships them (Debian ``ieee-data``).

The registries are read at run time from the installed package, never copied into otsight:
MA-L (24-bit prefixes), MA-M (28-bit), and MA-S/IAB (36-bit); the longest match wins. Locally
administered addresses (virtual machines, containers, phones' randomised addresses) belong to
no vendor and are said to be so.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIRS = (Path("/usr/share/ieee-data"),)
# file name -> prefix length in bits
REGISTRY_FILES = {"oui36.csv": 36, "oas.csv": 36, "iab.csv": 36, "mam.csv": 28, "oui.csv": 24}


@dataclass(frozen=True, slots=True)
class Vendor:
    name: str
    registry: str  # MA-L, MA-M, MA-S or IAB
    prefix_bits: int


def mac_int(mac: str) -> int:
    """``aa:bb:cc:dd:ee:ff`` (or ``-``/``.`` separated, or bare hex) -> 48-bit integer."""
    digits = "".join(ch for ch in mac if ch not in ":-.")
    if len(digits) != 12:
        raise ValueError(f"not a MAC address: {mac!r}")
    return int(digits, 16)


def is_multicast(mac: str) -> bool:
    return bool((mac_int(mac) >> 40) & 0x01)


def is_locally_administered(mac: str) -> bool:
    """The U/L bit: set by software (VMs, containers, randomised privacy addresses)."""
    return bool((mac_int(mac) >> 40) & 0x02)


def is_randomized(mac: str) -> bool:
    """Locally administered unicast: how phones and laptops hide their hardware address."""
    return is_locally_administered(mac) and not is_multicast(mac)


class OuiRegistry:
    """Longest-prefix vendor lookup over the IEEE assignment registries.

    Tables hold interned organisation names (and, for the few entries whose registry is not
    the table's usual one, the registry): 46,000 assignments in about 7 MB instead of 14 MB of
    objects, which matters to a sensor's memory budget. :class:`Vendor` is built on lookup.
    """

    def __init__(self, tables: dict[int, dict[int, str | tuple[str, str]]]) -> None:
        self.tables = tables  # prefix bits -> {prefix: name or (name, registry)}

    @classmethod
    def load(cls, directory: Path | None = None) -> OuiRegistry:
        """Read the registries from ``directory``, $OTSIGHT_IEEE_DATA or /usr/share/ieee-data."""
        candidates = [directory] if directory else []
        if os.environ.get("OTSIGHT_IEEE_DATA"):
            candidates.append(Path(os.environ["OTSIGHT_IEEE_DATA"]))
        candidates += list(DEFAULT_DIRS)
        for d in candidates:
            if d is not None and (d / "oui.csv").is_file():
                return cls(_read_tables(d))
        raise FileNotFoundError(
            "IEEE registries not found: install Debian's ieee-data package "
            "(apt-get install ieee-data) or set OTSIGHT_IEEE_DATA to a folder holding oui.csv"
        )

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def lookup(self, mac: str) -> Vendor | None:
        """The vendor of a globally unique address; None if unassigned or locally administered."""
        value = mac_int(mac)
        if (value >> 40) & 0x02:
            return None
        for bits in sorted(self.tables, reverse=True):
            entry = self.tables[bits].get(value >> (48 - bits))
            if entry is not None:
                if isinstance(entry, tuple):
                    return Vendor(entry[0], entry[1], bits)
                return Vendor(entry, USUAL_REGISTRY[bits], bits)
        return None


USUAL_REGISTRY = {24: "MA-L", 28: "MA-M", 36: "MA-S"}


def _read_tables(directory: Path) -> dict[int, dict[int, str | tuple[str, str]]]:
    tables: dict[int, dict[int, str | tuple[str, str]]] = {}
    for name, bits in REGISTRY_FILES.items():
        path = directory / name
        if not path.is_file():
            continue
        table = tables.setdefault(bits, {})
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                assignment = (row.get("Assignment") or "").strip()
                org = (row.get("Organization Name") or "").strip()
                if not assignment or not org:
                    continue
                try:
                    prefix = int(assignment, 16)
                except ValueError:
                    continue
                # MA-M/MA-S assignments are written as 7/9 hex digits; IAB as 9.
                registry = (row.get("Registry") or "").strip()
                org_name = sys.intern(org)
                table[prefix >> max(0, len(assignment) * 4 - bits)] = (
                    org_name
                    if registry == USUAL_REGISTRY[bits]
                    else (org_name, sys.intern(registry))
                )
    return tables
