"""What is new about one request, measured against a baseline: pure functions, no state kept.

Levels, most general first: the conversation (client never talked to server), the service or
protocol on a known pair, the operation on the edge, then the registers or points it writes
(address outside the learned write range, or a value outside the learned range of that
register widened by ``value_margin`` of its width, once enough writes were learned) and, when
asked, reads outside the learned read range.
"""

from __future__ import annotations

from .alerts import Deviation
from .model import BaselineState
from .observe import Request


def request_deviations(
    state: BaselineState, r: Request, label: str, per_server: bool = False
) -> list[Deviation]:
    """Conversation, protocol and operation novelties of ``r`` (``label`` names the
    operation in a sentence). ``per_server``: an operation is known to a learned master of the
    server when any learned master had the server do it (new masters: always new)."""
    client, server, transport, port = r.edge
    devs: list[Deviation] = []
    edge = state.edges.get(r.edge)
    if not state.knows_pair(client, server):
        devs.append(Deviation("new-conversation", ("pair", client, server),
                              f"{client} had never talked to {server}"))
    elif edge is None:
        devs.append(Deviation("new-protocol", ("edge", *r.edge),
                              f"{client} talked to {server} before, never on {transport}/{port}"))
    elif r.protocol not in edge.protocols:
        devs.append(Deviation("new-protocol", ("protocol", *r.edge, r.protocol),
                              f"{r.protocol} never ran on {transport}/{port} between them"))
    known = edge is not None and (
        edge.knows(r.protocol, r.operation)
        or (per_server and not devs and state.serves(server, r.protocol, r.operation))
    )
    if not known:
        devs.append(Deviation("new-operation", ("operation", *r.edge, r.protocol, r.operation),
                              f"{label} never ran on this edge"))
    return devs


def point_deviations(
    state: BaselineState, r: Request, value_margin: float, min_values: int, reads: bool,
    writable_if_read: bool = False,
) -> list[Deviation]:
    """Writes (and with ``reads``, reads) of ``r`` outside what was learned; a value range
    learned from fewer than ``min_values`` writes is too thin to judge values by.
    ``writable_if_read``: a write inside the learned *read* range of its table is in range."""
    out: list[Deviation] = []
    for p in r.points:
        pts = state.points.get((r.server, r.protocol, p.unit, p.table))
        where = f"{p.table} {p.address}" + (f"-{p.last}" if p.last != p.address else "")
        where += f" of unit {p.unit}" if p.unit else ""
        if not p.write:
            span = pts.read if pts is not None else None
            if reads and (span is None or not span.covers(p.address, p.last)):
                known = f"learned reads {span.lo}-{span.hi}" if span else "none learned"
                out.append(Deviation(
                    "read-out-of-range",
                    ("read", r.server, r.protocol, p.unit, p.table, p.address, p.last),
                    f"it reads {where}, outside the learned reads ({known})"))
            continue
        span = pts.write if pts is not None else None
        read = pts.read if pts is not None and writable_if_read else None
        if (span is None or not span.covers(p.address, p.last)) and (
            read is None or not read.covers(p.address, p.last)
        ):
            known = f"learned writes {span.lo}-{span.hi}" if span else "none learned"
            out.append(Deviation(
                "write-out-of-range",
                ("write", r.server, r.protocol, p.unit, p.table, p.address, p.last),
                f"it writes {where}, outside the learned writes ({known})", once=False))
            continue
        if not p.analog or pts is None:
            continue
        for i, value in enumerate(p.values):
            learned = pts.values.get(p.address + i)
            if learned is None or learned[2] < min_values:
                continue
            lo, hi, _ = learned
            slack = value_margin * (hi - lo)
            if lo - slack <= value <= hi + slack:
                continue
            out.append(Deviation(
                "write-out-of-range",
                ("value", r.server, r.protocol, p.unit, p.table, p.address + i),
                f"it writes {value:g} to {p.table} {p.address + i}, outside the learned values "
                f"{lo:g}..{hi:g}", once=False))
    return out
