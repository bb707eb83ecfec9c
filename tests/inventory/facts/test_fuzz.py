"""facts_of never raises and only speaks the inventory's vocabulary: on every event of a set of
real corpus captures (all dissectors), and on whatever the dissectors make of random bytes."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otsight.core.errors import Malformed, NeedMoreData
from otsight.core.events import BaseEvent
from otsight.core.plugins import FlowContext, FrameContext
from otsight.inventory.facts import facts_of
from otsight.inventory.facts._common import MAX_TEXT, usable_ip
from otsight.inventory.model import ATTRIBUTES, CATEGORIES, Activity, Fact, Observation
from otsight.protocols.base import Dissector, FrameDissector
from otsight.protocols.lldp.dissector import LldpDissector
from otsight.protocols.modbus.dissector import ModbusDissector
from otsight.protocols.registry import builtin_dissectors, builtin_frame_dissectors
from otsight.protocols.ssh.dissector import SshDissector
from otsight.testing.corpus import shared_data
from otsight.testing.packets import ethernet
from otsight.testing.protocol_oracle import dissect

ROOT = Path(__file__).resolve().parents[3]
DATA = shared_data()
ITI = "pcaps/ITI_ICS-Security-Tools/"
CAPTURES = [
    ITI + "openics/EIP-IPAddressChangeAttempt.pcap",
    ITI + "s7/tia_s300_goOnline.pcapng",
    ITI + "s7/snap7_s300_everything.pcapng",
    ITI + "BACnet/bacnet_test.pcap",
    ITI + "profinet/profinet-wireshark-bug.pcap",
    ITI + "profinet/PROFINET-RT-DCP/ChangeIPUsingDCP.pcap",
    ITI + "IEC60870-5-104/TestDissectIec104.pcap",
    ITI + "dnp3/direct_operate_crob_malform_but_good_crc.pcap",
    ITI + "beckoff/addroute1.pcapng",
    ITI + "C37.118/C37118/c37_pmu_unclean.pcap",
    "pcaps/the-tcpdump-group_tcpdump/LLDP_and_CDP.pcap",
    "pcaps/the-tcpdump-group_tcpdump/dhcp-rfc4388.pcap",
    "pcaps/the-tcpdump-group_tcpdump/snmp-heapoverflow-1.pcap",
    "pcaps/ntop_nDPI/pcap/snmp.pcap",
    "pcaps/ntop_nDPI/pcap/alexa-app.pcapng",
    "pcaps/ntop_nDPI/pcap/telnet.pcap",
    "pcaps/ntop_nDPI/pcap/coap_mqtt.pcap",
    "pcaps/ntop_nDPI/pcap/ssdp-m-search-ua.pcap",
    "pcaps/OISF_suricata-verify/mqtt5-sub-customauth/input.pcap",
    "pcaps/OISF_suricata-verify/llmnr/llmnr-udp/input.pcap",
    "pcaps/OISF_suricata-verify/mdns/frag-9_mdns.pcap",
]
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check(fact: Fact) -> None:
    """What every consumer of facts may rely on."""
    if isinstance(fact, Observation):
        assert fact.attribute in ATTRIBUTES, fact
        assert fact.value, fact
        assert len(fact.value) <= MAX_TEXT, fact
        assert fact.value == fact.value.strip(), fact
        assert not _CONTROL.search(fact.value), fact
        assert 0 <= fact.reliability <= 100, fact
        assert fact.ip is not None or fact.mac is not None, fact
        assert fact.ip is None or usable_ip(fact.ip) == fact.ip, fact
        assert fact.mac is None or _MAC.match(fact.mac), fact
        assert fact.source.count("/") >= 1, fact
    else:
        assert isinstance(fact, Activity), fact
        assert fact.category in CATEGORIES, fact
        assert fact.protocol, fact
        assert fact.operation, fact
        assert fact.client_ip or fact.client_mac, fact
        assert fact.server_ip or fact.server_mac, fact
        assert fact.transport in ("tcp", "udp", None), fact


def all_facts(events: list[BaseEvent]) -> list[Fact]:
    found = [f for e in events for f in facts_of(e)]
    for fact in found:
        check(fact)
    return found


@pytest.mark.skipif(DATA is None, reason="needs ../shared/data (the shared capture corpus)")
def test_corpus_events() -> None:
    assert DATA is not None
    paths = [DATA / c for c in CAPTURES if (DATA / c).is_file()]
    paths.append(ROOT / "examples/lab-mixed/capture.pcap")
    assert len(paths) >= 15
    kinds: Counter[str] = Counter()
    total = 0
    for path in paths:
        events = dissect(path, builtin_dissectors(), builtin_frame_dissectors())
        total += len(events)
        for fact in all_facts(list(events)):
            kinds[fact.attribute if isinstance(fact, Observation) else fact.category] += 1
    print(f"\n{len(paths)} captures, {total} events, facts by attribute/category: {dict(kinds)}")
    # the set is chosen to exercise most of the vocabulary
    assert {"vendor", "model", "firmware", "serial", "device_name", "hostname", "ip"} <= set(kinds)
    assert {"read", "write", "control", "diagnostic", "discovery", "session"} <= set(kinds)


FLOW_DISSECTORS = builtin_dissectors()
FRAME_DISSECTORS = builtin_frame_dissectors()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FLOW_DISSECTORS),
    st.lists(st.tuples(st.integers(0, 1), st.binary(max_size=300)), min_size=1, max_size=6),
)
def test_random_payloads_through_flow_dissectors(
    cls: type[Dissector], chunks: list[tuple[int, bytes]]
) -> None:
    port = min(cls.ports) if cls.ports else 9999
    proto = 6 if cls.transport == "tcp" else 17
    d = cls(FlowContext(1, proto, "192.0.2.20", 40000, "192.0.2.10", port))
    events: list[BaseEvent] = []
    for k, (direction, data) in enumerate(chunks):
        # the dissector contract allows the declared errors on fuzzed input: facts of what came
        # first
        with contextlib.suppress(Malformed, NeedMoreData):
            events.extend(d.on_data(direction, data, k * 1_000_000, k + 1))
    all_facts(events)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FRAME_DISSECTORS), st.binary(max_size=300))
def test_random_frames_through_link_dissectors(cls: type[FrameDissector], body: bytes) -> None:
    d = cls()
    ethertype = min(cls.ethertypes)
    frame = ethernet("01:80:c2:00:00:0e", "00:1b:1b:02:9a:c3", ethertype, body)
    ctx = FrameContext(0, 1, "00:1b:1b:02:9a:c3", "01:80:c2:00:00:0e", 0, ethertype, 14, False)
    all_facts(list(d.on_frame(frame, ctx)))


def _mb_identity(values: list[bytes]) -> bytes:
    objects = b"".join(bytes([k, len(v)]) + v for k, v in enumerate(values))
    pdu = bytes([0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, len(values)]) + objects
    return bytes([0, 1, 0, 0]) + (len(pdu) + 1).to_bytes(2, "big") + b"\x01" + pdu


def _lldp(name: bytes, description: bytes) -> bytes:
    def tlv(kind: int, value: bytes) -> bytes:
        return (kind << 9 | len(value)).to_bytes(2, "big") + value

    body = tlv(1, b"\x07chassis") + tlv(5, name) + tlv(6, description) + tlv(0, b"")
    return ethernet("01:80:c2:00:00:0e", "00:1b:1b:02:9a:c3", 0x88CC, body)


HOSTILE = st.binary(max_size=255)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HOSTILE, min_size=1, max_size=7), HOSTILE, HOSTILE)
def test_hostile_identity_strings_are_cleaned(
    objects: list[bytes], name: bytes, description: bytes
) -> None:
    """Valid messages carrying arbitrary bytes where the identity strings go."""
    events: list[BaseEvent] = []
    modbus = ModbusDissector(FlowContext(1, 6, "192.0.2.20", 40000, "192.0.2.10", 502))
    events.extend(modbus.on_data(1, _mb_identity(objects), 1, 1))
    ssh = SshDissector(FlowContext(2, 6, "192.0.2.20", 40000, "192.0.2.10", 22))
    line = b"SSH-2.0-" + name.replace(b"\n", b"").replace(b"\r", b"") + b"\r\n"
    events.extend(ssh.on_data(1, line, 2, 2))
    frame = _lldp(name, description)
    ctx = FrameContext(3, 3, "00:1b:1b:02:9a:c3", "01:80:c2:00:00:0e", 0, 0x88CC, 14, False)
    events.extend(LldpDissector().on_frame(frame, ctx))
    assert events
    all_facts(events)
