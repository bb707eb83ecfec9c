"""The demo lab capture scored against its truth: roles, identity strings, split/merged assets.

The capture was made by ``otsight lab run --scenario mixed`` (real pymodbus PLCs, asyncua, MQTT,
an HTTP camera, BACnet, DHCP, nmap and an ARP-spoofing attacker); truth.json says what each
device is and which identity strings its own protocols carry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otsight.inventory.builder import InventoryBuilder
from otsight.inventory.evaluate import InventoryScore, score
from otsight.inventory.oui import OuiRegistry
from otsight.pipeline.assemble import build_stages, run_files

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed"


@pytest.fixture(scope="module")
def scored() -> InventoryScore:
    builder = InventoryBuilder(oui=OuiRegistry.load())
    result = run_files([str(EXAMPLE / "capture.pcap")], build_stages([builder]))
    assert result.ok
    truth = json.loads((EXAMPLE / "truth.json").read_text())
    s = score(builder.assets(), truth)
    print("\n" + json.dumps(s.summary(), indent=1))
    return s


def test_one_asset_per_device(scored: InventoryScore) -> None:
    assert scored.split == []
    assert scored.merged == []
    assert scored.missed == []
    assert scored.unexpected == []


def test_roles(scored: InventoryScore) -> None:
    assert scored.role_macro_f1 >= 0.95
    assert scored.role_accuracy >= 0.9


def test_identity_strings_from_identification_services(scored: InventoryScore) -> None:
    # Modbus 43/14 (PLCs) and the BACnet device object: every string exact.
    for name in ("plc1", "plc2", "bac1"):
        device = next(d for d in scored.devices if d.name == name)
        for attribute, (want, got) in device.identity.items():
            assert got == want, (name, attribute)
    hits, total = scored.identity_rate("hostname")
    assert (hits, total) == (1, 1)  # the DHCP client's host name
