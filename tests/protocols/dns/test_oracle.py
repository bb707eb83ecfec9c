"""DNS, mDNS, LLMNR and NBNS against tshark on every corpus capture holding them.

Keys, one per message: DNS-format (dns.* fields, tshark's dns/mdns/llmnr):
(frame, dns.id, dns.flags.response, every dns.qry.name, every dns.qry.type, every dns.a,
every dns.aaaa); NBNS: (frame, nbns.id, nbns.flags.response, every nbns.name in order).

Known differences, explained and not counted:
- SOME/IP-SD captures (someip_sd_sample.pcap, someip1.pcap): tshark decodes SOME/IP on UDP
  30490 as DNS and flags every frame [Malformed Packet]; we (rightly) claim nothing there.
- LLMNR over TCP (suricata-verify llmnr-tcp, llmnr-tcp-reassembly): tshark has no LLMNR on
  TCP 5355 and decodes nothing; those captures are checked against their test.yaml instead.
- tshark appends the NetBIOS service to answer names (``NAME<20> (Server service)``); that
  display suffix is stripped before comparing.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsight.core.events import Event
from otsight.protocols.dns import (
    DnsDissector,
    DnsTcpDissector,
    LlmnrDissector,
    LlmnrTcpDissector,
    MdnsDissector,
    NbnsDissector,
)
from otsight.protocols.dns.events import DnsMessage, LlmnrMessage, MdnsMessage, NbnsMessage
from otsight.testing import tshark
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import dissect

FAMILY = [
    DnsDissector,
    MdnsDissector,
    LlmnrDissector,
    NbnsDissector,
    DnsTcpDissector,
    LlmnrTcpDissector,
]
SV = "pcaps/OISF_suricata-verify/"
ITI = "pcaps/ITI_ICS-Security-Tools/"
DNS_CAPTURES = [
    ITI + "C37.118/C37118/c37118_1100_unclean.pcap",
    ITI + "C37.118/C37118/c37_pmu_unclean.pcap",
    ITI + "MELSEC/melsoft_UDP_unclean_1.pcap",
    ITI + "beckoff/addroute.pcapng",
    ITI + "beckoff/addroute1.pcapng",
    ITI + "beckoff/addrouteuse444444444.pcapng",
    ITI + "beckoff/beckoffaddroute.pcapng",
    ITI + "beckoff/beckoffiplinktc2.pcapng",
    ITI + "beckoff/invokeid12.pcapng",
    ITI + "bro/modbus/modbusSmall.pcap",
    ITI + "profinet/Profinet_Failed.pcap",
    ITI + "s7/S7Comm/wrapup.pcapng",
    SV + "llmnr/llmnr-authority-additional/input.pcap",
    SV + "llmnr/llmnr-hostname-match/input.pcap",
    SV + "llmnr/llmnr-invalid-opcode/input.pcap",
    SV + "llmnr/llmnr-sticky-buffers/input.pcap",
    SV + "llmnr/llmnr-udp/input.pcap",
    SV + "mdns/frag-9_mdns.pcap",
    SV + "sip-method/sip.pcap",
    "pcaps/ntop_nDPI/pcap/alexa-app.pcapng",
    "pcaps/ntop_nDPI/pcap/nest_log_sink.pcap",
]
SOMEIP = [
    "pcaps/ntop_nDPI/pcap/someip_sd_sample.pcap",
    "pcaps/the-tcpdump-group_tcpdump/someip1.pcap",
]
NBNS_CAPTURES = [
    "labelled/antoine-lemay_Modbus_dataset/CnC_uploading_exe_modbus_6RTU_with_operate.pcap",
    "labelled/antoine-lemay_Modbus_dataset/moving_two_files_modbus_6RTU.pcap",
    "labelled/antoine-lemay_Modbus_dataset/send_a_fake_command_modbus_6RTU_with_operate.pcap",
    ITI + "C37.118/C37118/c37118_1100_unclean.pcap",
    ITI + "IEC61850/Sample_File_MMS_and_GOOSE.pcap",
    ITI + "beckoff/addroute.pcapng",
    ITI + "beckoff/addroute1.pcapng",
    ITI + "beckoff/addrouteuse444444444.pcapng",
    ITI + "beckoff/beckoffaddroute.pcapng",
    ITI + "beckoff/beckoffiplink.pcapng",
    ITI + "beckoff/beckoffiplinktc2.pcapng",
    ITI + "beckoff/beckoffiplinktc3.pcapng",
    ITI + "beckoff/invokeid12.pcapng",
    ITI + "openics/EIP-ControlProtocolChangeAttempt.pcap",
    ITI + "openics/EIP-IPAddressChangeAttempt.pcap",
    ITI + "openics/EIP-RemoteModeChangeAttempt.pcap",
    ITI + "openics/EIP-SoftwareUploadFailure.pcap",
    ITI + "s7/S7Comm/wrapup.pcapng",
    SV + "sip-method/sip.pcap",
    "pcaps/ntop_nDPI/pcap/netbios.pcap",
]
DNS_FIELDS = ["frame.number", "dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type"]
DNS_FIELDS += ["dns.a", "dns.aaaa"]
NBNS_FIELDS = ["frame.number", "nbns.id", "nbns.flags.response", "nbns.name"]
Key = tuple[Any, ...]
_SERVICE = re.compile(r" \([^()]*\)$")


def _list(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def _true(text: str) -> bool:
    return text in ("1", "True")


def theirs(path: Path) -> tuple[Counter[Key], Counter[Key]]:
    dns: Counter[Key] = Counter()
    for r in tshark.fields(path, DNS_FIELDS, "dns || mdns || llmnr"):
        if not r[1]:
            continue
        dns[(int(r[0]), int(r[1], 0), _true(r[2]), *map(_list, r[3:7]))] += 1
    nbns: Counter[Key] = Counter()
    for r in tshark.fields(path, NBNS_FIELDS, "nbns"):
        names = tuple(_SERVICE.sub("", n) for n in _list(r[3]))
        nbns[(int(r[0]), int(r[1], 0), _true(r[2]), names)] += 1
    return dns, nbns


def _record_data(e: DnsMessage, code: int) -> tuple[str, ...]:
    return tuple(
        r["data"] for r in e.answers + e.authority + e.additional if r["type_code"] == code
    )


def ours(events: list[Event]) -> tuple[Counter[Key], Counter[Key]]:
    dns: Counter[Key] = Counter()
    nbns: Counter[Key] = Counter()
    for e in events:
        if isinstance(e, NbnsMessage):
            names = tuple(r["name"] for r in e.questions + e.answers + e.authority + e.additional)
            nbns[(e.frame, e.transaction_id, e.is_response, names)] += 1
        elif isinstance(e, DnsMessage):
            names = tuple(q["name"] or "<Root>" for q in e.questions)
            types = tuple(str(q["type_code"]) for q in e.questions)
            key = (e.frame, e.transaction_id, e.is_response, names, types)
            dns[(*key, _record_data(e, 1), _record_data(e, 28))] += 1
    return dns, nbns


def _agreement(a: Counter[Key], b: Counter[Key]) -> tuple[int, int]:
    return max(a.total(), b.total()), (a & b).total()


def test_dns_family_against_tshark() -> None:
    root = shared_data()
    if root is None or not tshark.available():
        pytest.skip("needs ../shared/data (real captures) and tshark")
    totals = {"dns/mdns/llmnr": [0, 0], "nbns": [0, 0]}
    lines = [f"{'capture':50} {'dns-format':>16} {'nbns':>16}"]
    problems = []
    for name in dict.fromkeys(DNS_CAPTURES + NBNS_CAPTURES):
        path = root / name
        if not path.exists():
            continue
        cells = []
        for kind, a, b in zip(totals, ours(dissect(path, FAMILY)), theirs(path), strict=True):
            n, m = _agreement(a, b)
            totals[kind][0] += n
            totals[kind][1] += m
            cells.append(f"{n:>7} {m / n if n else 1:8.2%}")
            if m < n:
                problems.append(
                    f"{name} {kind}: ours-only {list(a - b)[:3]} tshark-only {list(b - a)[:3]}"
                )
        lines.append(f"{name[-50:]:50} {' '.join(cells)}")
    lines.append(f"{'TOTAL':50} " + " ".join(f"{n:>7} {m / n:8.2%}" for n, m in totals.values()))
    print("\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)
    for kind, (n, m) in totals.items():
        assert n > 0, kind
        assert m / n >= 0.99, kind


def test_someip_is_not_dns() -> None:
    """tshark calls SOME/IP-SD on 30490 malformed DNS; nothing here is a DNS message."""
    root = shared_data()
    if root is None:
        pytest.skip("needs ../shared/data (real captures)")
    for name in SOMEIP:
        if (root / name).exists():
            assert dissect(root / name, FAMILY) == []


def _run(rel: str) -> list[Event]:
    root = shared_data()
    if root is None or not (root / rel).exists():
        pytest.skip(f"needs ../shared/data/{rel}")
    return dissect(root / rel, FAMILY)


def test_suricata_verify_llmnr_tcp() -> None:
    """llmnr-tcp/test.yaml: 2 llmnr events over TCP, the query from 192.168.1.50:12345."""
    events = [e for e in _run(SV + "llmnr/llmnr-tcp/input.pcap") if isinstance(e, LlmnrMessage)]
    assert len(events) == 2
    assert all(e.transport == "tcp" for e in events)
    query = [e for e in events if not e.is_response]
    assert [(e.src_ip, e.src_port) for e in query] == [("192.168.1.50", 12345)]


def test_suricata_verify_llmnr_udp_and_hostname() -> None:
    events = _run(SV + "llmnr/llmnr-udp/input.pcap")
    assert [type(e) for e in events] == [LlmnrMessage, LlmnrMessage]
    query, response = events
    assert isinstance(query, LlmnrMessage)
    assert isinstance(response, LlmnrMessage)
    assert response.answers[0]["data"] == "192.168.10.101"
    assert query.questions[0]["name"] == "hs2011"
    hosts = _run(SV + "llmnr/llmnr-hostname-match/input.pcap")
    assert {q["name"] for e in hosts if isinstance(e, DnsMessage) for q in e.questions} == {
        "malicious-c2.local",
        "workstation01.local",
    }


def test_suricata_verify_llmnr_invalid_opcode_still_logged() -> None:
    (event,) = _run(SV + "llmnr/llmnr-invalid-opcode/input.pcap")
    assert isinstance(event, LlmnrMessage)
    assert event.opcode_name.startswith("unknown-")


def test_suricata_verify_mdns() -> None:
    events = [e for e in _run(SV + "mdns/frag-9_mdns.pcap") if isinstance(e, MdnsMessage)]
    assert events
    """mdns/test.yaml: frame 6 response with device-info TXT, frame 11 three PTR queries."""
    (response,) = [e for e in events if e.frame == 6]
    assert response.answers[0]["name"] == "John\u2019s iMac._device-info._tcp.local"
    assert response.answers[0]["txt"] == ["model=iMac17,1", "osxvers=17"]
    assert response.txt == {"model": "iMac17,1", "osxvers": "17"}
    assert response.answers[1]["data"] == "John\u2019s iMac._companion-link._tcp.local"
    (query,) = [e for e in events if e.frame == 11]
    assert [(q["name"], q["type"]) for q in query.questions] == [
        ("_apple-mobdev._tcp.local", "PTR"),
        ("92e80812._sub._apple-mobdev2._tcp.local", "PTR"),
        ("_apple-pairable._tcp.local", "PTR"),
    ]


def test_suricata_verify_llmnr_authority_additional() -> None:
    """llmnr-authority-additional: 4 UDP llmnr events; rules match authority ``local``,
    additional ``ns.local`` (1 each), question ``testhost.local`` (2), answer ``server.local``."""
    events = [
        e
        for e in _run(SV + "llmnr/llmnr-authority-additional/input.pcap")
        if isinstance(e, LlmnrMessage)
    ]
    assert len(events) == 4
    assert sum(any(r["name"] == "local" for r in e.authority) for e in events) == 1
    assert sum(any(r["name"] == "ns.local" for r in e.additional) for e in events) == 1
    assert sum(any(q["name"] == "testhost.local" for q in e.questions) for e in events) == 2
    assert sum(any(r["name"] == "server.local" for r in e.answers) for e in events) == 1
