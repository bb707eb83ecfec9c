"""Wireshark's manuf as a vendor source, on small made-up registries (never real registry data)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otsight.inventory import oui
from otsight.inventory.oui import OuiRegistry, parse_manuf_line

# Made-up assignments in ieee-data's CSV layout.
OUI_CSV = """Registry,Assignment,Organization Name,Organization Address
MA-L,0C0B0C,Old Name Before Takeover AG,Somewhere
MA-L,0C0B0D,Only In Ieee Data Ltd,Somewhere
MA-L,0C0B0E,Short Only Corporation,Somewhere
MA-L,0C0B0F,Parent Of Blocks Inc,Somewhere
MA-L,000000,XEROX CORPORATION,Somewhere
"""
IAB_CSV = """Registry,Assignment,Organization Name,Organization Address
IAB,0C0B0F123,Tiny Iab Maker GmbH,Somewhere
"""
MANUF = """\
# A made-up manuf: comments, blank lines, masks, trailing comments.

0C:0B:0C\tBuyer\tBuyer Holdings Plc
0C:0B:0E\tShortOnl
0C-0B-0F\tParentOf\tParent Of Blocks Inc\t# a trailing comment
0C:0B:0F:10:00:00/28\tMidBlock\tMid Block Makers SA
0C:0B:0F:12:30:00/36\tTinyIab\t\tTiny IAB Maker GmbH
0C:0B:0F:12:34:56\tExact\tA single address (48 bits): not a vendor block
00:00:00\t00:00:00\tOfficially Xerox, but 0:0:0:0:0:0 is more common
0D:0B:0C\tProto-MC\tSome Protocol Multicast
1C.2B.3C\tDotted\tDotted Separators Ltd
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No installed registry is found: only the folders a test passes."""
    monkeypatch.delenv(oui.IEEE_ENV, raising=False)
    monkeypatch.delenv(oui.MANUF_ENV, raising=False)
    monkeypatch.setattr(oui, "DEFAULT_DIRS", (tmp_path / "no-ieee",))
    monkeypatch.setattr(oui, "MANUF_DIRS", (tmp_path / "no-wireshark",))
    return tmp_path


@pytest.fixture
def both(isolated: Path) -> OuiRegistry:
    ieee = _write(isolated / "ieee", {"oui.csv": OUI_CSV, "iab.csv": IAB_CSV})
    wireshark = _write(isolated / "wireshark", {"manuf": MANUF})
    return OuiRegistry.load(ieee, wireshark)


def test_parse_lines() -> None:
    assert parse_manuf_line("# comment\n") is None
    assert parse_manuf_line("   \n") is None
    assert parse_manuf_line("00:04:17\tShort\tLong Inc.\n") == (24, 0x000417, "Short", "Long Inc.")
    assert parse_manuf_line("00:04:17\tShort\n") == (24, 0x000417, "Short", None)
    assert parse_manuf_line("00:04:17\tShort\t\tLong\t# note\n") == (24, 0x000417, "Short", "Long")
    assert parse_manuf_line("00:50:C2:7D:50:00/36\tS\tL") == (36, 0x0050C27D5, "S", "L")
    assert parse_manuf_line("00:55:DA:50:00:00/28\tS\tL") == (28, 0x0055DA5, "S", "L")
    assert parse_manuf_line("0:4:17\tShort") == (24, 0x000417, "Short", None)
    assert parse_manuf_line("00-04-17\tShort") == (24, 0x000417, "Short", None)
    assert parse_manuf_line("01-00-5E/25\t\tIPv4mcast") == (25, 0x01005E << 1, "IPv4mcast", None)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("00:04:17\n", "no vendor name"),
        ("00:04:17 Short Long\n", "no vendor name"),  # spaces, not tabs
        ("\tShort\tLong\n", "not a MAC prefix"),
        ("00:04:1G\tShort\n", "not a MAC prefix"),
        ("00:04:170\tShort\n", "not a MAC prefix"),  # an octet of three digits
        ("00:04:17:00:00:00:00\tShort\n", "not a MAC prefix"),  # seven octets
        ("00:04:17/x\tShort\n", "not a MAC prefix"),
        ("00:04:17/49\tShort\n", "bad prefix mask"),  # longer than an address
        ("00:04:17/0\tShort\n", "bad prefix mask"),
    ],
)
def test_bad_lines_raise(line: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_manuf_line(line)


def test_manuf_names_win_and_ieee_data_fills_in(both: OuiRegistry) -> None:
    bought = both.lookup("0c:0b:0c:00:00:01")
    assert bought is not None
    assert (bought.name, bought.short, bought.registry, bought.prefix_bits, bought.source) == (
        "Buyer Holdings Plc",
        "Buyer",
        "MA-L",
        24,
        "wireshark-manuf",
    )
    ieee_only = both.lookup("0c:0b:0d:00:00:01")
    assert ieee_only is not None
    assert (ieee_only.name, ieee_only.short, ieee_only.source) == (
        "Only In Ieee Data Ltd",
        None,
        "ieee-data",
    )
    # manuf with a short name only: ieee-data's long name beside it
    short_only = both.lookup("0c:0b:0e:00:00:01")
    assert short_only is not None
    assert (short_only.name, short_only.short) == ("Short Only Corporation", "ShortOnl")
    dotted = both.lookup("1c:2b:3c:00:00:01")
    assert dotted is not None
    assert (dotted.name, dotted.short) == ("Dotted Separators Ltd", "Dotted")


def test_masks_and_longest_prefix(both: OuiRegistry) -> None:
    mid = both.lookup("0c:0b:0f:1f:ff:ff")  # inside the /28
    assert mid is not None
    assert (mid.short, mid.prefix_bits, mid.registry) == ("MidBlock", 28, "MA-M")
    tiny = both.lookup("0c:0b:0f:12:3f:ff")  # inside the /36 (and the /28): the /36 wins
    assert tiny is not None
    # manuf's long name preferred; the registry is ieee-data's (IAB, not the usual MA-S)
    assert (tiny.name, tiny.short, tiny.prefix_bits, tiny.registry) == (
        "Tiny IAB Maker GmbH",
        "TinyIab",
        36,
        "IAB",
    )
    parent = both.lookup("0c:0b:0f:20:00:00")  # outside both blocks
    assert parent is not None
    assert (parent.short, parent.prefix_bits) == ("ParentOf", 24)


def test_entries_that_are_no_vendor_blocks(both: OuiRegistry) -> None:
    # 48-bit entries and group prefixes are left out (not bad lines); a group address is its
    # OUI owner's
    group = both.lookup("0d:0b:0c:00:00:01")
    assert group is not None
    assert group.short == "Buyer"
    exact = both.lookup("0c:0b:0f:12:34:56")
    assert exact is not None
    assert exact.short == "TinyIab"
    # manuf names 00:00:00 by its number: no vendor, although ieee-data says Xerox
    assert both.lookup("00:00:00:12:34:56") is None
    assert both.lookup("00:00:00:00:00:00") is None
    assert both.lookup("0e:0b:0c:00:00:01") is None  # locally administered
    assert both.bad_lines == 0
    assert [p.name for p in both.sources] == ["iab.csv", "oui.csv", "manuf"]


def test_garbled_manuf_lines_are_skipped_and_counted(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ieee = _write(isolated / "ieee", {"oui.csv": OUI_CSV})
    wireshark = _write(isolated / "wireshark", {})
    garbage = b"\x00\x01\xff\xfe garbage\n0C:0B:0C\tBuy\xe9r\tBad UTF-8\nnot a line at all\n"
    (wireshark / "manuf").write_bytes(garbage + MANUF.encode() + b"0C:0B:\tTruncated\n")
    with caplog.at_level(logging.WARNING, logger="otsight.inventory.oui"):
        registry = OuiRegistry.load(ieee, wireshark)
    assert registry.bad_lines == 4
    assert "4 unreadable lines" in caplog.text
    bought = registry.lookup("0c:0b:0c:00:00:01")
    assert bought is not None
    assert bought.short == "Buyer"  # the good line after the bad one with the same prefix


def test_missing_manuf_means_ieee_data_only(isolated: Path) -> None:
    ieee = _write(isolated / "ieee", {"oui.csv": OUI_CSV})
    registry = OuiRegistry.load(ieee, isolated / "nowhere")
    old = registry.lookup("0c:0b:0c:00:00:01")
    assert old is not None
    assert (old.name, old.short, old.source) == ("Old Name Before Takeover AG", None, "ieee-data")
    assert registry.lookup("00:00:00:12:34:56") is not None  # ieee-data's Xerox
    assert registry.lookup("00:00:00:00:00:00") is None  # the all-zero address, even so
    assert [p.name for p in registry.sources] == ["oui.csv"]


def test_manuf_alone_and_neither(isolated: Path) -> None:
    wireshark = _write(isolated / "wireshark", {"manuf": MANUF})
    registry = OuiRegistry.load(manuf_directory=wireshark)
    tiny = registry.lookup("0c:0b:0f:12:30:00")
    assert tiny is not None
    assert (tiny.short, tiny.registry) == ("TinyIab", "MA-S")  # no ieee-data: the usual one
    with pytest.raises(FileNotFoundError, match="libwireshark-data"):
        OuiRegistry.load(isolated / "nowhere", isolated / "nowhere")


def test_environment_overrides_the_default_folders(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(isolated / "env-ieee", {"oui.csv": OUI_CSV})
    _write(isolated / "env-wireshark", {"manuf": MANUF})
    monkeypatch.setenv(oui.IEEE_ENV, str(isolated / "env-ieee"))
    monkeypatch.setenv(oui.MANUF_ENV, str(isolated / "env-wireshark"))
    registry = OuiRegistry.load()
    assert [p.parent.name for p in registry.sources] == ["env-ieee", "env-wireshark"]
    monkeypatch.setattr(oui, "MANUF_DIRS", ())
    monkeypatch.delenv(oui.MANUF_ENV)
    assert [p.name for p in OuiRegistry.load().sources] == ["oui.csv"]


WKA = """\
# made-up well-known addresses
0C-0B-0C-00-01/40\tVirtual-Router
0C-0B-0C-00-02-07\tOne-Cluster-Address
0E-0B-0C-00-00-00/24\tLocal-Block
garbled line without a name
"""


def test_well_known_addresses_come_before_vendors(isolated: Path) -> None:
    ieee = _write(isolated / "ieee", {"oui.csv": OUI_CSV})
    wireshark = _write(isolated / "wireshark", {"manuf": MANUF, "wka": WKA})
    registry = OuiRegistry.load(ieee, wireshark)
    virtual = registry.lookup("0c:0b:0c:00:01:2a")
    assert virtual is not None
    assert (virtual.name, virtual.short, virtual.registry, virtual.source, virtual.prefix_bits) \
        == ("Virtual-Router", "Virtual-Router", "well-known", "wireshark-wka", 40)
    assert registry.lookup("0c:0b:0c:00:02:07").name == "One-Cluster-Address"  # type: ignore[union-attr]
    plain = registry.lookup("0c:0b:0c:00:02:08")  # not the well-known one: the block's vendor
    assert plain is not None
    assert plain.source != "wireshark-wka"
    assert registry.lookup("0e:0b:0c:00:00:01") is None  # locally administered: never a name
    assert registry.bad_lines == 1
    assert [p.name for p in registry.sources][-1] == "wka"
