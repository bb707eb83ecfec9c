"""Writing what the pipeline found: upserts keyed on natural ids, so re-loading never duplicates.

Every function takes an open :class:`~sqlalchemy.orm.Session` and leaves committing to the
caller (:class:`otsight.store.batch.BatchWriter` commits once per batch). Rows are written with
one multi-row statement per table, not one per object.

What a save of something already stored does:

- asset: identities, protocols and evidence are merged as sets; attributes the new view knows
  replace the stored ones (a role of ``unknown`` does not replace a known role); first/last seen
  widen; counters and conflicts are the new view's (the builder's totals, not increments);
- alert: detection fields are the new view's, evidence is merged; triage (status, assignee,
  note) is never touched;
- conversation: counters and times are the new totals for that source;
- event: kept once (keyed by a digest of its ECS document).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..alerts.incidents import Incident
from ..alerts.model import SEVERITIES, Alert
from ..core.events import BaseEvent
from ..inventory.model import Asset
from .errors import Invalid, StoreError
from .models import (
    AlertEvidenceRow,
    AlertRow,
    AssetAddressRow,
    AssetConflictRow,
    AssetEvidenceRow,
    AssetRow,
    AssetServiceRow,
    Base,
    BaselineRow,
    ConversationRow,
    EventRow,
    IncidentAlertRow,
    IncidentRow,
    SensorRow,
)
from .records import Conversation

CHUNK = 500  # ids per IN (...) lookup: far below every backend's parameter limit
ID_LEN = 255
SHORT_LEN = 64
NAME_LEN = 128


def clean(value: str, limit: int | None = None) -> str:
    """A string any backend stores: NUL (which PostgreSQL text refuses) replaced, clipped."""
    out = value.replace("\x00", "\ufffd") if "\x00" in value else value
    return out[:limit] if limit is not None else out


def _opt(value: str | None, limit: int | None = None) -> str | None:
    return None if value is None else clean(value, limit)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean(str(k)): _clean_json(v) for k, v in value.items()}
    return value


def _digest(*parts: object) -> str:
    raw = orjson.dumps(parts, default=str)
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _natural_id(kind: str, value: str) -> str:
    if not value or len(value) > ID_LEN or "\x00" in value:
        raise Invalid(f"{kind} must be 1-{ID_LEN} characters without NUL, got {value[:80]!r}")
    return value


# --- dialect-specific multi-row upserts -------------------------------------------------------


def _t(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert(session: Session, table: Table) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"unsupported database {name!r}")


def _upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE the ``update`` columns (default: all others)."""
    if not rows:
        return
    stmt = _insert(session, table)
    cols = update if update is not None else [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols}
    )
    session.execute(stmt, list(rows))


def _insert_new(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO NOTHING: keep what is there, add what is not."""
    if rows:
        stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(keys))
        session.execute(stmt, list(rows))


def _stored(session: Session, table: Table, key: str, ids: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    col = table.c[key]
    for i in range(0, len(ids), CHUNK):
        for row in session.execute(select(table).where(col.in_(ids[i : i + CHUNK]))).mappings():
            out[row[key]] = row
    return out


# --- assets -----------------------------------------------------------------------------------


def _union(old: Iterable[str], new: Iterable[str], limit: int) -> list[str]:
    seen: dict[str, None] = dict.fromkeys(old)
    for v in new:
        seen.setdefault(clean(v, limit))
    return list(seen)


def _search_text(row: Mapping[str, Any]) -> str:
    parts: list[str] = [row["asset_id"], row["role"]]
    for name in ("macs", "ips", "hostnames", "protocols"):
        parts.extend(row[name])
    for name in ("vendor", "model", "firmware", "serial", "device_name", "os"):
        if row[name]:
            parts.append(row[name])
    return " ".join(parts).lower()


def _asset_row(a: Asset, old: Mapping[str, Any] | None, now: float) -> dict[str, Any]:
    def pick(name: str, value: str | None) -> str | None:
        if value is not None:
            return clean(value, ID_LEN)
        return old[name] if old is not None else None

    keep_role = old is not None and a.role == "unknown"
    firsts = [t for t in (a.first_seen, old["first_seen"] if old else 0.0) if t > 0]
    row: dict[str, Any] = {
        "asset_id": a.asset_id,
        "macs": _union(old["macs"] if old else (), a.macs, SHORT_LEN),
        "ips": _union(old["ips"] if old else (), a.ips, SHORT_LEN),
        "hostnames": _union(old["hostnames"] if old else (), a.hostnames, ID_LEN),
        "vendor": pick("vendor", a.vendor),
        "model": pick("model", a.model),
        "firmware": pick("firmware", a.firmware),
        "serial": pick("serial", a.serial),
        "device_name": pick("device_name", a.device_name),
        "os": pick("os", a.os),
        "role": old["role"] if keep_role and old else clean(a.role, 32),
        "role_confidence": old["role_confidence"] if keep_role and old else a.role_confidence,
        "purdue_level": old["purdue_level"] if keep_role and old else a.purdue_level,
        "is_router": a.is_router,
        "first_seen": min(firsts) if firsts else 0.0,
        "last_seen": max(a.last_seen, old["last_seen"] if old else 0.0),
        "protocols": _union(old["protocols"] if old else (), a.protocols, SHORT_LEN),
        "peers": a.peers,
        "packets": a.packets,
        "bytes": a.bytes,
        "attributes": {**(old["attributes"] if old else {}), **_clean_json(a.attributes)},
        "updated_at": now,
    }
    row["search_text"] = _search_text(row)
    return row


def save_assets(session: Session, assets: Iterable[Asset], *, now: float | None = None) -> int:
    """Insert or merge ``assets`` (see the module docstring); returns how many were written."""
    incoming: dict[str, Asset] = {}
    for a in assets:
        incoming[_natural_id("asset_id", a.asset_id)] = a
    if not incoming:
        return 0
    stamp = time.time() if now is None else now
    ids = list(incoming)
    stored = _stored(session, _t(AssetRow), "asset_id", ids)
    rows = [_asset_row(a, stored.get(i), stamp) for i, a in incoming.items()]
    _upsert(session, _t(AssetRow), rows, ["asset_id"])

    addresses: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    for row in rows:
        aid = row["asset_id"]
        for kind in ("ip", "mac", "hostname"):
            values = row[f"{kind}s"]
            addresses.extend({"asset_id": aid, "kind": kind, "value": v} for v in values)
        a = incoming[aid]
        for e in a.evidence:
            evidence.append(
                {
                    "asset_id": aid,
                    "key": _digest(e.claim, e.text, e.source, e.ts),
                    "claim": clean(e.claim, SHORT_LEN),
                    "text": clean(e.text),
                    "source": clean(e.source, NAME_LEN),
                    "ts": e.ts,
                    "weight": e.weight,
                }
            )
        merged_services = {(s.protocol, s.transport, s.port): s for s in a.services}
        services.extend(
            {
                "asset_id": aid,
                "protocol": clean(s.protocol, SHORT_LEN),
                "transport": clean(s.transport, 16),
                "port": s.port,
                "clients": s.clients,
            }
            for s in merged_services.values()
        )
        conflicts.extend(
            {
                "asset_id": aid,
                "attribute": clean(c.attribute, SHORT_LEN),
                "kept": clean(c.kept),
                "kept_source": clean(c.kept_source, NAME_LEN),
                "other": clean(c.other),
                "other_source": clean(c.other_source, NAME_LEN),
            }
            for c in a.conflicts
        )
    _insert_new(session, _t(AssetAddressRow), addresses, ["asset_id", "kind", "value"])
    evidence_key = ("asset_id", "key")
    _insert_new(session, _t(AssetEvidenceRow), _unique(evidence, evidence_key), evidence_key)
    _upsert(
        session,
        _t(AssetServiceRow),
        services,
        ["asset_id", "protocol", "transport", "port"],
        ["clients"],
    )
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        session.execute(delete(AssetConflictRow).where(AssetConflictRow.asset_id.in_(chunk)))
    if conflicts:
        session.execute(_t(AssetConflictRow).insert(), conflicts)
    return len(rows)


def _unique(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows with distinct ``key`` (one multi-row upsert cannot touch a row twice)."""
    return list({tuple(r[k] for k in key): r for r in rows}.values())


# --- alerts -----------------------------------------------------------------------------------


def save_alerts(session: Session, alerts: Iterable[Alert]) -> int:
    """Insert or refresh ``alerts`` by ``alert_id``, keeping their triage state."""
    rows: dict[str, dict[str, Any]] = {}
    evidence: list[dict[str, Any]] = []
    for a in alerts:
        aid = _natural_id("alert_id", a.alert_id)
        if a.severity not in SEVERITIES:
            raise Invalid(f"alert {aid}: severity {a.severity!r} is not one of {SEVERITIES}")
        rows[aid] = {
            "alert_id": aid,
            "ts": a.ts,
            "last_ts": a.last_ts,
            # decision time: newer Alert versions carry it (MTTD is measured from it)
            "detected_ts": getattr(a, "detected_ts", None),
            "detector": clean(a.detector, SHORT_LEN),
            "kind": clean(a.kind, NAME_LEN),
            "severity": a.severity,
            "title": clean(a.title),
            "explanation": clean(a.explanation),
            "technique_id": clean(a.technique_id, 32),
            "technique": clean(a.technique, NAME_LEN),
            "src_ip": _opt(a.src_ip, SHORT_LEN),
            "dst_ip": _opt(a.dst_ip, SHORT_LEN),
            "src_mac": _opt(a.src_mac, SHORT_LEN),
            "dst_mac": _opt(a.dst_mac, SHORT_LEN),
            "protocol": _opt(a.protocol, SHORT_LEN),
            "count": a.count,
        }
        evidence.extend(
            {
                "alert_id": aid,
                "key": _digest(e.ts, e.frame, e.flow_id, e.protocol, e.operation, e.detail),
                "ts": e.ts,
                "frame": e.frame,
                "flow_id": e.flow_id,
                "protocol": clean(e.protocol, SHORT_LEN),
                "operation": clean(e.operation, NAME_LEN),
                "detail": clean(e.detail),
            }
            for e in a.evidence
        )
    if not rows:
        return 0
    values = list(rows.values())
    detection = [c for c in values[0] if c != "alert_id"]
    new = [{**r, "status": "new"} for r in values]
    _upsert(session, _t(AlertRow), new, ["alert_id"], detection)
    evidence_key = ("alert_id", "key")
    _insert_new(session, _t(AlertEvidenceRow), _unique(evidence, evidence_key), evidence_key)
    return len(values)


def save_incidents(session: Session, incidents: Iterable[Incident]) -> int:
    """Insert or refresh the detection stage's incidents by id, keeping their triage state.

    Their alerts must be saved first (same transaction); links to alerts are only added, so an
    analyst's manual additions stay.
    """
    rows: dict[str, dict[str, Any]] = {}
    links: list[dict[str, Any]] = []
    for inc in incidents:
        iid = _natural_id("incident_id", inc.incident_id)
        if inc.severity not in SEVERITIES:
            raise Invalid(f"incident {iid}: severity {inc.severity!r} is not one of {SEVERITIES}")
        rows[iid] = {
            "incident_id": iid,
            "title": clean(inc.title),
            "severity": inc.severity,
            # Capture time, not wall time: re-loading the capture gives the same rows.
            "created_at": inc.ts,
            "updated_at": inc.last_ts,
            "created_by": "otsight",
        }
        links.extend({"incident_id": iid, "alert_id": aid} for aid in inc.alert_ids)
    if not rows:
        return 0
    values = list(rows.values())
    new = [{**r, "status": "new"} for r in values]
    _upsert(session, _t(IncidentRow), new, ["incident_id"], ["title", "severity", "updated_at"])
    key = ("incident_id", "alert_id")
    _insert_new(session, _t(IncidentAlertRow), _unique(links, key), key)
    return len(values)


# --- conversations and events -----------------------------------------------------------------

CONVERSATION_KEY = ("source", "client", "server", "transport", "port", "protocol")


def save_conversations(session: Session, conversations: Iterable[Conversation]) -> int:
    """Insert or replace conversation totals keyed by (source, endpoints, service).

    An endpoint given without its asset id gets the id of the stored asset using that address
    (assets saved earlier in the same transaction count).
    """
    rows = [
        {
            "source": clean(c.source, ID_LEN),
            "client": clean(c.client, SHORT_LEN),
            "server": clean(c.server, SHORT_LEN),
            "transport": clean(c.transport, 16),
            "port": c.port,
            "protocol": clean(c.protocol, SHORT_LEN),
            "client_asset_id": _opt(c.client_asset_id, ID_LEN),
            "server_asset_id": _opt(c.server_asset_id, ID_LEN),
            "flows": c.flows,
            "packets": c.packets,
            "bytes": c.bytes,
            "first_seen": c.first_seen,
            "last_seen": c.last_seen,
        }
        for c in conversations
    ]
    unique = _unique(rows, CONVERSATION_KEY)
    _fill_asset_ids(session, unique)
    _upsert(session, _t(ConversationRow), unique, CONVERSATION_KEY)
    return len(unique)


def _fill_asset_ids(session: Session, rows: list[dict[str, Any]]) -> None:
    wanted = sorted(
        {r[side] for r in rows for side in ("client", "server") if r[f"{side}_asset_id"] is None}
    )
    owner: dict[str, str] = {}
    for i in range(0, len(wanted), CHUNK):
        found = session.execute(
            select(AssetAddressRow.value, AssetAddressRow.asset_id)
            .where(
                AssetAddressRow.kind.in_(("ip", "mac")),
                AssetAddressRow.value.in_(wanted[i : i + CHUNK]),
            )
            .order_by(AssetAddressRow.id)
        )
        for value, asset_id in found:
            owner.setdefault(value, asset_id)
    for r in rows:
        for side in ("client", "server"):
            if r[f"{side}_asset_id"] is None:
                r[f"{side}_asset_id"] = owner.get(r[side])


def _endpoint(doc: Mapping[str, Any], side: str) -> tuple[str | None, int | None]:
    part = doc.get(side)
    if not isinstance(part, dict):
        return None, None
    addr = part.get("ip") or part.get("mac")
    port = part.get("port")
    return (
        clean(str(addr), SHORT_LEN) if addr is not None else None,
        port if isinstance(port, int) else None,
    )


def save_events(session: Session, events: Iterable[BaseEvent], *, source: str = "") -> int:
    """Keep ``events`` (the pipeline's events of note) once each; returns how many were given."""
    rows = []
    for ev in events:
        doc = _clean_json(ev.ecs())
        src, src_port = _endpoint(doc, "source")
        dst, dst_port = _endpoint(doc, "destination")
        flow_id = getattr(ev, "flow_id", None)
        rows.append(
            {
                "key": hashlib.sha256(
                    orjson.dumps(doc, option=orjson.OPT_SORT_KEYS, default=str)
                ).hexdigest(),
                "source": clean(source, ID_LEN),
                "ts": ev.ts,
                "protocol": clean(ev.protocol, SHORT_LEN),
                "action": clean(ev.action, NAME_LEN),
                "src": src,
                "dst": dst,
                "src_port": src_port,
                "dst_port": dst_port,
                "flow_id": flow_id if isinstance(flow_id, int) else None,
                "frame": ev.frame,
                "doc": doc,
            }
        )
    _insert_new(session, _t(EventRow), _unique(rows, ("key",)), ["key"])
    return len(rows)


# --- baselines --------------------------------------------------------------------------------


def save_baseline(
    session: Session,
    name: str,
    *,
    kind: str = "",
    state: dict[str, Any] | None = None,
    blob: bytes | None = None,
    now: float | None = None,
) -> None:
    """Create or replace the baseline ``name`` (its creation time is kept)."""
    _natural_id("baseline name", name)
    if len(name) > NAME_LEN:
        raise Invalid(f"baseline name must be at most {NAME_LEN} characters")
    if state is None and blob is None:
        raise Invalid(f"baseline {name!r}: give a JSON state, a blob or both")
    stamp = time.time() if now is None else now
    row = {
        "name": name,
        "kind": clean(kind, SHORT_LEN),
        "state": _clean_json(state) if state is not None else None,
        "blob": blob,
        "created_at": stamp,
        "updated_at": stamp,
    }
    _upsert(session, _t(BaselineRow), [row], ["name"], ["kind", "state", "blob", "updated_at"])


# --- sensors ----------------------------------------------------------------------------------

# Counters of a sensor that are columns of ``sensors`` (every counter is kept in ``counters``).
SENSOR_FIGURES = (
    "captured",
    "processed",
    "kernel_received",
    "kernel_dropped",
    "queue_bytes",
    "queue_peak_bytes",
    "queue_waits",
)
SENSOR_STATE_LEN = 16


def save_sensor_status(
    session: Session,
    name: str,
    *,
    state: str,
    counters: Mapping[str, Any],
    started_at: float,
    settings: Mapping[str, Any] | None = None,
    interface: str | None = None,
    host: str | None = None,
    last_checkpoint_at: float | None = None,
    now: float | None = None,
) -> None:
    """Create or replace the status of the sensor ``name`` (one upsert).

    ``counters`` are the sensor's counters since it started (JSON-ready; those of
    :data:`SENSOR_FIGURES` and ``uptime_s`` also fill their columns, 0 when missing);
    ``interface`` defaults to the one the counters name.
    """
    _natural_id("sensor name", name)
    if len(name) > NAME_LEN:
        raise Invalid(f"sensor name must be at most {NAME_LEN} characters")
    if not state:
        raise Invalid(f"sensor {name!r}: give its state")
    figures: dict[str, int] = {}
    for figure in SENSOR_FIGURES:
        value = counters.get(figure, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"sensor {name!r}: counter {figure} must be an integer, not {value!r}")
        figures[figure] = value
    uptime = counters.get("uptime_s", 0.0)
    if isinstance(uptime, bool) or not isinstance(uptime, int | float):
        raise Invalid(f"sensor {name!r}: uptime_s must be a number, not {uptime!r}")
    if interface is None:
        interface = str(counters.get("interface") or "")
    row = {
        "name": name,
        "host": _opt(host, ID_LEN),
        "interface": clean(interface, SHORT_LEN),
        "state": clean(state, SENSOR_STATE_LEN),
        "started_at": started_at,
        "updated_at": time.time() if now is None else now,
        "last_checkpoint_at": last_checkpoint_at,
        "uptime_s": float(uptime),
        **figures,
        "settings": _clean_json(dict(settings or {})),
        "counters": _clean_json(dict(counters)),
    }
    _upsert(session, _t(SensorRow), [row], ["name"])
