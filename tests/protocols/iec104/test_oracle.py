"""IEC 104 against tshark on every corpus capture holding it (per APDU: format, U function,
send/receive sequence numbers; per ASDU: type, cause, common address, all object addresses),
and against nDPI's per-flow classification. See oracle.py for the explained differences."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.protocols.iec104.events import Iec104Asdu
from otsight.testing import tshark
from otsight.testing.corpus import shared_data

from .helpers import run
from .oracle import compare, iec104_captures

DATA = shared_data()
needs_corpus = pytest.mark.skipif(
    DATA is None or not tshark.available(), reason="shared corpus or tshark not available"
)


@needs_corpus
def test_agrees_with_tshark_on_every_iec104_capture() -> None:
    assert DATA is not None
    captures = iec104_captures(DATA)
    assert len(captures) >= 4
    results = [compare(p) for p in captures]
    print(f"\n{'capture':45} {'apci':>5} {'tshark':>6} {'asdu':>5} {'tshark':>6} {'malf':>4}")
    for c in results:
        print(
            f"{c.path.name:45} {c.apci_ours:5} {c.apci_theirs:6} {c.asdu_ours:5}"
            f" {c.asdu_theirs:6} {c.malformed_frames:4}  only ours {c.only_ours}"
            f" only tshark {c.only_theirs}"
        )
    apci_n = max(sum(c.apci_ours for c in results), sum(c.apci_theirs for c in results))
    asdu_n = max(sum(c.asdu_ours for c in results), sum(c.asdu_theirs for c in results))
    apci = sum(c.apci_matched for c in results) / apci_n
    asdu = sum(c.asdu_matched for c in results) / asdu_n
    print(f"APDUs compared {apci_n}, agreement {apci:.4f}; ASDUs {asdu_n}, agreement {asdu:.4f}")
    assert apci_n >= 390
    assert asdu_n >= 220
    assert apci >= 0.99
    assert asdu >= 0.99


Endpoint = tuple[str, int]


def _pair(a: Endpoint, b: Endpoint) -> tuple[Endpoint, Endpoint]:
    return (a, b) if a <= b else (b, a)


def _ndpi_flows(out: Path, label: str) -> set[tuple[Endpoint, Endpoint]]:
    flows = set()
    for line in out.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) > 4 and parts[1] == "TCP" and f"/{label}]" in line:
            a_ip, a_port = parts[2].rsplit(":", 1)
            b_ip, b_port = parts[4].rsplit(":", 1)
            flows.add(_pair((a_ip, int(a_port)), (b_ip, int(b_port))))
    return flows


@needs_corpus
def test_flows_agree_with_ndpi() -> None:
    assert DATA is not None
    base = DATA / "pcaps/ntop_nDPI"
    expected = _ndpi_flows(base / "result/IEC104.pcap.out", "IEC60870")
    assert len(expected) == 2
    ours = {
        _pair((e.src_ip, e.src_port), (e.dst_ip, e.dst_port))
        for e in run(base / "pcap/IEC104.pcap")
    }
    assert ours == expected


@needs_corpus
def test_commands_in_the_corpus() -> None:
    assert DATA is not None
    path = DATA / "pcaps/ITI_ICS-Security-Tools/IEC60870-5-104/090813_diverse.pcap"
    cmds = [e for e in run(path) if isinstance(e, Iec104Asdu) and e.is_command]
    assert {c.type_name for c in cmds} >= {"C_SC_TA_1", "C_SC_NA_1", "C_SE_NC_1", "C_SE_TC_1"}
    assert {c.select for c in cmds} >= {True, False}  # None: C_IC_NA_1 has no S/E bit
    assert all(c.cause_name in ("act", "deact") for c in cmds)
