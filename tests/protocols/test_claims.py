"""No false claims: industrial dissectors stay silent on IT traffic and on random bytes.

Runs every built-in dissector, so each protocol added to the registry is held to it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from otsight.protocols.base import Dissector
from otsight.protocols.registry import PORT_BONUS, THRESHOLD, builtin_dissectors
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import dissect
from otsight.testing.synth import generate

DATA = shared_data()
INDUSTRIAL = {"modbus", "dnp3", "s7comm", "s7comm_plus", "enip", "bacnet", "iec104", "opcua"}
IT_ONLY = [
    "pcaps/ntop_nDPI/pcap/alexa-app.pcapng",
    "pcaps/ntop_nDPI/pcap/telnet.pcap",
    "pcaps/ntop_nDPI/pcap/tcp_scan.pcapng",
    "pcaps/ntop_nDPI/pcap/synscan.pcap",
    "pcaps/ntop_nDPI/pcap/snmp.pcap",
    "pcaps/ntop_nDPI/pcap/upnp.pcap",
    "pcaps/ntop_nDPI/pcap/ipp.pcap",
    "pcaps/ntop_nDPI/pcap/netflowv9.pcap",
    "pcaps/OISF_suricata-verify/sip-method/sip.pcap",
    "pcaps/OISF_suricata-verify/rdp-protocol/RDP-003.pcap",
    "pcaps/OISF_suricata-verify/rfb-rules/00-vnc-openwall-3.7.pcap",
    "pcaps/OISF_suricata-verify/output-eve-tftp-01/input.pcap",
]


@pytest.mark.skipif(DATA is None, reason="../shared/data is absent (no real captures)")
@pytest.mark.parametrize("rel", IT_ONLY)
def test_it_only_captures_yield_no_industrial_events(rel: str) -> None:
    assert DATA is not None
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"{rel} not in this corpus")
    events = dissect(path, builtin_dissectors())
    assert [type(e).__name__ for e in events if e.protocol in INDUSTRIAL] == []


@pytest.mark.parametrize("dissector", builtin_dissectors(), ids=lambda d: d.name)
def test_random_payloads_on_the_standard_port_are_not_claimed(dissector: type[Dissector]) -> None:
    rng = random.Random(11)
    for _ in range(3000):
        data = rng.randbytes(rng.choice([rng.randrange(1, 16), rng.randrange(16, 300)]))
        for direction in (0, 1):
            score = dissector.probe(data, direction)
            assert score + PORT_BONUS < THRESHOLD, (dissector.name, data.hex())


def test_synthetic_it_traffic_is_only_claimed_by_what_it_is(tmp_path: Path) -> None:
    """The generator's plant: Modbus flows are Modbus, TLS-like sessions are TLS, and no other
    industrial protocol is claimed."""
    path = tmp_path / "plant.pcap"
    generate(path, 20_000, seed=5)
    events = dissect(path, builtin_dissectors())
    protocols = {e.protocol for e in events}
    assert "modbus" in protocols
    assert protocols & INDUSTRIAL == {"modbus"}
