"""Adding what was seen to a baseline: devices, edges, operations, point ranges, intervals.

One place for every way something becomes "normal": the learning period, analyst feedback
(:mod:`.feedback`) and ``auto_learn_after``. Memory is bounded: past a limit nothing new is
recorded and the caller counts it as dropped (a full baseline then reports, never hides).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import MAX_IPS_PER_MAC, BaselineState, Device, EdgeKey, Points
from .observe import Request


@dataclass(frozen=True, slots=True)
class Limits:
    max_devices: int = 100_000
    max_edges: int = 200_000
    max_point_tables: int = 50_000
    max_values_per_table: int = 10_000
    max_series: int = 100_000


def learn_device(
    state: BaselineState, mac: str | None, ip: str | None, ts: float, limits: Limits
) -> bool:
    """Record a frame source (MAC, and the local IP it used). False if a bound stopped it."""
    ok = True
    if mac is not None:
        dev = state.devices.get(mac)
        if dev is None:
            if len(state.devices) >= limits.max_devices:
                ok = False
            else:
                dev = state.devices[mac] = Device(ts)
        if dev is not None and ip is not None and len(dev.ips) < MAX_IPS_PER_MAC:
            dev.ips.add(ip)
    if ip is not None and ip not in state.addresses:
        if len(state.addresses) >= limits.max_devices:
            ok = False
        else:
            state.addresses[ip] = ts
    return ok


def learn_edge(state: BaselineState, edge: EdgeKey, ts: float, limits: Limits) -> bool:
    if edge not in state.edges and len(state.edges) >= limits.max_edges:
        return False
    state.add_edge(edge, ts)
    return True


def learn_request(state: BaselineState, req: Request, limits: Limits) -> bool:
    """The request's edge, protocol and operation, and the points it read or wrote."""
    if not learn_edge(state, req.edge, req.ts, limits):
        return False
    state.add_operation(req.edge, req.protocol, req.operation, req.ts)
    ok = True
    for p in req.points:
        key = (req.server, req.protocol, p.unit, p.table)
        pts = state.points.get(key)
        if pts is None:
            if len(state.points) >= limits.max_point_tables:
                ok = False
                continue
            pts = state.points[key] = Points()
        if p.write:
            pts.learn_write(p.address, p.last)
            if p.analog:
                for i, value in enumerate(p.values):
                    ok = pts.learn_value(p.address + i, value, limits.max_values_per_table) and ok
        else:
            pts.learn_read(p.address, p.last)
    return ok
