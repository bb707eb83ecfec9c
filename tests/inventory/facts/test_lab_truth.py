"""The lab's ground truth: every identity string a lab device puts on the wire (``reveals`` in
examples/lab-mixed/truth.json) is the most reliable fact otsight extracts for that device."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from otsight.inventory.facts import facts_of
from otsight.inventory.model import Observation
from otsight.protocols.registry import builtin_dissectors, builtin_frame_dissectors
from otsight.testing.protocol_oracle import dissect

LAB = Path(__file__).resolve().parents[3] / "examples/lab-mixed"


@pytest.mark.skipif(not (LAB / "truth.json").is_file(), reason="needs examples/lab-mixed")
def test_best_fact_per_device_is_what_the_device_reveals() -> None:
    truth = json.loads((LAB / "truth.json").read_text())
    best: dict[str, dict[str, tuple[int, set[str]]]] = defaultdict(dict)
    for event in dissect(LAB / "capture.pcap", builtin_dissectors(), builtin_frame_dissectors()):
        for fact in facts_of(event):
            if not isinstance(fact, Observation):
                continue
            for address in {fact.ip, fact.mac} - {None}:
                assert address is not None
                held = best[address].get(fact.attribute)
                if held is None or held[0] < fact.reliability:
                    best[address][fact.attribute] = (fact.reliability, {fact.value})
                elif held[0] == fact.reliability:
                    held[1].add(fact.value)
    expected = [(d, a, v) for d in truth["devices"] for a, v in d.get("reveals", {}).items()]
    assert len(expected) >= 10
    misses = []
    for device, attribute, value in expected:
        addresses = [*device.get("ips", []), *device.get("macs", [])]
        top = [best[a][attribute] for a in addresses if attribute in best[a]]
        # the most reliable source names the revealed value, and no other value at that level
        if not any(values == {value} for _rel, values in top):
            misses.append((device["name"], attribute, value, top))
    assert not misses
