"""Compare the IEC 104 dissector with tshark per APDU (helpers for the oracle tests).

tshark's ``-T fields`` cannot tell which values belong to which APDU when a segment holds
several, so its PDML is read instead: each ``iec60870_104`` layer is one APDU and the
``iec60870_asdu`` layer after it is that APDU's ASDU.

Known, explained differences: tshark re-decodes TCP retransmissions (the engine drops them);
for packets tshark marks malformed (fuzzed ASDUs in TestDissectIec104.pcap) the ASDU fields
are not compared, only the APCI.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

from otsight.protocols.iec104.dissector import Iec104Dissector
from otsight.protocols.iec104.events import Iec104Apci, Iec104Asdu
from otsight.testing import tshark
from otsight.testing.protocol_oracle import dissect

# (frame, type 0=I 1=S 3=U, utype (control >> 2, U only), tx, rx)
ApciKey = tuple[int, int, int | None, int | None, int | None]
# (frame, type id, cause, common address, information object addresses)
AsduKey = tuple[int, int, int, int, tuple[int, ...]]


def iec104_captures(root: Path) -> list[Path]:
    found = sorted((root / "pcaps/ITI_ICS-Security-Tools/IEC60870-5-104").glob("*.pcap"))
    ndpi = root / "pcaps/ntop_nDPI/pcap/IEC104.pcap"
    return [*found, ndpi] if ndpi.is_file() else found


@dataclass
class View:
    apci: Counter[ApciKey] = field(default_factory=Counter)
    asdu: Counter[AsduKey] = field(default_factory=Counter)
    malformed: set[int] = field(default_factory=set)
    retransmissions: int = 0


def _int(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    return int(text, 16) if text.startswith("0x") else int(text)


def tshark_view(path: Path) -> View:
    assert tshark.TSHARK is not None
    out = subprocess.run(
        [tshark.TSHARK, "-n", "-r", str(path), "-T", "pdml", "-Y", "iec60870_104"],
        capture_output=True,
        check=False,
    ).stdout
    view = View()
    for packet in ET.fromstring(out).iter("packet"):
        frame = 0
        retrans = False
        apdus: list[tuple[dict[str, str], dict[str, list[str]]]] = []
        malformed = False
        for proto in packet.findall("proto"):
            pname = proto.get("name")
            if pname == "geninfo":
                num = proto.find("field[@name='num']")
                frame = int(num.get("show", "0")) if num is not None else 0
            elif pname == "tcp":
                retrans = any(
                    f.get("name") == "tcp.analysis.retransmission" for f in proto.iter("field")
                )
            elif pname == "iec60870_104":
                apci = {str(f.get("name")): str(f.get("show")) for f in proto.iter("field")}
                apdus.append((apci, {}))
            elif pname == "iec60870_asdu" and apdus:
                asdu: dict[str, list[str]] = {}
                for f in proto.iter("field"):
                    asdu.setdefault(str(f.get("name")), []).append(str(f.get("show")))
                apdus[-1] = (apdus[-1][0], asdu)
            elif pname == "_ws.malformed":
                malformed = True
        if retrans:
            view.retransmissions += 1
            continue
        if malformed:
            view.malformed.add(frame)
        for apci, asdu in apdus:
            kind = _int(apci.get("iec60870_104.type"))
            if kind is None:  # only a start octet and a bad length: reported as malformed
                continue
            view.apci[
                (
                    frame,
                    kind,
                    _int(apci.get("iec60870_104.utype")),
                    _int(apci.get("iec60870_104.tx")),
                    _int(apci.get("iec60870_104.rx")),
                )
            ] += 1
            if asdu and not malformed:
                view.asdu[
                    (
                        frame,
                        int(asdu["iec60870_asdu.typeid"][0]),
                        int(asdu["iec60870_asdu.causetx"][0]),
                        int(asdu["iec60870_asdu.addr"][0]),
                        tuple(int(v) for v in asdu.get("iec60870_asdu.ioa", [])),
                    )
                ] += 1
    return view


def our_view(path: Path, malformed: set[int]) -> View:
    view = View()
    for e in dissect(path, [Iec104Dissector]):
        if isinstance(e, Iec104Apci):
            kind = {"I": 0, "S": 1, "U": 3}[e.format]
            utype = e.u_control >> 2 if e.u_control is not None else None
            view.apci[(e.frame, kind, utype, e.send_seq, e.recv_seq)] += 1
        elif isinstance(e, Iec104Asdu):
            view.apci[(e.frame, 0, None, e.send_seq, e.recv_seq)] += 1
            if e.frame not in malformed:
                view.asdu[(e.frame, e.type_id, e.cause, e.common_address, e.ioas)] += 1
    return view


@dataclass
class Comparison:
    path: Path
    apci_ours: int
    apci_theirs: int
    apci_matched: int
    asdu_ours: int
    asdu_theirs: int
    asdu_matched: int
    malformed_frames: int
    only_ours: list[Hashable]
    only_theirs: list[Hashable]


def compare(path: Path) -> Comparison:
    theirs = tshark_view(path)
    ours = our_view(path, theirs.malformed)
    return Comparison(
        path,
        sum(ours.apci.values()),
        sum(theirs.apci.values()),
        sum((ours.apci & theirs.apci).values()),
        sum(ours.asdu.values()),
        sum(theirs.asdu.values()),
        sum((ours.asdu & theirs.asdu).values()),
        len(theirs.malformed),
        [
            *sorted((ours.apci - theirs.apci).elements(), key=repr)[:5],
            *sorted((ours.asdu - theirs.asdu).elements(), key=repr)[:5],
        ],
        [
            *sorted((theirs.apci - ours.apci).elements(), key=repr)[:5],
            *sorted((theirs.asdu - ours.asdu).elements(), key=repr)[:5],
        ],
    )
