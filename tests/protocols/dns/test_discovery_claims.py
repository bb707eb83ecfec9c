"""The discovery dissectors together (DNS family, DHCP, DHCPv6, SSDP): run side by side, each
protocol is claimed exactly as when its dissector runs alone, and industrial-only captures
yield nothing."""

from __future__ import annotations

from collections import Counter

import pytest

from otsight.protocols.base import Dissector
from otsight.protocols.dhcp import DhcpDissector, Dhcpv6Dissector
from otsight.protocols.dns import (
    DnsDissector,
    DnsTcpDissector,
    LlmnrDissector,
    LlmnrTcpDissector,
    MdnsDissector,
    NbnsDissector,
)
from otsight.protocols.ssdp import SsdpDissector
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import dissect

DNS_FAMILY: list[type[Dissector]] = [
    DnsDissector,
    MdnsDissector,
    LlmnrDissector,
    NbnsDissector,
    DnsTcpDissector,
    LlmnrTcpDissector,
]
ALL: list[type[Dissector]] = [*DNS_FAMILY, DhcpDissector, Dhcpv6Dissector, SsdpDissector]
MIXED = [
    "pcaps/ITI_ICS-Security-Tools/s7/S7Comm/wrapup.pcapng",
    "pcaps/ITI_ICS-Security-Tools/beckoff/addroute1.pcapng",
    "pcaps/ITI_ICS-Security-Tools/C37.118/C37118/c37118_1100_unclean.pcap",
    "pcaps/OISF_suricata-verify/sip-method/sip.pcap",
    "pcaps/ntop_nDPI/pcap/alexa-app.pcapng",
]
OT_ONLY = [
    "pcaps/ITI_ICS-Security-Tools/CIP/cip_only.pcap",
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/mb2.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/enip_test.pcap",
]


@pytest.mark.parametrize("rel", MIXED)
def test_together_equals_alone(rel: str) -> None:
    root = shared_data()
    if root is None or not (root / rel).exists():
        pytest.skip(f"needs ../shared/data/{rel}")
    together = Counter(e.protocol for e in dissect(root / rel, ALL))
    alone: Counter[str] = Counter()
    for group in (DNS_FAMILY, [DhcpDissector], [Dhcpv6Dissector], [SsdpDissector]):
        alone.update(e.protocol for e in dissect(root / rel, group))
    assert together == alone
    assert together


@pytest.mark.parametrize("rel", OT_ONLY)
def test_industrial_only_captures_yield_nothing(rel: str) -> None:
    root = shared_data()
    if root is None or not (root / rel).exists():
        pytest.skip(f"needs ../shared/data/{rel}")
    assert dissect(root / rel, ALL) == []
