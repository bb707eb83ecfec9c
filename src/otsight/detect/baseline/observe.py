"""What the baseline learns from one event: requests, as (edge, protocol, operation, points).

Requests come from the inventory's activity facts (one table for every protocol: who is client,
who is server, the service port, the operation and its category), so the baseline covers every
protocol the inventory understands; the registers or points come from :mod:`.points`.
Link-layer activities (ARP who-has, Profinet DCP: no transport) are left to the device check
of the packet path.

A :class:`Request` also travels in an alert as a ``key=value`` text (:func:`encode` /
:func:`decode`), so that analyst feedback can add exactly what the alert was about.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from ...core.events import BaseEvent, Event
from ...inventory.facts import facts_of
from ...inventory.model import Activity
from .model import EdgeKey, SeriesKey
from .points import PointAccess, operation_label, points_of, signature


@dataclass(slots=True)
class Request:
    """One request as the baseline sees it (treated as immutable; not frozen because one is
    built per request and frozen dataclasses cost five times as much to build)."""

    ts: float
    frame: int
    edge: EdgeKey
    protocol: str
    operation: str
    category: str
    points: tuple[PointAccess, ...] = ()
    flow_id: int | None = None
    label: str = ""  # the operation in a sentence: "FC 6 (write-single-register)"

    @property
    def writes(self) -> bool:
        return any(p.write for p in self.points)

    @property
    def client(self) -> str:
        return self.edge[0]

    @property
    def server(self) -> str:
        return self.edge[1]

    @property
    def series(self) -> SeriesKey:
        return (*self.edge, self.protocol, self.operation, signature(self.points))


TRANSPORTS = frozenset({"tcp", "udp"})


def requests_of(event: BaseEvent) -> list[Request]:
    """The requests ``event`` stands for (usually none or one)."""
    out = []
    points: tuple[PointAccess, ...] | None = None
    flow_id = event.flow_id if isinstance(event, Event) else None
    for fact in facts_of(event):
        if (
            not isinstance(fact, Activity)
            or not fact.client_ip
            or not fact.server_ip
            or fact.transport not in TRANSPORTS
        ):
            continue  # link-layer lookups (ARP who-has, DCP) are no conversation
        if points is None:
            points = points_of(event)
        edge = (fact.client_ip, fact.server_ip, fact.transport, fact.server_port or 0)
        out.append(Request(fact.ts, fact.frame, edge, fact.protocol, fact.operation,
                           fact.category, points, flow_id,
                           operation_label(event, fact.operation)))
    return out


# ----------------------------------------------------------------------------- spec text
_SAFE = "-_.:"


def _q(value: object) -> str:
    return quote(str(value), safe=_SAFE)


def _point_text(p: PointAccess) -> str:
    values = ";".join(f"{v:g}" for v in p.values)
    parts = ("write" if p.write else "read", p.unit, p.table, p.address, p.count,
             int(p.analog), values)
    return "/".join(_q(x) for x in parts)


def encode_request(r: Request) -> str:
    client, server, transport, port = r.edge
    head = (f"client={_q(client)} server={_q(server)} transport={_q(transport)} port={port} "
            f"protocol={_q(r.protocol)} operation={_q(r.operation)} category={_q(r.category)}")
    return " ".join([head, *(f"point={_point_text(p)}" for p in r.points)])


def encode_fields(**fields: object) -> str:
    return " ".join(f"{k}={_q(v)}" for k, v in fields.items() if v is not None)


def decode(text: str) -> dict[str, list[str]]:
    """``key=value`` tokens (values unquoted); a key may repeat."""
    out: dict[str, list[str]] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise ValueError(f"not a baseline evidence token: {token[:40]!r}")
        out.setdefault(key, []).append(unquote(value))
    return out


def _one(fields: dict[str, list[str]], key: str) -> str:
    values = fields.get(key)
    if not values:
        raise ValueError(f"baseline evidence lacks {key}=")
    return values[0]


def _point(text: str) -> PointAccess:
    parts = [unquote(x) for x in text.split("/")]
    if len(parts) != 7 or parts[0] not in ("read", "write"):
        raise ValueError(f"bad point {text[:60]!r}")
    values = tuple(float(v) for v in parts[6].split(";") if v)
    return PointAccess(int(parts[1]), parts[2], int(parts[3]), int(parts[4]),
                       parts[0] == "write", values, parts[5] == "1")


def decode_request(text: str, ts: float, frame: int) -> Request:
    """The inverse of :func:`encode_request`; ValueError on anything else."""
    f = decode(text)
    edge = (_one(f, "client"), _one(f, "server"), _one(f, "transport"), int(_one(f, "port")))
    operation = _one(f, "operation")
    return Request(ts, frame, edge, _one(f, "protocol"), operation, _one(f, "category"),
                   tuple(_point(p) for p in f.get("point", ())), None, operation)


def decode_series(text: str) -> SeriesKey:
    f = decode(text)
    sig = f.get("signature", [""])[0]
    return (_one(f, "client"), _one(f, "server"), _one(f, "transport"), int(_one(f, "port")),
            _one(f, "protocol"), _one(f, "operation"), sig)


def encode_series(key: SeriesKey) -> str:
    client, server, transport, port, protocol, operation, sig = key
    return encode_fields(client=client, server=server, transport=transport, port=port,
                         protocol=protocol, operation=operation, signature=sig)


def decode_field(text: str, key: str) -> str | None:
    values = decode(text).get(key)
    return values[0] if values else None
