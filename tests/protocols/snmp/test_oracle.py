"""SNMP against tshark on every corpus capture the catalogue lists with SNMP.

One key per message: (frame, version, community present, PDU type, varbind OIDs). tshark's
``snmp.data`` is the PDU choice index (0 get ... 8 report); an encrypted v3 PDU has none and
``snmp.encryptedPDU`` instead. The community string is compared as presence only.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsight.protocols.snmp import SnmpDissector
from otsight.protocols.snmp.events import SnmpMessage
from otsight.testing import tshark
from otsight.testing.corpus import catalog_captures, shared_data
from otsight.testing.protocol_oracle import dissect

FIELDS = [
    "snmp.version",
    "snmp.msgVersion",
    "snmp.community",
    "snmp.data",
    "snmp.name",
    "snmp.encryptedPDU",
]
VERSIONS = {"0": "v1", "1": "v2c", "3": "v3"}
CHOICES = [
    "get-request",
    "get-next-request",
    "response",
    "set-request",
    "trap-v1",
    "get-bulk-request",
    "inform-request",
    "trap-v2",
    "report",
]
Key = tuple[Any, ...]


def theirs(path: Path) -> Counter[Key]:
    out: Counter[Key] = Counter()
    for row in tshark.fields(path, ["frame.number", *FIELDS], "snmp"):
        d = dict(zip(["frame", *FIELDS], row, strict=True))
        raw = (d["snmp.version"] or d["snmp.msgVersion"]).split(",")[0]
        if not raw:
            continue
        version = VERSIONS.get(raw, raw)
        if d["snmp.encryptedPDU"]:
            pdu = "encrypted"
        elif d["snmp.data"]:
            pdu = CHOICES[int(d["snmp.data"].split(",")[0])]
        else:
            continue  # tshark could not decode the PDU: we count those as malformed
        oids = tuple(o for o in d["snmp.name"].split(",") if o)
        out[(int(d["frame"]), version, bool(d["snmp.community"]), pdu, oids)] += 1
    return out


def ours(path: Path) -> Counter[Key]:
    out: Counter[Key] = Counter()
    for e in dissect(path, [SnmpDissector]):
        if isinstance(e, SnmpMessage):
            out[(e.frame, e.version, e.community_present, e.pdu_type, e.oids)] += 1
    return out


def test_snmp_against_tshark() -> None:
    root = shared_data()
    if root is None or not tshark.available():
        pytest.skip("needs ../shared/data and tshark")
    captures = catalog_captures(root, "SNMP")
    assert captures
    total = matched = 0
    lines = [f"{'capture':40} {'messages':>9} {'agree':>8}"]
    problems = []
    for path in captures:
        a, b = ours(path), theirs(path)
        n = max(a.total(), b.total())
        m = (a & b).total()
        total += n
        matched += m
        lines.append(f"{path.name[:40]:40} {n:>9} {(m / n if n else 1):8.2%}")
        if m < n:
            problems.append(
                f"{path.name}: ours-only {list((a - b).items())[:3]} "
                f"tshark-only {list((b - a).items())[:3]}"
            )
    lines.append(f"{'TOTAL':40} {total:>9} {(matched / total if total else 1):8.2%}")
    print("\n" + "\n".join(lines))
    print("\n".join(problems))
    assert total > 0
    assert matched / total >= 0.99, problems
