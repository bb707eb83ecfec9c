"""The ATT&CK for ICS table: well-formed, and covering every technique a rule cites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from otsight.alerts.attack import TACTICS, TECHNIQUES, technique

SRC = Path(__file__).resolve().parents[2] / "src" / "otsight" / "detect"


def test_ids_names_and_tactics_are_well_formed() -> None:
    for tid, tech in TECHNIQUES.items():
        assert re.fullmatch(r"T0\d{3}", tid)
        assert tech.technique_id == tid
        assert tech.name
        assert tech.name == tech.name.strip()
        assert tech.tactics
        assert set(tech.tactics) <= set(TACTICS)
    assert technique("T0816").name == "Device Restart/Shutdown"
    assert technique("T0830").tactic_names == ("Collection",)
    assert technique("T0843").url == "https://attack.mitre.org/techniques/T0843/"


def test_unknown_id_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="T0999"):
        technique("T0999")


def test_every_technique_cited_by_a_rule_is_in_the_table() -> None:
    cited = set()
    for path in SRC.rglob("*.py"):
        if "anomaly" in path.parts:
            continue
        cited |= set(re.findall(r"\"(T0\d{3})\"", path.read_text()))
    assert cited, "the rules cite techniques"
    assert cited <= set(TECHNIQUES), sorted(cited - set(TECHNIQUES))
