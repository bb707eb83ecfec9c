"""Compare S7Dissector's events with tshark's S7comm fields, per frame."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from otsight.core.events import Event
from otsight.pipeline.runner import analyze
from otsight.protocols.registry import DissectorSelector
from otsight.protocols.s7comm.dissector import S7Dissector
from otsight.protocols.s7comm.events import S7Request, S7Response, S7UserData
from otsight.testing import tshark

FIELDS = [
    "s7comm.header.rosctr",
    "s7comm.header.pduref",
    "s7comm.param.func",
    "s7comm.param.userdata.funcgroup",
    "s7comm.param.userdata.subfunc",
    "s7comm.data.userdata.szl_id",
    "s7comm.data.userdata.szl_index",
    "s7comm.szl.xy11.0001.anz",
]
NAMES = ["rosctr", "pduref", "func", "funcgroup", "subfunc", "szl_id", "szl_index", "order_number"]

FrameKey = tuple[tuple[str, ...], ...]


@dataclass
class Comparison:
    capture: str
    ours: int
    theirs: int
    matched: int
    delayed: int  # matched a later frame (delivered after a capture hole)
    mismatched_frames: list[tuple[int, FrameKey, FrameKey]]

    @property
    def agreement(self) -> float:
        return self.matched / max(self.ours, self.theirs) if max(self.ours, self.theirs) else 1.0


def run(path: Path) -> list[Event]:
    events: list[Event] = []
    analyze([str(path)], handler_factory=DissectorSelector([S7Dissector], events.append))
    return events


def _key(values: dict[str, list[str]]) -> FrameKey:
    return tuple(tuple(sorted(v for v in values[n] if v)) for n in NAMES)


def our_messages(events: list[Event]) -> list[tuple[int, FrameKey]]:
    """(frame, key) of every S7comm PDU we emitted, key in tshark's formatting."""
    out: list[tuple[int, FrameKey]] = []
    for e in events:
        if not isinstance(e, S7Request | S7Response | S7UserData):
            continue
        d: dict[str, list[str]] = {n: [] for n in NAMES}
        d["rosctr"].append(str(e.rosctr))
        d["pduref"].append(str(e.pdu_ref))
        if isinstance(e, S7UserData):
            d["funcgroup"].append(str(e.function_group))
            if e.function_group != 0:  # tshark names mode-transition subfunctions elsewhere
                d["subfunc"].append(str(e.subfunction))
            if e.szl_id is not None and e.szl_index is not None:
                d["szl_id"].append(f"0x{e.szl_id:04x}")
                d["szl_index"].append(f"0x{e.szl_index:04x}")
            ident = e.module_identification or {}
            if e.szl_id is not None and e.szl_id & 0xFF == 0x11 and "order_number" in ident:
                d["order_number"].append(ident["order_number"])
        elif e.param_length > 0 and e.function_code is not None:
            # responses copy the job's function when their own parameter is empty: compare
            # only what is on the wire, as tshark shows it
            d["func"].append(f"0x{e.function_code:02x}")
        out.append((e.frame, _key(d)))
    return out


def _merge(keys: list[FrameKey]) -> FrameKey:
    return tuple(tuple(sorted(v for k in keys for v in k[i])) for i in range(len(NAMES)))


def theirs_by_frame(path: Path) -> dict[int, FrameKey]:
    rows = tshark.fields(path, ["frame.number", *FIELDS], display_filter="s7comm")
    out: dict[int, FrameKey] = {}
    for row in rows:
        values = {n: [x for x in row[i + 1].split(",") if x] for i, n in enumerate(NAMES)}
        # the first SZL 0x0011 record is the module's order number; tshark lists every
        # record's "MlfB" (also hardware, firmware and boot loader records)
        names = [x.strip() for x in values["order_number"] if x.strip()]
        values["order_number"] = names[:1]
        if not values["rosctr"]:
            continue
        out[int(row[0])] = _key(values)
    return out


def compare(path: Path, label: str, window: int = 10) -> Comparison:
    """Frame-exact matching first; then a message tshark shows alone in frame F may match one
    of ours delivered up to ``window`` frames later (data after a capture hole is handed over
    when the peer's ACK proves the loss, so it carries the frame of that ACK)."""
    mine = our_messages(run(path))
    theirs = theirs_by_frame(path)
    by_frame: dict[int, list[int]] = defaultdict(list)
    for i, (frame, _k) in enumerate(mine):
        by_frame[frame].append(i)
    used = [False] * len(mine)
    n_theirs = sum(len(k[0]) for k in theirs.values())
    matched = delayed = 0
    left: list[tuple[int, FrameKey]] = []
    for frame in sorted(theirs):
        want = theirs[frame]
        idx = by_frame.get(frame, [])
        if idx and _merge([mine[i][1] for i in idx]) == want:
            matched += len(want[0])
            for i in idx:
                used[i] = True
        else:
            left.append((frame, want))
    bad: list[tuple[int, FrameKey, FrameKey]] = []
    for frame, want in left:
        hit = None
        if len(want[0]) == 1:
            for g in range(frame, frame + window + 1):
                hit = next(
                    (i for i in by_frame.get(g, []) if not used[i] and mine[i][1] == want), None
                )
                if hit is not None:
                    break
        if hit is None:
            bad.append((frame, _merge([mine[i][1] for i in by_frame.get(frame, [])]), want))
        else:
            used[hit] = True
            matched += 1
            delayed += 1
    for i, (frame, key) in enumerate(mine):
        if not used[i]:
            bad.append((frame, key, theirs.get(frame, ())))
    return Comparison(label, len(mine), n_theirs, matched, delayed, sorted(bad))


def s7_captures(root: Path) -> list[Path]:
    """Captures the corpus catalogue lists with S7comm in tshark's protocol hierarchy."""
    catalog = (root / "CATALOG.md").read_text(encoding="utf-8")
    found = []
    for line in catalog.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and "S7comm" in cells[4].split(", ") and (root / cells[1]).is_file():
            found.append(root / cells[1])
    return found


def counts(events: list[Event]) -> Counter[str]:
    return Counter(type(e).__name__ for e in events)
