"""MAC vendors from the installed IEEE registries, checked against tshark's resolution."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from otsight.capture.sources import Input, read_input
from otsight.core.types import mac_to_str
from otsight.decode.kernel import decode_batch
from otsight.inventory.oui import (
    OuiRegistry,
    Vendor,
    is_locally_administered,
    is_multicast,
    is_randomized,
    mac_int,
)
from otsight.testing import tshark
from otsight.testing.corpus import capture_files, shared_data

DATA = shared_data()


@pytest.fixture(scope="module")
def registry() -> OuiRegistry:
    try:
        return OuiRegistry.load()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _same_company(ours: str | None, theirs: str) -> bool:
    """Same name, or the same leading word (Wireshark shortens and edits IEEE's names:
    "ABB INDUSTRIAL SYSTEMS AB" is "ABB Automation AB, Dept. Q" there)."""
    if ours is None:
        return False
    if _norm(ours) == _norm(theirs):
        return True
    first = re.findall(r"[a-z0-9]+", ours.lower())[:1]
    return bool(first) and first == re.findall(r"[a-z0-9]+", theirs.lower())[:1]


# eth.src_resolved: "Schneide_02:58:b7" (24-bit block), "OMICRONe_05:30" / "Saia-Bur_5e" (36-bit:
# tshark appends as many bytes as the block leaves, leading zero bytes dropped), or the plain
# address when tshark knows no vendor.
_RESOLVED = re.compile(r"(.+)_([0-9a-f]{2}(?::[0-9a-f]{2}){0,4})")
_ADDRESS = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){2,}", re.IGNORECASE)


def _tshark_short(mac: str, resolved: str) -> str | None:
    """Wireshark's short vendor name in ``eth.src_resolved``; None when it shows no vendor."""
    if not resolved or resolved == mac:
        return None
    match = _RESOLVED.fullmatch(resolved)
    name = match[1] if match else resolved  # no address suffix: a whole name (ethers, wka)
    # manuf "names" the 00:00:00 block by its number ("00:00:00_00:00:00"): no vendor shown.
    return None if _ADDRESS.fullmatch(name) else name


def _long(vendor: Vendor | None) -> str | None:
    return None if vendor is None else vendor.name


def _shown(vendor: Vendor | None) -> str | None:
    return None if vendor is None else vendor.short or vendor.name


def _agree(ours: Vendor | None, theirs: str | None) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if ours.short is not None:
        return ours.short == theirs
    # ieee-data only (no manuf entry): Wireshark's short names are the long name's letters.
    return bool(_norm(theirs)) and _norm(ours.name).startswith(_norm(theirs))


def test_known_industrial_vendors(registry: OuiRegistry) -> None:
    assert len(registry) > 30_000
    siemens = registry.lookup("00:1b:1b:02:e6:1f")
    rockwell = registry.lookup("00-00-BC-5F-48-FA")
    assert siemens is not None
    assert "siemens" in siemens.name.lower()
    assert rockwell is not None
    assert rockwell.name == "Rockwell Automation"
    assert rockwell.registry == "MA-L"
    assert rockwell.prefix_bits == 24


def test_wireshark_names_when_manuf_is_installed(registry: OuiRegistry) -> None:
    if not any(p.name == "manuf" for p in registry.sources):
        pytest.skip("Wireshark's manuf is not installed (libwireshark-data)")
    elau = registry.lookup("00:04:17:02:58:b7")  # ELAU AG in the IEEE registry, bought
    assert elau is not None
    assert (elau.name, elau.short) == ("Schneider Electric", "Schneide")
    assert elau.source == "wireshark-manuf"
    assert elau.registry == "MA-L"
    omicron = registry.lookup("00:50:c2:78:b5:30")  # a 36-bit block in IEEE's 00:50:C2
    assert omicron is not None
    assert (omicron.short, omicron.prefix_bits, omicron.registry) == ("OMICRONe", 36, "IAB")
    # Wireshark names the 00:00:00 block by its number, not Xerox: no vendor.
    assert registry.lookup("00:00:00:99:da:71") is None
    assert registry.bad_lines == 0


def test_group_addresses_belong_to_the_oui_owner(registry: OuiRegistry) -> None:
    group = registry.lookup("01:00:0c:12:34:56")
    cisco = registry.lookup("00:00:0c:12:34:56")
    assert group is not None
    assert group == cisco


def test_well_known_addresses_are_named_by_their_protocol(registry: OuiRegistry) -> None:
    if not any(p.name == "wka" for p in registry.sources):
        pytest.skip("Wireshark's wka is not installed (libwireshark-data)")
    vrrp = registry.lookup("00:00:5e:00:01:2a")  # a VRRP virtual router's MAC (VRID 42)
    hsrp = registry.lookup("00:00:0c:07:ac:01")
    assert vrrp is not None
    assert hsrp is not None
    assert (vrrp.name, vrrp.registry, vrrp.source) == ("IETF-VRRP-VRID", "well-known",
                                                       "wireshark-wka")
    assert hsrp.name == "All-HSRP-routers"
    assert registry.lookup("00:00:0c:07:ad:01").name.startswith("Cisco")  # type: ignore[union-attr]
    assert registry.lookup("01:00:0c:cc:cc:cc").name == "CDP/VTP/DTP/PAgP/UDLD"  # type: ignore[union-attr]


def test_all_zero_address_has_no_vendor(registry: OuiRegistry) -> None:
    assert registry.lookup("00:00:00:00:00:00") is None


def test_longer_prefixes_win(registry: OuiRegistry) -> None:
    # An IAB block inside IEEE's 00:50:C2 MA-L: the 36-bit assignment names the real owner.
    iab = registry.lookup("00:50:c2:7d:50:01")
    assert iab is not None
    assert iab.prefix_bits == 36
    assert "deuta" in iab.name.lower()


def test_local_random_and_multicast_addresses() -> None:
    assert is_locally_administered("02:00:00:00:00:01")
    assert is_randomized("da:a1:19:00:00:01")
    assert not is_randomized("00:1b:1b:02:e6:1f")
    assert is_multicast("01:80:c2:00:00:0e")
    assert not is_randomized("03:00:00:00:00:01")  # multicast, not a host's random address
    with pytest.raises(ValueError, match="not a MAC"):
        mac_int("00:11:22")


def test_locally_administered_addresses_have_no_vendor(registry: OuiRegistry) -> None:
    assert registry.lookup("02:00:00:00:00:01") is None


@pytest.mark.oracle
@pytest.mark.skipif(DATA is None or not tshark.available(), reason="needs shared data, tshark")
def test_vendors_agree_with_tshark_for_corpus_macs(registry: OuiRegistry) -> None:
    """Every distinct source MAC of the corpus: our vendor vs the vendor in tshark's
    eth.src_resolved (``Schneide_02:58:b7``), as an analyst sees it in Wireshark's packet list.

    Locally administered addresses are counted apart: tshark still names a vendor for some
    (52:54:00 QEMU -> "RealtekU"), otsight deliberately names none (the U/L bit says the
    address was not assigned by the IEEE to anybody). The target is on the globally
    administered ones; the figure over all MACs is printed beside it.
    """
    assert DATA is not None
    assert any(p.name == "manuf" for p in registry.sources), "tshark without Wireshark's manuf?"
    ours: dict[str, Vendor | None] = {}
    theirs: dict[str, tuple[str, str]] = {}  # mac -> (eth.src_resolved, eth.src.oui_resolved)
    for path in capture_files(DATA, tshark_readable_only=True):
        macs: set[int] = set()
        try:
            for batch in read_input(Input(str(path), path)):
                t = decode_batch(batch)
                macs.update(int(m) for m in np.unique(t.src_mac[batch.linktype == 1]))
        except Exception:  # damaged captures: what was read counts
            pass
        for m in macs:
            mac = mac_to_str(m)
            ours[mac] = registry.lookup(mac)
        rows = tshark.fields(
            Path(path), ["eth.src", "eth.src_resolved", "eth.src.oui_resolved"], extra=["-N", "m"]
        )
        for row in rows:
            if row[0] and "," not in row[0]:
                theirs[row[0]] = (row[1], row[2])
    compared = sorted(mac for mac in theirs if mac in ours)
    local = [mac for mac in compared if is_locally_administered(mac)]
    global_ = [mac for mac in compared if not is_locally_administered(mac)]
    agree = {mac for mac in compared if _agree(ours[mac], _tshark_short(mac, theirs[mac][0]))}
    local_named = [mac for mac in local if _tshark_short(mac, theirs[mac][0]) is not None]
    global_agree = [mac for mac in global_ if mac in agree]
    differences = [(mac, _shown(ours[mac]), theirs[mac][0]) for mac in global_ if mac not in agree]
    # The second figure: long names against eth.src.oui_resolved, which looks at 24 bits only
    # (36-bit blocks are "IEEE Registration Authority" there) and is empty for unknown OUIs.
    with_oui = [mac for mac in compared if theirs[mac][1]]
    oui_agree = [mac for mac in with_oui if _same_company(_long(ours[mac]), theirs[mac][1])]
    print(
        f"\nvendors vs tshark eth.src_resolved: {len(global_agree)}/{len(global_)} globally "
        f"administered MACs agree ({len(global_agree) / len(global_):.2%}); "
        f"{len(agree)}/{len(compared)} of all MACs ({len(agree) / len(compared):.2%}); "
        f"{len(local)} locally administered, deliberately no vendor "
        f"({len(local_named)} of them named by tshark: "
        f"{sorted(theirs[m][0] for m in local_named)})"
        f"\nvs eth.src.oui_resolved (24-bit, long names): {len(oui_agree)}/{len(with_oui)}"
        f"\ndifferences (globally administered; mac, ours, tshark): {differences}"
    )
    # Virtual router addresses (HSRP 00:00:0c:07:ac:xx, VRRP 00:00:5e:00:01:xx) are named
    # after their protocol from Wireshark's wka file, as tshark names them.
    assert len(global_) > 300
    assert len(global_agree) / len(global_) >= 0.99, differences
    assert len(agree) / len(compared) >= 0.99
