"""The small lab attack scenarios (examples/lab-manipulation, lab-mitm, lab-dos: five devices
each, made by ``otsight lab run --scenario NAME --duration 45 --seed 5``) scored against their
truth: the attacker is a device too, and its role must come from what it did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otsight.inventory.builder import InventoryBuilder
from otsight.inventory.evaluate import score
from otsight.inventory.oui import OuiRegistry
from otsight.pipeline.assemble import build_stages, run_files

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCENARIOS = ("manipulation", "mitm", "dos")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_device_once_with_its_role_and_identity(scenario: str) -> None:
    folder = EXAMPLES / f"lab-{scenario}"
    builder = InventoryBuilder(oui=OuiRegistry.load())
    assert run_files([str(folder / "capture.pcap")], build_stages([builder])).ok
    truth = json.loads((folder / "truth.json").read_text())
    s = score(builder.assets(), truth)
    print(f"\nlab-{scenario}: " + json.dumps(s.summary()))
    assert (s.split, s.merged, s.missed, s.unexpected) == ([], [], [], [])
    assert s.role_macro_f1 >= 0.95
    attacker = next(d for d in truth["devices"] if d.get("attacker"))
    got = next(d for d in s.devices if d.name == attacker["name"])
    assert got.role == attacker["role"]
    for device in s.devices:
        for attribute, (want, found) in device.identity.items():
            assert found == want, (device.name, attribute)
