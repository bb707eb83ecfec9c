"""MAC vendor lookup from the registries the system ships: Wireshark's ``manuf`` and Debian's
``ieee-data``.

Both are read at run time from the installed packages, never copied into otsight:

- ``/usr/share/wireshark/manuf`` (Debian ``libwireshark-data``, which tshark and Wireshark pull
  in) is the IEEE registry as curated by Wireshark: companies renamed after acquisitions
  (00:04:17 "ELAU AG" is "Schneider Electric" there), an eight-character short name per vendor,
  MA-M and MA-S/IAB blocks marked ``/28`` and ``/36``. These are the names every analyst sees in
  Wireshark, so otsight's vendor column reads the same as the packet list beside it. It is the
  first source.
- ``/usr/share/ieee-data`` (Debian ``ieee-data``): the IEEE's MA-L (24-bit), MA-M (28-bit) and
  MA-S/IAB (36-bit) CSVs as published. It names the registry of each assignment, fills in the
  prefixes manuf lacks (assignments newer than the installed Wireshark), and is the only source
  when Wireshark is not installed.

The longest matching prefix wins; where both sources know the same prefix, manuf's names are
used. Locally administered addresses (virtual machines, containers, phones' randomised
addresses) belong to no vendor and are said to be so, as is the all-zero address.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_DIRS = (Path("/usr/share/ieee-data"),)
MANUF_DIRS = (Path("/usr/share/wireshark"),)
MANUF_FILE = "manuf"
WKA_FILE = "wka"  # Wireshark's well-known addresses, beside manuf
IEEE_ENV = "OTSIGHT_IEEE_DATA"
MANUF_ENV = "OTSIGHT_WIRESHARK_DATA"
# file name -> prefix length in bits
REGISTRY_FILES = {"oui36.csv": 36, "oas.csv": 36, "iab.csv": 36, "mam.csv": 28, "oui.csv": 24}
USUAL_REGISTRY = {24: "MA-L", 28: "MA-M", 36: "MA-S"}
SOURCE_MANUF = "wireshark-manuf"
SOURCE_IEEE = "ieee-data"
SOURCE_WKA = "wireshark-wka"
REGISTRY_WELL_KNOWN = "well-known"

# A table entry: "long name" (ieee-data), "short\tlong name" (manuf), or either paired with its
# registry when that is not the usual one for the prefix length (IAB blocks among the 36-bit);
# NO_VENDOR for a block manuf deliberately names by its number.
NO_VENDOR = ""
Entry = str | tuple[str, str]
Tables = dict[int, dict[int, Entry]]

_OCTET_SEP = re.compile(r"[:.-]")
# octets of one or two hex digits, then an optional mask: 00:50:C2:7D:50:00/36
_PREFIX = re.compile(r"([0-9A-Fa-f]{1,2}(?:[:.-][0-9A-Fa-f]{1,2}){0,5})(?:/([0-9]{1,2}))?")
# manuf "names" the 00:00:00 block by its number (it is Xerox's, but the all-zero address is far
# more common): an address, not a vendor name.
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f]{2}(?:[:.-][0-9A-Fa-f]{2}){2,}")


@dataclass(frozen=True, slots=True)
class Vendor:
    name: str  # manuf's long name if known, else the IEEE organisation name
    registry: str  # MA-L, MA-M, MA-S or IAB (from ieee-data, else implied by the prefix length)
    prefix_bits: int
    short: str | None = None  # Wireshark's short name (as in "Schneide_02:58:b7"), if manuf knows
    source: str = SOURCE_IEEE  # where the names come from: "wireshark-manuf" or "ieee-data"


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
    """Longest-prefix vendor lookup over Wireshark's manuf and the IEEE assignment registries.

    Tables hold shared strings, one per distinct name (and, for the few entries whose registry is
    not the table's usual one, a pair with the registry): a manuf entry is ``"short\\tlong"`` in
    one string, so Wireshark's short names cost no object per entry. 52,000 assignments take
    about 6.5 MB instead of twice that as objects, which matters to a sensor's memory budget.
    :class:`Vendor` is built on lookup.
    """

    def __init__(
        self,
        tables: Tables,
        sources: tuple[Path, ...] = (),
        bad_lines: int = 0,
        well_known: dict[int, dict[int, str]] | None = None,
    ) -> None:
        self.tables = tables  # prefix bits -> {prefix: entry}
        # Addresses a protocol owns (VRRP and HSRP virtual routers, cluster and load-balancer
        # MACs): prefix bits -> {prefix: name}. Such an address says what the station is
        # doing, not who made it, and Wireshark names it so.
        self.well_known = well_known or {}
        self._wk_bits = sorted(self.well_known, reverse=True)
        self.sources = sources  # the files read, in order
        self.bad_lines = bad_lines  # manuf lines that could not be read (skipped)
        self._bits = sorted(tables, reverse=True)

    @classmethod
    def load(
        cls, directory: Path | None = None, manuf_directory: Path | None = None
    ) -> OuiRegistry:
        """Read the registries.

        ieee-data from ``directory``, $OTSIGHT_IEEE_DATA or /usr/share/ieee-data (the first that
        holds oui.csv); manuf from ``manuf_directory``, $OTSIGHT_WIRESHARK_DATA or
        /usr/share/wireshark (the first that holds manuf). Either may be missing, not both.
        """
        ieee_dir = _first_holding(directory, IEEE_ENV, DEFAULT_DIRS, "oui.csv")
        manuf_dir = _first_holding(manuf_directory, MANUF_ENV, MANUF_DIRS, MANUF_FILE)
        if ieee_dir is None and manuf_dir is None:
            raise FileNotFoundError(
                "MAC vendor registries not found: install Debian's libwireshark-data (or "
                "tshark) and/or ieee-data package, or set OTSIGHT_WIRESHARK_DATA to a folder "
                "holding manuf or OTSIGHT_IEEE_DATA to a folder holding oui.csv"
            )
        tables: Tables = {bits: {} for bits in USUAL_REGISTRY}
        pool: dict[str, str] = {}  # one copy of each name; dropped after loading, unlike sys.intern
        sources: list[Path] = []
        bad = 0
        well_known: dict[int, dict[int, str]] = {}
        if ieee_dir is not None:
            sources += _read_ieee(ieee_dir, tables, pool)
        if manuf_dir is not None:
            path = manuf_dir / MANUF_FILE
            try:
                bad = _read_manuf(path, tables, pool)
            except OSError as exc:  # unreadable: ieee-data alone, if there
                log.warning("cannot read %s (%s); vendors from ieee-data only", path, exc)
                if ieee_dir is None:
                    raise FileNotFoundError(f"cannot read {path}: {exc}") from exc
            else:
                sources.append(path)
                if bad:
                    log.warning("%s: %d unreadable lines skipped", path, bad)
            wka = manuf_dir / WKA_FILE
            if wka.is_file():
                try:
                    bad += _read_wka(wka, well_known)
                    sources.append(wka)
                except OSError as exc:
                    log.warning("cannot read %s (%s); well-known addresses not named", wka, exc)
        return cls({b: t for b, t in tables.items() if t}, tuple(sources), bad, well_known)

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def lookup(self, mac: str) -> Vendor | None:
        """The vendor of a globally unique address; None if unassigned, locally administered or
        the all-zero address (a placeholder, no station's: ARP probes' target, unset NICs).

        A group (multicast) address belongs to the owner of its OUI, as in Wireshark:
        01:00:0C:CC:CC:CC is Cisco's.
        """
        value = mac_int(mac)
        if (value >> 40) & 0x02 or value == 0:
            return None
        for bits in self._wk_bits:
            name = self.well_known[bits].get(value >> (48 - bits))
            if name is not None:
                return Vendor(name, REGISTRY_WELL_KNOWN, bits, name, SOURCE_WKA)
        value &= ~(1 << 40)  # the group bit
        for bits in self._bits:
            entry = self.tables[bits].get(value >> (48 - bits))
            if entry == NO_VENDOR:
                return None
            if entry is not None:
                if isinstance(entry, tuple):
                    packed, registry = entry
                else:
                    packed, registry = entry, USUAL_REGISTRY[bits]
                short, tab, name = packed.partition("\t")
                if tab:
                    return Vendor(name, registry, bits, short, SOURCE_MANUF)
                return Vendor(packed, registry, bits)
        return None


def _first_holding(
    explicit: Path | None, env: str, defaults: tuple[Path, ...], filename: str
) -> Path | None:
    candidates = [explicit] if explicit else []
    if os.environ.get(env):
        candidates.append(Path(os.environ[env]))
    candidates += list(defaults)
    for d in candidates:
        if d is not None and (d / filename).is_file():
            return d
    return None


def _read_ieee(directory: Path, tables: Tables, pool: dict[str, str]) -> list[Path]:
    read = []
    for name, bits in REGISTRY_FILES.items():
        path = directory / name
        if not path.is_file():
            continue
        table = tables[bits]
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                assignment = (row.get("Assignment") or "").strip()
                org = (row.get("Organization Name") or "").strip()
                if not assignment or not org or "\t" in org:
                    continue
                try:
                    prefix = int(assignment, 16)
                except ValueError:
                    continue
                # MA-M/MA-S assignments are written as 7/9 hex digits; IAB as 9.
                registry = (row.get("Registry") or "").strip()
                org_name = pool.setdefault(org, org)
                table[prefix >> max(0, len(assignment) * 4 - bits)] = (
                    org_name
                    if registry == USUAL_REGISTRY[bits]
                    else (org_name, pool.setdefault(registry, registry))
                )
        read.append(path)
    return read


def parse_manuf_line(line: str) -> tuple[int, int, str, str | None] | None:
    """One line of Wireshark's manuf -> (prefix bits, prefix, short name, long name or None).

    The format: ``PREFIX<TAB>SHORT[<TAB>LONG NAME][<TAB># comment]``, the prefix as octets
    separated by ``:``, ``-`` or ``.`` with an optional ``/bits`` mask (``00:50:C2:7D:50:00/36``;
    without one, all octets count; a mask past the octets written adds zero bits). Returns None
    for blank and comment lines; raises ValueError for a line that cannot be read.
    """
    text = line.strip()
    if not text or text[0] == "#":
        return None
    fields = [f for f in map(str.strip, text.split("\t")) if f]
    for i, field in enumerate(fields):
        if field[0] == "#":  # a trailing comment
            del fields[i:]
            break
    if len(fields) < 2:
        raise ValueError(f"no vendor name: {line!r}")
    match = _PREFIX.fullmatch(fields[0])
    if match is None:
        raise ValueError(f"not a MAC prefix: {fields[0]!r}")
    octets = _OCTET_SEP.split(match[1])
    given = 8 * len(octets)
    bits = int(match[2]) if match[2] else given
    if not 0 < bits <= 48:
        raise ValueError(f"bad prefix mask: {fields[0]!r}")
    digits = "".join(octets)
    if len(digits) != 2 * len(octets):  # some octets written with one digit
        digits = "".join(o.zfill(2) for o in octets)
    value = int(digits, 16)
    # A mask longer than the octets written continues with zero bits (wka: 01-00-5E/25).
    prefix = value >> (given - bits) if bits <= given else value << (bits - given)
    return bits, prefix, fields[1], fields[2] if len(fields) > 2 else None


def _read_manuf(path: Path, tables: Tables, pool: dict[str, str]) -> int:
    """Lay manuf's vendor blocks over ``tables``; returns how many lines could not be read.

    Entries that are no vendor's block are left out, not counted as bad: group (multicast)
    prefixes such as 01:0E:CF "PROFINET Multicast" (a protocol's address, not a vendor; the
    lookup clears the group bit and names the OUI's owner) and prefix lengths other than
    24/28/36 bits. A block manuf names by its number rather than a vendor (00:00:00, "Officially
    Xerox, but 0:0:0:0:0:0 is more common": its addresses are placeholders and made-up test
    addresses far more often than 1980s Xerox hardware) is marked as having no vendor, as
    Wireshark shows it.
    """
    bad = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                parsed = parse_manuf_line(line)
                if parsed is not None and "\ufffd" in parsed[2]:
                    raise ValueError("not UTF-8")
            except ValueError:
                bad += 1
                continue
            if parsed is None:
                continue
            bits, prefix, short, name = parsed
            table = tables.get(bits)
            if table is None or (prefix >> (bits - 8)) & 0x01:
                continue
            old = table.get(prefix)
            registry = old[1] if isinstance(old, tuple) else None
            ieee_name = old[0] if isinstance(old, tuple) else old
            if ieee_name is not None and (not ieee_name or "\t" in ieee_name):
                continue  # a repeated prefix: the first line wins
            if _ADDRESS_LIKE.fullmatch(short):
                table[prefix] = NO_VENDOR
                continue
            packed = f"{short}\t{name or ieee_name or short}"
            packed = pool.setdefault(packed, packed)
            table[prefix] = packed if registry is None else (packed, registry)
    return bad


def _read_wka(path: Path, well_known: dict[int, dict[int, str]]) -> int:
    """Wireshark's well-known addresses (same line format as manuf, one name, masks of any
    length: ``00-00-5E-00-01/40<TAB>IETF-VRRP-VRID``); returns how many lines could not be
    read. Locally administered entries are left out: such addresses have no vendor here."""
    bad = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                parsed = parse_manuf_line(line)
            except ValueError:
                bad += 1
                continue
            if parsed is None:
                continue
            bits, prefix, name, _long = parsed
            if bits < 8 or (prefix >> (bits - 8)) & 0x02:
                continue
            well_known.setdefault(bits, {}).setdefault(prefix, name)
    return bad
