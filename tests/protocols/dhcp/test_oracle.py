"""DHCP and DHCPv6 against tshark on every corpus capture holding them, plus the
suricata-verify dhcp-* expectations.

Keys, one per message. DHCP: (frame, dhcp.id, first dhcp.hw.mac_addr, dhcp.option.dhcp,
dhcp.option.hostname, dhcp.option.vendor_class_id, every dhcp.option.request_list_item in
order). tshark repeats dhcp.hw.mac_addr when option 61 carries a MAC, so the first is used.
DHCPv6: (frame, dhcpv6.msgtype, innermost dhcpv6.xid, first dhcpv6.duid.bytes, every
dhcpv6.requested_option_code).

Known difference, explained and not counted: dhcp-rfc4388.pcap frames 43 and 44 are
tcpdump test vectors with the magic cookie shifted off offset 236; tshark decodes them as
BOOTP flagged [Malformed Packet]; we do not call them DHCP (no cookie where it must be).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsight.core.events import Event
from otsight.protocols.dhcp import DhcpDissector, Dhcpv6Dissector
from otsight.protocols.dhcp.events import DhcpMessage, Dhcpv6Message
from otsight.testing import tshark
from otsight.testing.corpus import shared_data
from otsight.testing.protocol_oracle import dissect

SV = "pcaps/OISF_suricata-verify/"
TD = "pcaps/the-tcpdump-group_tcpdump/"
ITI = "pcaps/ITI_ICS-Security-Tools/"
DHCP_CAPTURES = [
    ITI + "openics/EIP-FirmwareChange.pcap",
    ITI + "openics/EIP-IPAddressChangeAttempt.pcap",
    SV + "dhcp-eve-extended-option-60/input.pcap",
    SV + "dhcp-eve-extended/input.pcap",
    SV + "dhcp-option-52-overload-both/input.pcap",
    SV + "dhcp-option-52-overload/input.pcap",
    SV + "dhcp-request-flood/test.pcap",
    SV + "sip-method/sip.pcap",
    "pcaps/ntop_nDPI/pcap/alexa-app.pcapng",
    "pcaps/ntop_nDPI/pcap/dhcp-fuzz.pcapng",
    TD + "dhcp-mud.pcap",
    TD + "dhcp-option-108.pcapng",
    TD + "dhcp-option-33.pcap",
    TD + "dhcp-rfc3004.pcap",
    TD + "dhcp-rfc4388.pcap",
    TD + "dhcp-rfc5859.pcap",
]
DHCPV6_CAPTURES = [
    "labelled/antoine-lemay_Modbus_dataset/characterization_modbus_6RTU_with_operate.pcap",
    "labelled/antoine-lemay_Modbus_dataset/send_a_fake_command_modbus_6RTU_with_operate.pcap",
    ITI + "beckoff/addroute.pcapng",
    ITI + "beckoff/addroute1.pcapng",
    ITI + "beckoff/addrouteuse444444444.pcapng",
    ITI + "beckoff/beckoffiplink.pcapng",
    ITI + "beckoff/beckoffiplinktc2.pcapng",
    ITI + "beckoff/invokeid12.pcapng",
    ITI + "s7/S7Comm/wrapup.pcapng",
    TD + "dhcpv6-ia-na.pcap",
    TD + "dhcpv6-mud.pcap",
    TD + "dhcpv6-vendor-specific-information.pcap",
]
KNOWN = {(TD + "dhcp-rfc4388.pcap", 43), (TD + "dhcp-rfc4388.pcap", 44)}
V4_FIELDS = ["frame.number", "dhcp.id", "dhcp.hw.mac_addr", "dhcp.option.dhcp"]
V4_FIELDS += ["dhcp.option.hostname", "dhcp.option.vendor_class_id"]
V4_FIELDS += ["dhcp.option.request_list_item"]
V6_FIELDS = ["frame.number", "dhcpv6.msgtype", "dhcpv6.xid", "dhcpv6.duid.bytes"]
V6_FIELDS += ["dhcpv6.requested_option_code"]
Key = tuple[Any, ...]


def _ints(text: str) -> tuple[int, ...] | None:
    return tuple(int(x, 0) for x in text.split(",")) if text else None


def theirs(name: str, path: Path) -> tuple[Counter[Key], Counter[Key]]:
    v4: Counter[Key] = Counter()
    for r in tshark.fields(path, V4_FIELDS, "dhcp"):
        frame = int(r[0])
        if (name, frame) in KNOWN:
            continue
        mtype = int(r[3].split(",")[0]) if r[3] else None
        v4[(frame, int(r[1], 0), r[2].split(",")[0] or None, mtype, r[4] or None, r[5] or None,
            _ints(r[6]))] += 1  # fmt: skip
    v6: Counter[Key] = Counter()
    for r in tshark.fields(path, V6_FIELDS, "dhcpv6"):
        xid = int(r[2].split(",")[-1], 0) if r[2] else None
        duid = r[3].split(",")[0].replace(":", "") or None
        v6[(int(r[0]), int(r[1].split(",")[0]), xid, duid, _ints(r[4]))] += 1
    return v4, v6


def ours(events: list[Event]) -> tuple[Counter[Key], Counter[Key]]:
    v4: Counter[Key] = Counter()
    v6: Counter[Key] = Counter()
    for e in events:
        if isinstance(e, DhcpMessage):
            v4[(e.frame, e.transaction_id, e.client_mac, e.message_type, e.hostname,
                e.vendor_class, e.parameter_request_list)] += 1  # fmt: skip
        elif isinstance(e, Dhcpv6Message):
            v6[(e.frame, e.message_type, e.transaction_id, e.client_duid, e.option_request)] += 1
    return v4, v6


def test_dhcp_against_tshark() -> None:
    root = shared_data()
    if root is None or not tshark.available():
        pytest.skip("needs ../shared/data (real captures) and tshark")
    totals = {"dhcp": [0, 0], "dhcpv6": [0, 0]}
    lines = [f"{'capture':50} {'dhcp':>16} {'dhcpv6':>16}"]
    problems = []
    for name in dict.fromkeys(DHCP_CAPTURES + DHCPV6_CAPTURES):
        path = root / name
        if not path.exists():
            continue
        pairs = zip(
            totals, ours(dissect(path, [DhcpDissector, Dhcpv6Dissector])), theirs(name, path),
            strict=True,
        )  # fmt: skip
        cells = []
        for kind, a, b in pairs:
            n, m = max(a.total(), b.total()), (a & b).total()
            totals[kind][0] += n
            totals[kind][1] += m
            cells.append(f"{n:>7} {m / n if n else 1:8.2%}")
            if m < n:
                problems.append(f"{name} {kind}: ours-only {list(a - b)[:3]} "
                                f"tshark-only {list(b - a)[:3]}")  # fmt: skip
        lines.append(f"{name[-50:]:50} {' '.join(cells)}")
    lines.append(f"{'TOTAL':50} " + " ".join(f"{n:>7} {m / n:8.2%}" for n, m in totals.values()))
    print("\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)
    for kind, (n, m) in totals.items():
        assert n > 0, kind
        assert m / n >= 0.99, kind


def _run(rel: str) -> list[DhcpMessage]:
    root = shared_data()
    if root is None or not (root / rel).exists():
        pytest.skip(f"needs ../shared/data/{rel}")
    return [e for e in dissect(root / rel, [DhcpDissector]) if isinstance(e, DhcpMessage)]


def test_suricata_verify_option_52_overload() -> None:
    """dhcp-option-52-overload/test.yaml: frames 4 and 7 carry routers and DNS servers in the
    overloaded sname field; frames 3 and 8 carry them inline."""
    by_frame = {e.frame: e for e in _run(SV + "dhcp-option-52-overload/input.pcap")}
    for frame, kind, address in ((4, "offer", "10.100.0.2"), (7, "ack", "10.100.0.2"),
                                 (3, "offer", "10.100.0.1"), (8, "ack", "10.100.0.1")):  # fmt: skip
        e = by_frame[frame]
        assert e.message_type_name == kind
        assert e.dns_servers is not None
        assert e.dns_servers[0] == address
        assert e.routers is not None
        assert e.routers[0] == address
    assert by_frame[4].overload == 2


def test_suricata_verify_option_52_overload_both() -> None:
    (e,) = _run(SV + "dhcp-option-52-overload-both/input.pcap")
    assert (e.op, e.message_type_name, e.transaction_id) == ("request", "discover", 2888761343)
    assert e.client_mac == "00:00:6c:82:dc:4e"
    assert e.lease_time == 3600
    assert e.overload == 3
    assert e.malformed_options == 0


def test_suricata_verify_eve_extended() -> None:
    request, ack = _run(SV + "dhcp-eve-extended/input.pcap")
    assert (request.src_ip, request.src_port, request.dst_port) == ("10.16.1.4", 68, 67)
    assert request.client_id == "01001132" + "1749f0"
    assert request.hostname == "nas1"  # suricata keeps the trailing NUL: "nas1\u0000"
    assert request.parameter_request_list is not None
    assert request.parameter_request_list[:4] == (1, 28, 2, 3)
    assert request.transaction_id == ack.transaction_id == 4016330564
    assert ack.message_type_name == "ack"
    assert ack.yiaddr == "10.16.1.4"
    assert ack.siaddr == "10.16.1.1"
    assert ack.lease_time == 3600
    assert ack.routers == ("10.16.1.1",)
    assert ack.subnet_mask == "255.255.0.0"


def test_suricata_verify_option_60() -> None:
    (e,) = _run(SV + "dhcp-eve-extended-option-60/input.pcap")
    assert e.vendor_class == "MSFT 5.0"
