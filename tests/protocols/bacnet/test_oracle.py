"""BACnet/IP against tshark on every corpus capture holding it, per message: BVLC function,
NPDU control, APDU type, service, invoke id and the first object type, instance and property
identifier tshark shows; and against nDPI's per-flow classification. The datagrams of zero
length sent to 47808 in bacnet_test.pcap are neither BACnet for tshark nor for us."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import pytest

from otsight.core.events import Event
from otsight.protocols.bacnet.dissector import BacnetDissector
from otsight.protocols.bacnet.events import BacnetIAm, BacnetMessage
from otsight.testing import tshark
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import compare

from .helpers import run

DATA = shared_data()
needs_corpus = pytest.mark.skipif(
    DATA is None or not tshark.available(), reason="shared corpus or tshark not available"
)
CAPTURES = [
    "pcaps/ITI_ICS-Security-Tools/BACnet/bacnet_test.pcap",
    "pcaps/ntop_nDPI/pcap/bacnet.pcap",
]
FIELDS = [
    "bvlc.function",
    "bacnet.control",
    "bacapp.type",
    "bacapp.confirmed_service",
    "bacapp.unconfirmed_service",
    "bacapp.invoke_id",
    "bacapp.instance_number",
    "bacapp.objectType",
    "bacapp.property_identifier",
]


def _first(text: str) -> int | None:
    if not text:
        return None
    v = text.split(",", maxsplit=1)[0]
    return int(v, 16) if v.startswith("0x") else int(v)


def tshark_keys(row: list[str]) -> Iterable[Hashable]:
    frame, *values = row
    vals = [_first(v) for v in values]
    service = vals[3] if vals[3] is not None else vals[4]
    return [(int(frame), vals[0], vals[1], vals[2], service, *vals[5:])]


def event_key(e: Event) -> Hashable | None:
    if not isinstance(e, BacnetMessage):
        return None
    return (
        e.frame,
        e.bvlc_function,
        e.npdu_control,
        e.apdu_type,
        e.service_choice,
        e.invoke_id,
        e.object_instance,
        e.object_type,
        e.property_id,
    )


@needs_corpus
def test_agrees_with_tshark_on_every_bacnet_capture() -> None:
    assert DATA is not None
    total_n = total_matched = 0
    print(f"\n{'capture':55} {'ours':>5} {'tshark':>6} {'agree':>6}")
    for name in CAPTURES:
        path = DATA / name
        a = compare(path, [BacnetDissector], FIELDS, tshark_keys, event_key, "bvlc")
        print(f"{name:55} {a.ours:5} {a.theirs:6} {a.ratio:6.3f} {a.only_ours} {a.only_theirs}")
        total_n += a.compared
        total_matched += a.matched
    print(f"BACnet messages compared {total_n}, agreement {total_matched / total_n:.4f}")
    assert total_n >= 45
    assert total_matched / total_n >= 0.99


@needs_corpus
def test_flows_agree_with_ndpi() -> None:
    assert DATA is not None
    expected = set()
    for line in (DATA / "pcaps/ntop_nDPI/result/bacnet.pcap.out").read_text().splitlines():
        parts = line.split()
        if len(parts) > 4 and parts[1] == "UDP" and "/BACnet]" in line:
            expected.add((parts[2], parts[4]))
    assert len(expected) == 10
    events = run(DATA / "pcaps/ntop_nDPI/pcap/bacnet.pcap")
    ours = {(f"{e.src_ip}:{e.src_port}", f"{e.dst_ip}:{e.dst_port}") for e in events}
    assert ours == expected


@needs_corpus
def test_device_identity_from_the_corpus() -> None:
    assert DATA is not None
    events = run(DATA / CAPTURES[0])
    acks = {
        e.property_name: e.value
        for e in events
        if isinstance(e, BacnetMessage) and e.apdu_type_name == "complex-ack"
    }
    assert acks["model-name"] == "MS-NAE4510-2"
    assert acks["vendor-name"] == "JCI"
    assert acks["firmware-revision"] == "5.1.0.4400"
    assert acks["object-name"] == "KBRNAE"
    assert acks["object-identifier"] == "device,500"
    iams = [e for e in run(DATA / CAPTURES[1]) if isinstance(e, BacnetIAm)]
    assert {(i.device_instance, i.vendor_name) for i in iams} == {
        (0, "BACnet Stack at SourceForge"),
        (4194303, "BACnet Stack at SourceForge"),
    }
