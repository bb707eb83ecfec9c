"""EtherNet/IP + CIP against tshark on every corpus capture holding ENIP.

Three comparisons, each a multiset keyed by frame number:
- encapsulation: (frame, enip.command, enip.session), one per encapsulation message;
- identity: (frame, enip.lir.vendor, .prodcode, .serial, .name, .revision), one per item;
- CIP: one per frame holding CIP: (frame, every cip.sc in order, first cip.class, first
  cip.instance, first cip.attribute of request frames, every cip.genstat). tshark lists the
  services embedded in multiple-service-packet / unconnected-send after the outer one, as we
  emit them; it puts a connected message's Forward Open target path first (our
  ``connection_path``) and an unconnected-send reply's outer Connection Manager path
  (class 6, instance 1) first, so those are prepended on our side. ``cip.attribute`` of
  replies is left out: tshark fills it from decoded reply data of known classes.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from otsight.protocols.enip.events import CipRequest, CipResponse, EnipListIdentity, EnipMessage
from otsight.testing import tshark
from otsight.testing.corpus import shared_data

from .helpers import run

CAPTURES = [
    "pcaps/ITI_ICS-Security-Tools/CIP/cip_only.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/EthernetIP-CIP.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/cip-eth-set-2.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/cip-multiple-1.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/cip-multiple-2.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/cip_start_plc.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/cip_stop_plc.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/cip_unlock_cpu.pcap",
    "pcaps/ITI_ICS-Security-Tools/EthernetIP/enip_test.pcap",
    "pcaps/ITI_ICS-Security-Tools/ModbusTCP/mb2.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-ChangeDateAttempt.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-ChangePortConfigurationAttempt.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-ChangeTimeAttempt.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-FirmwareChange.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-FirmwareChangeFailure.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-IPAddressChangeAttempt.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-LockPLCAttempt.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-RebootorRestart.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-RemoteModeChangeAttempt.pcap",
    "pcaps/ITI_ICS-Security-Tools/openics/EIP-SoftwareUpload.pcap",
    "pcaps/OISF_suricata-verify/enip-alert/enip_test1.pcap",
    "pcaps/OISF_suricata-verify/enip-keywords/enip_cip_example.pcap",
    "pcaps/ntop_nDPI/pcap/cip_io.pcap",  # CIP I/O on UDP 2222 only: no encapsulation header
    "pcaps/ntop_nDPI/pcap/ethernetIP.pcap",
]
FIELDS = [
    "frame.number",
    "enip.command",
    "enip.session",
    "enip.lir.vendor",
    "enip.lir.prodcode",
    "enip.lir.serial",
    "enip.lir.name",
    "enip.lir.revision",
    "cip.sc",
    "cip.class",
    "cip.instance",
    "cip.attribute",
    "cip.genstat",
]
Key = tuple[Any, ...]


def _int(text: str) -> int:
    return int(text, 0)


def _first(text: str) -> int | None:
    return _int(text.split(",", maxsplit=1)[0]) if text else None


def theirs(path: Path) -> tuple[Counter[Key], Counter[Key], Counter[Key]]:
    enip: Counter[Key] = Counter()
    ident: Counter[Key] = Counter()
    cip: Counter[Key] = Counter()
    for row in tshark.fields(path, FIELDS, display_filter="enip"):
        d = dict(zip(FIELDS, row, strict=True))
        frame = int(d["frame.number"])
        commands = [_int(x) for x in d["enip.command"].split(",") if x]
        sessions = [_int(x) for x in d["enip.session"].split(",") if x]
        for command, session in zip(commands, sessions, strict=False):
            enip[(frame, command, session)] += 1
        if d["enip.lir.vendor"]:
            cols = [d[k].split(",") for k in FIELDS[3:8]]
            for v, p, s, n, r in zip(*cols, strict=False):
                ident[(frame, _int(v), _int(p), _int(s), n, _int(r))] += 1
        if d["cip.sc"]:
            statuses = tuple(_int(x) for x in d["cip.genstat"].split(",") if x)
            cip[
                (
                    frame,
                    tuple(_int(x) for x in d["cip.sc"].split(",")),
                    _first(d["cip.class"]),
                    _first(d["cip.instance"]),
                    None if statuses else _first(d["cip.attribute"]),
                    statuses,
                )
            ] += 1
    return enip, ident, cip


_CLASS = re.compile(r"class (0x[0-9a-f]+)")
_INSTANCE = re.compile(r"instance (\d+)")


def ours(path: Path) -> tuple[Counter[Key], Counter[Key], Counter[Key]]:
    enip: Counter[Key] = Counter()
    ident: Counter[Key] = Counter()
    per: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for e in run(path):
        if isinstance(e, EnipMessage):
            enip[(e.frame, e.command, e.session_handle)] += 1
        elif isinstance(e, EnipListIdentity):
            revision = e.revision_major << 8 | e.revision_minor
            serial = int(e.serial_number, 16)
            ident[(e.frame, e.vendor_id, e.product_code, serial, e.product_name, revision)] += 1
        elif isinstance(e, CipRequest | CipResponse):
            p = per[e.frame]
            p["sc"].append(e.service_code)
            if e.connection_path and e.parent_service is None:
                if m := _CLASS.search(e.connection_path):
                    p["cls"].append(int(m.group(1), 16))
                if m := _INSTANCE.search(e.connection_path):
                    p["inst"].append(int(m.group(1)))
            if isinstance(e, CipResponse):
                p["gs"].append(e.general_status)
                if e.parent_service == "unconnected-send":
                    p["cls"].append(0x06)
                    p["inst"].append(1)
            else:
                if e.attribute is not None:
                    p["attr"].append(e.attribute)
                p["attr"].extend(e.attributes or ())
            if e.class_id is not None:
                p["cls"].append(e.class_id)
            if e.instance is not None:
                p["inst"].append(e.instance)
    cip: Counter[Key] = Counter()
    for frame, p in per.items():
        first: dict[str, int | None] = {
            k: p[k][0] if p[k] else None for k in ("cls", "inst", "attr")
        }
        attr = None if p["gs"] else first["attr"]
        cip[(frame, tuple(p["sc"]), first["cls"], first["inst"], attr, tuple(p["gs"]))] += 1
    return enip, ident, cip


def agreement(a: Counter[Key], b: Counter[Key]) -> tuple[int, float]:
    n = max(a.total(), b.total())
    return n, ((a & b).total() / n if n else 1.0)


def test_enip_against_tshark() -> None:
    root = shared_data()
    if root is None or not tshark.available():
        pytest.skip("needs ../shared/data and tshark")
    totals = {"enip": [0, 0], "identity": [0, 0], "cip": [0, 0]}
    lines = [f"{'capture':45} {'enip':>13} {'identity':>13} {'cip':>13}"]
    problems = []
    for name in CAPTURES:
        path = root / name
        if not path.exists():
            continue
        cells = []
        for kind, a, b in zip(totals, ours(path), theirs(path), strict=True):
            n, agree = agreement(a, b)
            totals[kind][0] += n
            totals[kind][1] += round(agree * n)
            cells.append(f"{n:>6} {agree:6.2%}")
            if agree < 0.99:
                problems.append(
                    f"{name} {kind}: ours-only {list((a - b).items())[:3]} "
                    f"tshark-only {list((b - a).items())[:3]}"
                )
        lines.append(f"{Path(name).name[:45]:45} {' '.join(cells)}")
    lines.append(
        f"{'TOTAL':45} "
        + " ".join(f"{n:>6} {(m / n if n else 1):6.2%}" for n, m in totals.values())
    )
    print("\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)
    for kind, (n, m) in totals.items():
        assert n > 0, kind
        assert m / n >= 0.99, kind


def test_suricata_verify_enip_keywords() -> None:
    """suricata-verify enip-keywords/test.yaml: 267 packets with enip_command 112, 2 with 99,
    41 request packets with cip_service 10 (Suricata 7), 81 counting replies (Suricata 8)."""
    root = shared_data()
    name = "pcaps/OISF_suricata-verify/enip-keywords/enip_cip_example.pcap"
    if root is None or not (root / name).exists():
        pytest.skip("needs ../shared/data")
    events = run(root / name)
    messages = [e for e in events if isinstance(e, EnipMessage)]
    assert sum(e.command == 112 for e in messages) == 267
    assert sum(e.command == 99 for e in messages) == 2
    cip = [e for e in events if isinstance(e, CipRequest | CipResponse) and e.service_code == 10]
    assert len({e.frame for e in cip if isinstance(e, CipRequest)}) == 41
    assert len({e.frame for e in cip}) == 81
