"""Conversations: what the store keeps of flows, aggregated per endpoint pair and service.

Flows are too many to keep one row each; an analyst asks "who talks to this PLC, over what,
how much". :func:`conversations_from_flows` folds ended flows into that shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.ports import proto_name, service_name

if TYPE_CHECKING:
    from ..decode.flows import FlowRecord


@dataclass(frozen=True, slots=True)
class Conversation:
    """``client`` talked to ``server`` on ``transport``/``port`` as ``protocol``.

    Counters are totals for ``source`` (a capture or a sensor): saving again replaces them, so
    re-loading a capture never doubles them.
    """

    client: str
    server: str
    protocol: str
    transport: str
    port: int
    packets: int
    bytes: int
    first_seen: float
    last_seen: float
    flows: int = 1
    client_asset_id: str | None = None
    server_asset_id: str | None = None
    source: str = ""


def default_protocol(proto: int, port: int) -> str:
    """The well-known service on ``port``, else the transport's name (a hint, not proof)."""
    return service_name(proto, port) or proto_name(proto)


def conversations_from_flows(
    flows: Iterable[FlowRecord],
    *,
    source: str = "",
    protocol_of: Callable[[int, int], str] = default_protocol,
    asset_of: Callable[[str], str | None] | None = None,
) -> list[Conversation]:
    """Fold flows into one conversation per (originator, responder, transport, port, protocol)."""
    acc: dict[tuple[str, str, str, int, str], list[float]] = {}
    for f in flows:
        service = protocol_of(f.proto, f.resp_port)
        key = (f.orig_ip, f.resp_ip, proto_name(f.proto), f.resp_port, service)
        first, last = f.first_ts_ns / 1e9, f.last_ts_ns / 1e9
        cur = acc.get(key)
        if cur is None:
            acc[key] = [1, f.packets, f.bytes, first, last]
        else:
            cur[0] += 1
            cur[1] += f.packets
            cur[2] += f.bytes
            cur[3] = min(cur[3], first)
            cur[4] = max(cur[4], last)
    return [
        Conversation(
            client=client,
            server=server,
            protocol=protocol,
            transport=transport,
            port=port,
            flows=int(v[0]),
            packets=int(v[1]),
            bytes=int(v[2]),
            first_seen=v[3],
            last_seen=v[4],
            client_asset_id=asset_of(client) if asset_of else None,
            server_asset_id=asset_of(server) if asset_of else None,
            source=source,
        )
        for (client, server, transport, port, protocol), v in acc.items()
    ]
