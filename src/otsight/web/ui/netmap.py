"""The network map: assets in Purdue-level lanes, conversations as edges coloured by protocol.

The layout is computed here (no layout library): lanes top to bottom from enterprise (4-5) to
process (0), then assets of unknown level; inside a lane assets sit in rows, grouped by role.
A map of thousands of nodes is unreadable, so it shows the assets with the most traffic (at
most ``MAX_NODES``) and the heaviest edges among them (at most ``MAX_EDGES``), and says so.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ...inventory.model import ROLES
from ...store.models import AssetRow, ConversationRow
from .fmt import asset_url, clip, display_name, size
from .palette import (
    LEVEL_LABELS,
    level_key,
    protocol_class,
    role_class,
    role_glyph,
    role_label,
    role_name,
)

MAX_NODES = 300
MAX_EDGES = 1500
WIDTH = 1400
LABEL_W = 170
ROW_H = 86
LANE_PAD = 26
LANES: tuple[int | None, ...] = (4, 3, 2, 1, 0, None)


@dataclass(slots=True)
class Node:
    index: int
    asset_id: str
    name: str
    label: str
    role: str
    level: int | None
    x: float = 0.0
    y: float = 0.0
    label_dy: int = 28
    focus: bool = False

    @property
    def href(self) -> str:
        return asset_url(self.asset_id)

    @property
    def css(self) -> str:
        return role_class(self.role)

    @property
    def glyph(self) -> str:
        return role_glyph(self.role)

    @property
    def title(self) -> str:
        return f"{self.name} · {role_label(self.role)} · level {self.level_label}"

    @property
    def level_label(self) -> str:
        return "unknown" if self.level is None else str(self.level)


@dataclass(slots=True)
class Edge:
    a: int
    b: int
    protocol: str
    bytes: int
    packets: int
    conversations: int
    path: str = ""
    width: float = 1.0
    title: str = ""

    @property
    def css(self) -> str:
        return protocol_class(self.protocol)


@dataclass(slots=True)
class Lane:
    label: str
    y: float
    h: float
    count: int


@dataclass(slots=True)
class NetMap:
    width: int = WIDTH
    height: int = 0
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    protocols: list[tuple[str, str, int]] = field(default_factory=list)  # name, class, edges
    roles: list[tuple[str, str, int]] = field(default_factory=list)  # label, class, nodes
    notes: list[str] = field(default_factory=list)


# --- reading the store ------------------------------------------------------------------------

EdgeKey = tuple[str, str, str]


def _edges(
    session: Session, where: list[ColumnElement[bool]]
) -> list[tuple[str, str, str, int, int, int]]:
    c = ConversationRow
    stmt = (
        select(
            c.client_asset_id,
            c.server_asset_id,
            c.protocol,
            func.sum(c.bytes),
            func.sum(c.packets),
            func.count(),
        )
        .where(
            c.client_asset_id.is_not(None),
            c.server_asset_id.is_not(None),
            c.client_asset_id != c.server_asset_id,
            *where,
        )
        .group_by(c.client_asset_id, c.server_asset_id, c.protocol)
        .order_by(func.sum(c.bytes).desc())
    )
    return [
        (str(a), str(b), str(p), int(by or 0), int(pk or 0), int(n))
        for a, b, p, by, pk, n in session.execute(stmt)
    ]


def _rows(session: Session, ids: list[str]) -> list[AssetRow]:
    out: list[AssetRow] = []
    for i in range(0, len(ids), 500):
        out.extend(session.scalars(select(AssetRow).where(AssetRow.asset_id.in_(ids[i : i + 500]))))
    return out


def build(
    session: Session, *, protocol: str | None = None, focus: AssetRow | None = None
) -> NetMap:
    """The map of the whole plant, of one protocol, or of one asset and its peers."""
    m = NetMap()
    c = ConversationRow
    where: list[ColumnElement[bool]] = [c.protocol == protocol] if protocol else []
    total_assets = session.scalar(select(func.count()).select_from(AssetRow)) or 0
    if focus is not None:
        where.append(or_(c.client_asset_id == focus.asset_id, c.server_asset_id == focus.asset_id))
        edges = _edges(session, where)
        peers = Counter[str]()
        for a, b, _, by, _, _ in edges:
            peers[b if a == focus.asset_id else a] += by
        chosen = [p for p, _ in peers.most_common(MAX_NODES - 1)]
        if len(peers) > len(chosen):
            m.notes.append(
                f"Showing the {len(chosen)} busiest of {len(peers)} peers of this asset."
            )
        rows = [focus, *_rows(session, chosen)]
    elif protocol:
        edges = _edges(session, where)
        traffic = Counter[str]()
        for a, b, _, by, _, _ in edges:
            traffic[a] += by
            traffic[b] += by
        chosen = [p for p, _ in traffic.most_common(MAX_NODES)]
        if len(traffic) > len(chosen):
            m.notes.append(
                f"Showing the {len(chosen)} busiest of {len(traffic)} assets speaking {protocol}."
            )
        rows = _rows(session, chosen)
    else:
        rows = list(
            session.scalars(
                select(AssetRow).order_by(AssetRow.bytes.desc(), AssetRow.asset_id).limit(MAX_NODES)
            )
        )
        if total_assets > len(rows):
            m.notes.append(
                f"Showing the {len(rows)} assets with the most traffic of {total_assets}: "
                "filter by protocol, or open an asset's neighbourhood, to see the others."
            )
        ids = [r.asset_id for r in rows]
        edges = (
            []
            if not ids
            else _edges(session, [*where, c.client_asset_id.in_(ids), c.server_asset_id.in_(ids)])
        )
    _place(m, rows, focus)
    index = {n.asset_id: n for n in m.nodes}
    kept = [e for e in edges if e[0] in index and e[1] in index]
    if len(kept) > MAX_EDGES:
        m.notes.append(
            f"Showing the {MAX_EDGES} heaviest of {len(kept)} links (by bytes) between these "
            "assets."
        )
        kept = kept[:MAX_EDGES]
    _route(m, kept, index)
    return m


# --- layout -----------------------------------------------------------------------------------

ROLE_ORDER = {r: i for i, r in enumerate(ROLES)}


def _place(m: NetMap, rows: list[AssetRow], focus: AssetRow | None) -> None:
    by_lane: dict[int | None, list[AssetRow]] = {k: [] for k in LANES}
    for r in rows:
        by_lane[level_key(r.purdue_level)].append(r)
    usable = WIDTH - LABEL_W - 30
    per_row = max(1, usable // 96)
    y = 0.0
    roles = Counter[str]()
    for key in LANES:
        members = sorted(
            by_lane[key],
            key=lambda r: (ROLE_ORDER.get(role_name(r.role), 99), display_name(r), r.asset_id),
        )
        if not members:
            continue
        n_rows = math.ceil(len(members) / per_row)
        h = n_rows * ROW_H + LANE_PAD
        m.lanes.append(Lane(LEVEL_LABELS[key], y, h, len(members)))
        for row_i in range(n_rows):
            chunk = members[row_i * per_row : (row_i + 1) * per_row]
            spacing = min(150.0, usable / len(chunk))
            x0 = LABEL_W + 15 + (usable - spacing * (len(chunk) - 1)) / 2
            for j, r in enumerate(chunk):
                name = display_name(r)
                node = Node(
                    index=len(m.nodes),
                    asset_id=r.asset_id,
                    name=name,
                    label=clip(name, 18 if spacing >= 110 else 14),
                    role=role_name(r.role),
                    level=r.purdue_level,
                    x=round(x0 + j * spacing, 1),
                    y=round(y + LANE_PAD / 2 + row_i * ROW_H + ROW_H / 2 - 8, 1),
                    label_dy=28 if spacing >= 110 or j % 2 == 0 else 40,
                    focus=focus is not None and r.asset_id == focus.asset_id,
                )
                m.nodes.append(node)
                roles[node.role] += 1
        y += h
    m.height = max(int(y), 120)
    m.roles = [
        (role_label(r), role_class(r), n)
        for r, n in sorted(roles.items(), key=lambda x: ROLE_ORDER.get(x[0], 99))
    ]


def _route(
    m: NetMap, edges: list[tuple[str, str, str, int, int, int]], index: dict[str, Node]
) -> None:
    """Curves between nodes; several protocols between one pair fan out side by side."""
    seen_pair = Counter[tuple[int, int]]()
    protocols = Counter[str]()
    for a_id, b_id, proto, by, pk, n in edges:
        a, b = index[a_id], index[b_id]
        pair = (min(a.index, b.index), max(a.index, b.index))
        k = seen_pair[pair]
        seen_pair[pair] += 1
        dx, dy = b.x - a.x, b.y - a.y
        dist = math.hypot(dx, dy) or 1.0
        bend = 0.12 * dist + 14 * k
        sign = 1 if a.index < b.index else -1
        cx = (a.x + b.x) / 2 - dy / dist * bend * sign
        cy = (a.y + b.y) / 2 + dx / dist * bend * sign
        edge = Edge(a.index, b.index, proto, by, pk, n)
        edge.path = f"M{a.x:.1f},{a.y:.1f} Q{cx:.1f},{cy:.1f} {b.x:.1f},{b.y:.1f}"
        edge.width = round(min(5.0, max(1.0, math.log10(max(by, 1)) / 1.5)), 2)
        conv = f"{n} conversation{'s' if n > 1 else ''}"
        edge.title = f"{a.name} → {b.name} · {proto} · {conv} · {size(by)}"
        m.edges.append(edge)
        protocols[proto] += 1
    m.protocols = [(p, protocol_class(p), n) for p, n in sorted(protocols.items())]
