"""DNP3 against tshark on every corpus capture holding DNP3, and against suricata-verify's
expected events. Known, explained differences (see oracle.py): tshark re-decodes TCP
retransmissions (the engine drops them), decodes objects only for some functions, stops at
object types it does not know (g51v2), and lists odd headers in packets it marks malformed."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from otsight.protocols.dnp3.events import Dnp3Message, Dnp3Request
from otsight.testing import tshark
from otsight.testing.corpus import shared_data

from .oracle import Comparison, compare, dnp3_captures, our_view

DATA = shared_data()
needs_corpus = pytest.mark.skipif(
    DATA is None or not tshark.available(), reason="shared corpus or tshark not available"
)


@needs_corpus
def test_agrees_with_tshark_on_every_dnp3_capture() -> None:
    assert DATA is not None
    captures = dnp3_captures(DATA)
    assert len(captures) >= 190
    with ThreadPoolExecutor(2) as pool:
        results: list[Comparison] = list(pool.map(compare, captures))
    ours = sum(c.ours for c in results)
    theirs = sum(c.theirs for c in results)
    matched = sum(c.matched for c in results)
    link_n = max(sum(c.link_ours for c in results), sum(c.link_theirs for c in results))
    link_matched = sum(c.link_matched for c in results)
    print(f"\n{'capture':70} {'ours':>5} {'tshark':>6} {'agree':>6} {'malf':>4} {'unk':>4}")
    for c in results:
        if c.ours or c.theirs:
            rel = str(c.path.relative_to(DATA))[-70:]
            print(
                f"{rel:70} {c.ours:5} {c.theirs:6} {c.agreement:6.3f}"
                f" {c.malformed_frames:4} {c.unknown_object_frames:4}"
            )
    agreement = matched / max(ours, theirs)
    print(
        f"captures {len(results)}, application fragments compared {max(ours, theirs)}, "
        f"agreement {agreement:.4f}; link-only frames {link_n}, agreement "
        f"{link_matched / max(link_n, 1):.4f}; frames with objects not compared (tshark "
        f"malformed) {sum(c.malformed_frames for c in results)}; truncated at tshark-unknown "
        f"objects {sum(c.unknown_object_frames for c in results)}"
    )
    assert agreement >= 0.99
    assert link_matched / max(link_n, 1) >= 0.99
    assert sum(c.address_mismatches for c in results) == 0


@needs_corpus
def test_found_by_content_on_port_20001() -> None:
    assert DATA is not None
    path = DATA / "pcaps/ITI_ICS-Security-Tools/bro/dnp3/dnp3_read_p20001.pcap"
    _view, events = our_view(path)
    msgs = [e for e in events if isinstance(e, Dnp3Message)]
    assert msgs
    assert {e.dst_port for e in msgs} | {e.src_port for e in msgs} >= {20001}
    assert any(isinstance(e, Dnp3Request) and e.function == "read" for e in msgs)


@needs_corpus
def test_it_only_captures_produce_no_dnp3_events() -> None:
    assert DATA is not None
    catalog = (DATA / "CATALOG.md").read_text(encoding="utf-8")
    row = re.compile(r"^\| (pcaps/\S+) \| (\d+) \| \S+ \| ([^|]*)\|", re.M)
    it = [
        DATA / m.group(1)
        for m in row.finditer(catalog)
        if m.group(3).strip()
        and "DNP3" not in m.group(3)
        and 20 <= int(m.group(2)) <= 20000
        and m.group(1).startswith(("pcaps/ntop_nDPI", "pcaps/the-tcpdump-group"))
    ][:40]
    assert len(it) >= 20
    for path in it:
        _view, events = our_view(path)
        assert not events, path


# ------------------------------------------------------------ suricata-verify expectations
_KEY = re.compile(r"^\s+(pcap_cnt|dnp3\.src|dnp3\.dst|dnp3\.application\.[\w.\[\]]+):\s*(\S+)\s*$")


def _expectations(test_yaml: Path) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in test_yaml.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("- filter:"):
            if current:
                out.append(current)
            current = {}
            continue
        m = _KEY.match(line)
        if m:
            current[m.group(1)] = m.group(2)
    if current:
        out.append(current)
    return [e for e in out if "pcap_cnt" in e and "dnp3.application.function_code" in e]


def _capture_for(folder: Path, data: Path) -> Path | None:
    own = sorted(folder.glob("*.pcap"))
    if own:
        return own[0]
    bro = data / "pcaps/ITI_ICS-Security-Tools/bro/dnp3" / (folder.name.replace("-", "_") + ".pcap")
    return bro if bro.is_file() else None


@needs_corpus
def test_agrees_with_suricata_verify_expectations() -> None:
    """Suricata logs a TCP message when the peer acknowledges it, so ``pcap_cnt`` is not the
    frame of the message: expected records are matched as a multiset per capture on
    (source, destination, function, sequence, object group/variations)."""
    assert DATA is not None
    checked = agreed = 0
    for test_yaml in sorted((DATA / "pcaps/OISF_suricata-verify/dnp3").glob("*/test.yaml")):
        expected = _expectations(test_yaml)
        path = _capture_for(test_yaml.parent, DATA)
        if not expected or path is None:
            continue
        _view, events = our_view(path)
        ours = [_our_key(e) for e in events if isinstance(e, Dnp3Message)]
        for exp in expected:
            checked += 1
            key = _expected_key(exp)
            found = next((k for k in ours if _matches(k, key)), None)
            if found is not None:
                ours.remove(found)
                agreed += 1
            else:
                print("suricata expects", test_yaml.parent.name, key)
    print(f"\nsuricata-verify: {checked} expected DNP3 records, {agreed} agree")
    assert checked >= 50
    assert agreed / checked >= 0.99


_Key = tuple[int, int, int, int, tuple[tuple[int, int], ...]]


def _our_key(e: Dnp3Message) -> _Key:
    objs = tuple((g, v) for g, v, _q, _c in e.objects)
    return (e.source_address, e.destination_address, e.function_code, e.sequence, objs)


def _expected_key(exp: dict[str, str]) -> _Key:
    objs = []
    for i in range(256):
        g = exp.get(f"dnp3.application.objects[{i}].group")
        if g is None:
            break
        objs.append((int(g), int(exp.get(f"dnp3.application.objects[{i}].variation", "-1"))))
    return (
        int(exp.get("dnp3.src", "-1")),
        int(exp.get("dnp3.dst", "-1")),
        int(exp["dnp3.application.function_code"]),
        int(exp.get("dnp3.application.control.sequence", "-1")),
        tuple(objs),
    )


def _matches(ours: _Key, exp: _Key) -> bool:
    """Equal, where -1 in the expectation means "not stated"; the objects Suricata lists
    must be a prefix of ours (its test files list only some headers)."""
    return all(e in (-1, o) for o, e in zip(ours[:4], exp[:4], strict=True)) and (
        ours[4][: len(exp[4])] == exp[4]
    )
