"""SSDP against tshark on every corpus capture holding it.

Key, one per message: (frame, http.request.method, http.response.code, http.server,
http.location, http.user_agent) over tshark's ``ssdp`` frames.

Known difference, not counted: ntop_nDPI ssdp-m-search.pcap holds 19 M-SEARCH datagrams to
UDP 32412 (Plex GDM discovery): tshark decodes SSDP on port 1900 only, we find them by
content (checked in test_m_search_on_an_odd_port). upnp.pcap is WS-Discovery (UDP 3702),
not SSDP: nothing is claimed there.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from otsight.protocols.ssdp import SsdpDissector
from otsight.protocols.ssdp.events import SsdpMessage
from otsight.testing import tshark
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import dissect

ITI = "pcaps/ITI_ICS-Security-Tools/"
CAPTURES = [
    ITI + "C37.118/C37118/c37118_1100_unclean.pcap",
    ITI + "C37.118/C37118/c37_pmu_unclean.pcap",
    ITI + "MELSEC/melsoft_UDP_unclean_1.pcap",
    ITI + "beckoff/addroute.pcapng",
    ITI + "beckoff/beckoffiplinktc3.pcapng",
    ITI + "s7/S7Comm/wrapup.pcapng",
    "pcaps/ntop_nDPI/pcap/ssdp-m-search-ua.pcap",
    "pcaps/ntop_nDPI/pcap/upnp.pcap",
]
FIELDS = ["frame.number", "http.request.method", "http.response.code", "http.server"]
FIELDS += ["http.location", "http.user_agent"]
Key = tuple[Any, ...]


def test_ssdp_against_tshark() -> None:
    root = shared_data()
    if root is None or not tshark.available():
        pytest.skip("needs ../shared/data (real captures) and tshark")
    total = [0, 0]
    lines = [f"{'capture':50} {'ssdp':>16}"]
    problems = []
    for name in CAPTURES:
        path = root / name
        if not path.exists():
            continue
        theirs: Counter[Key] = Counter()
        for r in tshark.fields(path, FIELDS, "ssdp"):
            code = int(r[2]) if r[2] else None
            theirs[(int(r[0]), r[1] or None, code, r[3] or None, r[4] or None, r[5] or None)] += 1
        ours: Counter[Key] = Counter()
        for e in dissect(path, [SsdpDissector]):
            assert isinstance(e, SsdpMessage), e
            ours[(e.frame, e.method, e.status_code, e.server, e.location, e.user_agent)] += 1
        n, m = max(ours.total(), theirs.total()), (ours & theirs).total()
        total[0] += n
        total[1] += m
        lines.append(f"{name[-50:]:50} {n:>7} {m / n if n else 1:8.2%}")
        if m < n:
            problems.append(f"{name}: ours-only {list(ours - theirs)[:3]} "
                            f"tshark-only {list(theirs - ours)[:3]}")  # fmt: skip
    lines.append(f"{'TOTAL':50} {total[0]:>7} {total[1] / total[0]:8.2%}")
    print("\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)
    assert total[0] > 0
    assert total[1] / total[0] >= 0.99


def test_m_search_on_an_odd_port() -> None:
    root = shared_data()
    rel = "pcaps/ntop_nDPI/pcap/ssdp-m-search.pcap"
    if root is None or not (root / rel).exists():
        pytest.skip(f"needs ../shared/data/{rel}")
    events = dissect(root / rel, [SsdpDissector])
    assert len(events) == 19
    assert all(isinstance(e, SsdpMessage) and e.kind == "m-search" for e in events)
    assert {e.dst_port for e in events} == {32412}
