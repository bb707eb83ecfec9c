"""Identity strings against tshark: every corpus capture holding Modbus 43/14 responses, CIP
ListIdentity items, S7 SZL identification, BACnet device properties or Profinet DCP identities.

Both sides are reduced to a multiset of (frame, address, attribute, value): ours from
``facts_of`` over the events of the protocol's dissector, tshark's from its PDML decoding of the
same frames, mapped to attributes by the rules the extractors document (object/record/property
ids). Values are compared with surrounding whitespace trimmed (tshark keeps the space padding of
fixed-width fields; the facts drop it). Vendor and device-type *names* come from otsight's code
tables while Wireshark has its own spellings ("Siemens Schweiz AG (Formerly: Landis & Staefa
Division Europe)"), so for those the id tshark decodes is compared, through our table.
Agreement per protocol is matched / max(ours, theirs): missing and extra strings both count.
Run with ``-s`` for the table.

Where the two sides are made comparable (none of these is counted as a difference):
- padding: S7 order numbers ("6ES7 315-2EH14-0AB0 "), a DCP station name ending in a space
  ("%n%n%n ", a format-string probe in profinet-wireshark-bug.pcap) are trimmed by the facts;
- CIP revision: tshark prints minor revisions zero-padded ("4.03"), the dissector as a number
  ("4.3"); compared as (major, minor);
- S7 versions: tshark shows the raw ausbg/ausbe words, turned into "V3.2.7" by the SZL rule
  ('V' in the high byte of ausbg) the parser applies;
- BACnet: acks from behind a BACnet router and I-Am vendors missing from otsight's table give
  no facts (documented in facts.bacnet), so they are not expected from tshark either.
Figures when written (tshark 4.0, 15 captures with identity strings): Modbus 43/14 153 strings,
CIP ListIdentity 240, S7 SZL 54, BACnet 82, DCP 8: agreement 1.0000 in all, no residual
difference to explain. The Modbus strings all come from examples/lab-mixed: the corpus holds
43/14 requests (modbus_test_data_part1.pcap, suricata-verify modbus.pcap) but no responses.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from otsight.inventory.facts import facts_of
from otsight.inventory.facts._common import usable_ip
from otsight.inventory.model import Observation
from otsight.protocols.bacnet.codes import vendor_name as bacnet_vendor
from otsight.protocols.bacnet.dissector import BacnetDissector
from otsight.protocols.base import Dissector, FrameDissector
from otsight.protocols.dcp.dissector import DcpDissector
from otsight.protocols.enip.codes import device_type_name, vendor_name
from otsight.protocols.enip.dissector import EnipDissector, EnipUdpDissector
from otsight.protocols.modbus.dissector import ModbusDissector
from otsight.protocols.s7comm.dissector import S7Dissector
from otsight.testing import tshark
from otsight.testing.corpus import catalog_captures, shared_data
from otsight.testing.protocol_oracle import dissect

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(not tshark.available(), reason="needs tshark"),
]
DATA = shared_data()
LAB = Path(__file__).resolve().parents[3] / "examples/lab-mixed/capture.pcap"
BAR = 0.99

Key = tuple[int, str, str, str]  # frame, ip or mac, attribute, value


# --------------------------------------------------------------------------- tshark's side
@dataclass
class Packet:
    number: int
    tree: ET.Element

    def first(self, name: str) -> str | None:
        node = self.tree.find(f".//field[@name='{name}']")
        return None if node is None else node.get("show")

    def all(self, name: str) -> list[str]:
        return [n.get("show", "") for n in self.tree.iterfind(f".//field[@name='{name}']")]

    def all_shownames(self, name: str) -> list[str]:
        return [n.get("showname", "") for n in self.tree.iterfind(f".//field[@name='{name}']")]


def pdml(path: Path, display_filter: str) -> Iterator[Packet]:
    assert tshark.TSHARK is not None
    cmd = [tshark.TSHARK, "-n", "-r", str(path), "-Y", display_filter, "-T", "pdml"]
    out = subprocess.run(cmd, capture_output=True, check=False).stdout
    if not out.strip():
        return
    for packet in ET.fromstring(out).iter("packet"):
        number = packet.find(".//field[@name='frame.number']")
        assert number is not None
        yield Packet(int(number.get("show", "0")), packet)


def _int(text: str | None) -> int | None:
    return int(text, 0) if text else None


def _strip(text: str | None) -> str:
    return (text or "").strip()


def _version(ausbg: int, ausbe: int) -> str | None:
    """SZL 0x0011 version words: 'V' and major in ausbg, minor and patch in ausbe."""
    return f"V{ausbg & 0xFF}.{ausbe >> 8}.{ausbe & 0xFF}" if ausbg >> 8 == 0x56 else None


MODBUS_OBJECTS = {0: "vendor", 1: "product_code", 2: "firmware", 4: "model", 5: "model"}
MODBUS_OBJECTS[6] = "application"  # object 3 (vendor URL) and private objects are not facts


def theirs_modbus(packets: Iterable[Packet]) -> Iterator[Key]:
    for p in packets:
        ip = p.first("ip.src") or ""
        for obj in p.tree.iter("field"):
            oid = obj.find("field[@name='modbus.object_id']")
            value = obj.find("field[@name='modbus.object_str_value']")
            if oid is None or value is None:
                continue
            attribute = MODBUS_OBJECTS.get(int(oid.get("show", "-1")))
            if attribute and _strip(value.get("show")):
                yield (p.number, ip, attribute, _strip(value.get("show")))


ENIP_FIELDS = ("sinaddr", "lir.vendor", "lir.devtype", "lir.name", "lir.prodcode", "lir.serial")


def theirs_enip(packets: Iterable[Packet]) -> Iterator[Key]:
    for p in packets:
        columns = [p.all(f"enip.{name}") for name in ENIP_FIELDS]
        revisions = [
            (showname or "").rpartition(" ")[2] for showname in p.all_shownames("enip.lir.revision")
        ]
        for (address, vid, devtype, name, code, serial), revision in zip(
            zip(*columns, strict=True), revisions, strict=True
        ):
            ip = usable_ip(address) or p.first("ip.src") or ""
            vendor = vendor_name(_int(vid) or 0)
            if not vendor.startswith("unknown-"):
                yield (p.number, ip, "vendor", vendor)
            kind = device_type_name(_int(devtype) or 0)
            if not kind.startswith("unknown-"):
                yield (p.number, ip, "device_type", kind)
            if _strip(name):
                yield (p.number, ip, "model", _strip(name))
            yield (p.number, ip, "product_code", str(_int(code)))
            yield (p.number, ip, "serial", f"{_int(serial):08x}")
            # tshark prints the revision "4.03"; the identity item holds major 4, minor 3
            major, _, minor = revision.partition(".")
            yield (p.number, ip, "firmware", f"{int(major)}.{int(minor)}")


S7_001C = {
    "s7comm.szl.001c.0001.name": "device_name",
    "s7comm.szl.001c.0002.name": "application",
    "s7comm.szl.001c.0005.serialn": "serial",
    "s7comm.szl.001c.0007.cputypname": "model",
}


def theirs_s7(packets: Iterable[Packet]) -> Iterator[Key]:
    """SZL 0x0011: the order number of record 1 (record 6's if there is none), the versions of
    records 6 (hardware) and 7 (firmware); SZL 0x001C: names, serial and module type."""
    for p in packets:
        ip = p.first("ip.src") or ""
        module: dict[str, str] = {}  # one value per attribute and response, as in the SZL
        for record in p.tree.iter("field"):
            if record.get("name") != "s7comm.data.userdata.szl_data_tree":
                continue
            values = {f.get("name", ""): f.get("show", "") for f in record}
            for name, attribute in S7_001C.items():
                if _strip(values.get(name)):
                    yield (p.number, ip, attribute, _strip(values[name]))
            index = _int(values.get("s7comm.szl.xy11.0001.index"))
            mlfb = _strip(values.get("s7comm.szl.xy11.0001.anz"))
            version = _version(
                _int(values.get("s7comm.szl.xy11.0001.ausbg")) or 0,
                _int(values.get("s7comm.szl.xy11.0001.ausbe")) or 0,
            )
            if index == 1 and mlfb:
                module["model"] = mlfb
            elif index == 6 and mlfb:
                module.setdefault("model", mlfb)
            if index == 6 and version:
                module["hardware_version"] = version
            elif index == 7 and version:
                module["firmware"] = version
        for attribute, value in module.items():
            yield (p.number, ip, attribute, value)


BACNET_STRINGS = {
    "vendor-name": "vendor",
    "model-name": "model",
    "firmware-revision": "firmware",
    "application-software-version": "application",
    "object-name": "device_name",
}
_BACNET_VALUE = re.compile(r"^([a-z-]+): (?:[^']*?)'(.*)'$", re.S)
_BACNET_UNSIGNED = re.compile(r"^vendor-identifier: \(Unsigned\) (\d+)$")


def theirs_bacnet(packets: Iterable[Packet]) -> Iterator[Key]:
    for p in packets:
        if p.first("bacapp.type") is None:
            continue
        if p.first("bacnet.control_src") == "1":
            continue  # from behind a BACnet router: no IP of its own (see facts.bacnet)
        ip = p.first("bvlc.fwd_ip") or p.first("ip.src") or ""
        if p.first("bacapp.unconfirmed_service") == "0":  # I-Am
            vendor = bacnet_vendor(_int(p.first("bacapp.vendor_identifier")) or -1)
            if vendor:
                yield (p.number, ip, "vendor", vendor)
            continue
        if p.first("bacapp.type") != "3" or p.first("bacapp.confirmed_service") != "12":
            continue  # read-property acks
        if p.first("bacapp.objectType") != "8":  # a device object's properties only
            continue
        for node in p.tree.iter("field"):
            show = node.get("show", "")
            if node.get("name") == "bacapp.object_name" and _strip(show):
                yield (p.number, ip, "device_name", _strip(show))
            elif node.get("name") == "" and (m := _BACNET_VALUE.match(show)):
                attribute = BACNET_STRINGS.get(m.group(1))
                if attribute and attribute != "device_name" and _strip(m.group(2)):
                    yield (p.number, ip, attribute, _strip(m.group(2)))
            elif node.get("name") == "" and (m := _BACNET_UNSIGNED.match(show)):
                vendor = bacnet_vendor(int(m.group(1)))
                if vendor:
                    yield (p.number, ip, "vendor", vendor)


def theirs_dcp(packets: Iterable[Packet]) -> Iterator[Key]:
    for p in packets:
        mac = p.first("eth.src") or ""
        stype, service = p.first("pn_dcp.service_type"), p.first("pn_dcp.service_id")
        if stype is None or stype == "5" or (stype == "0" and service != "6"):
            continue  # not DCP, response-unsupported, or a request other than Hello
        for name, attribute in (
            ("pn_dcp.suboption_device_nameofstation", "device_name"),
            ("pn_dcp.suboption_device_devicevendorvalue", "model"),
        ):
            if _strip(p.first(name)):
                yield (p.number, mac, attribute, _strip(p.first(name)))
        vendor = _int(p.first("pn_dcp.suboption_vendor_id"))
        device = _int(p.first("pn_dcp.suboption_device_id"))
        if vendor is not None and device is not None:
            yield (p.number, mac, "product_code", f"{vendor:#06x}:{device:#06x}")
        if ip := usable_ip(p.first("pn_dcp.suboption_ip_ip")):
            yield (p.number, mac, "ip", ip)


@dataclass(frozen=True)
class Spec:
    protocol: str
    catalog: tuple[str, ...]  # CATALOG.md protocol names whose captures may hold it
    lab: bool  # examples/lab-mixed holds it too
    display_filter: str
    theirs: Callable[[Iterable[Packet]], Iterator[Key]]
    flow: tuple[type[Dissector], ...]
    frames: tuple[type[FrameDissector], ...]
    source: str
    attributes: frozenset[str]


SPECS = [
    Spec(
        "modbus 43/14",
        ("modbus",),
        True,
        "modbus.mei == 14 && modbus.object_id",
        theirs_modbus,
        (ModbusDissector,),
        (),
        "modbus/",
        frozenset(MODBUS_OBJECTS.values()),
    ),
    Spec(
        "cip list-identity",
        ("enip",),  # every CIP capture is an EtherNet/IP one
        False,
        "enip.lir.vendor",
        theirs_enip,
        (EnipDissector, EnipUdpDissector),
        (),
        "enip/",
        frozenset({"vendor", "device_type", "model", "product_code", "serial", "firmware"}),
    ),
    Spec(
        "s7 szl",
        ("s7comm",),
        False,
        "s7comm.szl.xy11.0001.index || s7comm.szl.001c.000x.index",
        theirs_s7,
        (S7Dissector,),
        (),
        "s7comm/",
        frozenset(
            {"model", "hardware_version", "firmware", "device_name", "application", "serial"}
        ),
    ),
    Spec(
        "bacnet device",
        ("bacnet",),
        True,
        "(bacapp.type == 3 && bacapp.confirmed_service == 12) || bacapp.unconfirmed_service == 0",
        theirs_bacnet,
        (BacnetDissector,),
        (),
        "bacnet/",
        frozenset(BACNET_STRINGS.values()),
    ),
    Spec(
        "profinet dcp",
        ("profinet",),  # tshark's hierarchy (the catalogue) names DCP frames PROFINET
        False,
        "pn_dcp.service_type != 0 || pn_dcp.service_id == 6",
        theirs_dcp,
        (),
        (DcpDissector,),
        "pn_dcp/",
        frozenset({"device_name", "model", "product_code", "ip"}),
    ),
]


@dataclass
class Tally:
    captures: int = 0  # captures holding identity strings (on either side)
    ours: int = 0
    theirs: int = 0
    matched: int = 0
    differences: list[tuple[str, list[Key], list[Key]]] = field(default_factory=list)

    @property
    def compared(self) -> int:
        return max(self.ours, self.theirs)

    @property
    def agreement(self) -> float:
        return self.matched / self.compared if self.compared else 1.0


def _captures() -> list[Path]:
    """Every capture the catalogue lists with one of the protocols (each is searched for every
    kind of identity), plus the lab capture; zips are left out (tshark cannot read them)."""
    paths: set[Path] = {LAB} if LAB.is_file() else set()
    if DATA is not None:
        for spec in SPECS:
            for name in spec.catalog:
                paths.update(catalog_captures(DATA, name))
    readable = []
    for path in sorted(paths):
        with path.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                readable.append(path)
    return readable


def ours_by_spec(path: Path) -> list[Counter[Key]]:
    """One dissection of ``path`` with every protocol's dissector, facts split by spec."""
    flow = [cls for spec in SPECS for cls in spec.flow]
    frames = [cls for spec in SPECS for cls in spec.frames]
    found: list[Counter[Key]] = [Counter() for _ in SPECS]
    for event in dissect(path, flow, frames):
        for fact in facts_of(event):
            if not isinstance(fact, Observation):
                continue
            for k, spec in enumerate(SPECS):
                if fact.source.startswith(spec.source) and fact.attribute in spec.attributes:
                    key = (fact.frame, fact.mac or fact.ip or "", fact.attribute, fact.value)
                    found[k][key] += 1
    return found


def run() -> list[Tally]:
    """tshark (PDML, one run per capture, in worker threads) and our dissection side by side."""
    tallies = [Tally() for _ in SPECS]
    union = " || ".join(f"({spec.display_filter})" for spec in SPECS)
    captures = _captures()
    with ThreadPoolExecutor(2) as pool:
        decoded = [pool.submit(lambda p: list(pdml(p, union)), path) for path in captures]
        for path, future in zip(captures, decoded, strict=True):
            mine_all = ours_by_spec(path)
            packets = future.result()
            for spec, tally, mine in zip(SPECS, tallies, mine_all, strict=True):
                theirs = Counter(spec.theirs(packets))
                if not theirs and not mine:
                    continue
                tally.captures += 1
                tally.ours += sum(mine.values())
                tally.theirs += sum(theirs.values())
                tally.matched += sum((mine & theirs).values())
                if mine != theirs:
                    only_ours = list((mine - theirs).elements())[:5]
                    only_theirs = list((theirs - mine).elements())[:5]
                    tally.differences.append((path.name, only_ours, only_theirs))
    return tallies


def test_identity_strings_agree_with_tshark() -> None:
    if DATA is None and not LAB.is_file():
        pytest.skip("needs ../shared/data (the shared capture corpus) or examples/lab-mixed")
    lines = [f"{'protocol':20s} {'captures':>8s} {'strings':>8s} {'agreement':>9s}"]
    failures = []
    total = Tally()
    for spec, t in zip(SPECS, run(), strict=True):
        lines.append(f"{spec.protocol:20s} {t.captures:8d} {t.compared:8d} {t.agreement:9.4f}")
        for name, only_ours, only_theirs in t.differences:
            lines.append(f"    {name}: only ours {only_ours} only tshark {only_theirs}")
        if t.agreement < BAR:
            failures.append((spec.protocol, t.agreement, t.differences))
        total.captures += t.captures
        total.ours += t.ours
        total.theirs += t.theirs
        total.matched += t.matched
    lines.append(f"{'TOTAL':20s} {total.captures:8d} {total.compared:8d} {total.agreement:9.4f}")
    print("\n" + "\n".join(lines))
    assert total.compared > 0, "no identity strings found in the corpus"
    assert not failures, failures
