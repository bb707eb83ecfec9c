"""Compare the DNP3 dissector with tshark on real captures (helpers for the oracle tests)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from otsight.core.events import Event
from otsight.pipeline.runner import analyze
from otsight.protocols.dnp3.dissector import Dnp3Dissector, Dnp3UdpDissector
from otsight.protocols.dnp3.events import Dnp3LinkFrame, Dnp3Message
from otsight.protocols.registry import DissectorSelector
from otsight.testing import tshark

FIELDS = [
    "frame.number",
    "dnp3.src",
    "dnp3.dst",
    "dnp3.ctl",
    "dnp3.len",
    "dnp3.al.func",
    "dnp3.al.seq",
    "dnp3.al.obj",
    "tcp.analysis.retransmission",
    "_ws.malformed",
]
# Object types tshark 4.0 does not know: it swallows the rest of the fragment after one.
TSHARK_UNKNOWN_OBJECTS = frozenset({0x3302})  # g51v2 common time of occurrence (unsynchronised)
# Functions whose objects tshark 4.0 decodes; for the others it lists none.
TSHARK_OBJECT_FUNCTIONS = frozenset(
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 21, 25, 26, 27, 129, 130}
)
# (frame, function, sequence, objects of the frame)
AppKey = tuple[int, int, int, tuple[int, ...]]
LinkKey = tuple[int, int, int, int]  # (frame, source, destination, control)


def dnp3_captures(root: Path) -> list[Path]:
    """Captures the corpus catalogue lists with DNP3 in tshark's protocol hierarchy."""
    catalog = root / "CATALOG.md"
    found = []
    row = re.compile(r"^\| (pcaps/\S+) \| \d+ \| \S+ \| ([^|]*)\|")
    for line in catalog.read_text(encoding="utf-8").splitlines():
        m = row.match(line)
        if m and "DNP3" in [p.strip() for p in m.group(2).split(",")]:
            path = root / m.group(1)
            if path.is_file():
                found.append(path)
    return found


def _ints(text: str, base: int = 10) -> list[int]:
    return [int(v, base) for v in text.split(",") if v]


@dataclass
class View:
    app: Counter[AppKey] = field(default_factory=Counter)
    link: Counter[LinkKey] = field(default_factory=Counter)
    pairs: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    malformed: set[int] = field(default_factory=set)  # frames tshark marks [Malformed Packet]


def tshark_view(path: Path) -> View:
    view = View()
    for row in tshark.fields(path, FIELDS, display_filter="dnp3"):
        frame = int(row[0])
        if row[8]:  # a TCP retransmission: tshark decodes it again, the engine drops it
            continue
        src, dst, ctl = _ints(row[1]), _ints(row[2]), _ints(row[3], 16)
        lens = _ints(row[4])
        funcs, seqs, objs = _ints(row[5]), _ints(row[6]), tuple(_ints(row[7], 16))
        view.pairs[frame] = set(zip(src, dst, strict=False))
        if row[9]:
            view.malformed.add(frame)
        for f, s in zip(funcs, seqs, strict=False):
            view.app[(frame, f, s, objs)] += 1
        for s_, d_, c, n in zip(src, dst, ctl, lens, strict=False):
            if not (c & 0x40 and c & 0x0F not in (0, 9) and n > 5):  # frames without data
                view.link[(frame, s_, d_, c)] += 1
    return view


def our_view(path: Path) -> tuple[View, list[Event]]:
    events: list[Event] = []
    sel = DissectorSelector([Dnp3Dissector, Dnp3UdpDissector], events.append)
    analyze([str(path)], handler_factory=sel)
    view = View()
    by_frame: dict[int, list[Dnp3Message]] = {}
    for e in events:
        if isinstance(e, Dnp3Message):
            by_frame.setdefault(e.frame, []).append(e)
        elif isinstance(e, Dnp3LinkFrame):
            ctl = (
                (0x80 if e.from_master else 0)
                | (0x40 if e.primary else 0)
                | (0x20 if e.fcb else 0)
                | (0x10 if e.fcv else 0)
                | e.link_function_code
            )
            view.link[(e.frame, e.source_address, e.destination_address, ctl)] += 1
    for frame, msgs in by_frame.items():
        objs = tuple(
            g << 8 | v
            for m in msgs
            if m.function_code in TSHARK_OBJECT_FUNCTIONS
            for g, v, _q, _c in m.objects
        )
        view.pairs[frame] = {(m.source_address, m.destination_address) for m in msgs}
        for m in msgs:
            view.app[(frame, m.function_code, m.sequence, objs)] += 1
    return view, events


@dataclass
class Comparison:
    path: Path
    ours: int
    theirs: int
    matched: int
    link_ours: int
    link_theirs: int
    link_matched: int
    address_mismatches: int
    only_ours: list[AppKey]
    only_theirs: list[AppKey]
    malformed_frames: int = 0  # objects not compared: tshark marks the packet malformed
    unknown_object_frames: int = 0  # ours truncated where tshark stops at an unknown object

    @property
    def agreement(self) -> float:
        n = max(self.ours, self.theirs)
        return 1.0 if n == 0 else self.matched / n


def _normalise(ours: View, theirs: View) -> tuple[int, int]:
    """Remove the two explained differences from the object lists (see the module notes)."""
    their_objs: dict[tuple[int, int, int], tuple[int, ...]] = {k[:3]: k[3] for k in theirs.app}
    unknown = 0
    fixed: Counter[AppKey] = Counter()
    for key, n in ours.app.items():
        objs = key[3]
        t = their_objs.get(key[:3])
        if key[0] in theirs.malformed:
            objs = ()
        elif (
            t is not None
            and len(t) < len(objs)
            and objs[: len(t)] == t
            and t
            and t[-1] in TSHARK_UNKNOWN_OBJECTS
        ):
            objs = t
            unknown += n
        fixed[(key[0], key[1], key[2], objs)] += n
    ours.app = fixed
    theirs.app = Counter(
        {
            ((k[0], k[1], k[2], ()) if k[0] in theirs.malformed else k): n
            for k, n in theirs.app.items()
        }
    )
    return sum(1 for f in theirs.malformed if any(k[0] == f for k in theirs.app)), unknown


def compare(path: Path) -> Comparison:
    theirs = tshark_view(path)
    ours, _events = our_view(path)
    malformed, unknown = _normalise(ours, theirs)
    matched = sum((ours.app & theirs.app).values())
    link_matched = sum((ours.link & theirs.link).values())
    addr_bad = 0
    for frame, pairs in ours.pairs.items():
        if not pairs <= theirs.pairs.get(frame, set()):
            addr_bad += 1
    return Comparison(
        path=path,
        ours=sum(ours.app.values()),
        theirs=sum(theirs.app.values()),
        matched=matched,
        link_ours=sum(ours.link.values()),
        link_theirs=sum(theirs.link.values()),
        link_matched=link_matched,
        address_mismatches=addr_bad,
        only_ours=sorted((ours.app - theirs.app).elements()),
        only_theirs=sorted((theirs.app - ours.app).elements()),
        malformed_frames=malformed,
        unknown_object_frames=unknown,
    )
