"""The store's tables (SQLAlchemy 2 typed declarative).

Natural ids (``asset_id``, ``alert_id``, incident and baseline names) are the primary keys so
that re-loading the same capture updates rows instead of adding them. Times are capture or wall
clock epoch seconds (float), like every other part of otsight. Assets keep their identities as
JSON for display and again in ``asset_addresses`` so that the list filters by IP or MAC with an
index; ``search_text`` is the lowercased text the free-text filter scans.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TRIAGE_STATUSES = ("new", "acknowledged", "resolved", "expected")
USER_ROLES = ("viewer", "analyst", "admin")

# Constraint names fixed by convention so migrations (and SQLite batch mode) can find them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(255)
NAME = String(128)
SHORT = String(64)
JsonList = list[Any]
JsonDict = dict[str, Any]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AssetRow(Base):
    __tablename__ = "assets"

    asset_id: Mapped[str] = mapped_column(ID, primary_key=True)
    macs: Mapped[JsonList] = mapped_column(JSON, default=list)
    ips: Mapped[JsonList] = mapped_column(JSON, default=list)
    hostnames: Mapped[JsonList] = mapped_column(JSON, default=list)
    vendor: Mapped[str | None] = mapped_column(ID, index=True)
    model: Mapped[str | None] = mapped_column(ID)
    firmware: Mapped[str | None] = mapped_column(ID)
    serial: Mapped[str | None] = mapped_column(ID)
    device_name: Mapped[str | None] = mapped_column(ID)
    os: Mapped[str | None] = mapped_column(ID)
    role: Mapped[str] = mapped_column(String(32), index=True, default="unknown")
    role_confidence: Mapped[float] = mapped_column(Double, default=0.0)
    purdue_level: Mapped[int | None] = mapped_column(Integer, index=True)
    is_router: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[float] = mapped_column(Double, default=0.0)
    last_seen: Mapped[float] = mapped_column(Double, index=True, default=0.0)
    protocols: Mapped[JsonList] = mapped_column(JSON, default=list)
    peers: Mapped[int] = mapped_column(BigInteger, default=0)
    packets: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    attributes: Mapped[JsonDict] = mapped_column(JSON, default=dict)
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Double, default=0.0)

    evidence: Mapped[list[AssetEvidenceRow]] = relationship(
        order_by="AssetEvidenceRow.ts", cascade="all, delete-orphan", passive_deletes=True
    )
    conflicts: Mapped[list[AssetConflictRow]] = relationship(
        order_by="AssetConflictRow.id", cascade="all, delete-orphan", passive_deletes=True
    )
    services: Mapped[list[AssetServiceRow]] = relationship(
        order_by="AssetServiceRow.port", cascade="all, delete-orphan", passive_deletes=True
    )


class AssetAddressRow(Base):
    """One identity of an asset (``kind`` is ip, mac or hostname), indexed for exact lookups."""

    __tablename__ = "asset_addresses"
    __table_args__ = (
        UniqueConstraint("asset_id", "kind", "value"),
        Index("ix_asset_addresses_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(ID)


class AssetEvidenceRow(Base):
    """Why otsight believes something about an asset; ``key`` de-duplicates re-loads."""

    __tablename__ = "asset_evidence"
    __table_args__ = (UniqueConstraint("asset_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    claim: Mapped[str] = mapped_column(SHORT)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(NAME)
    ts: Mapped[float] = mapped_column(Double)
    weight: Mapped[float] = mapped_column(Double, default=1.0)


class AssetConflictRow(Base):
    """Two sources disagreed on an attribute: the set is replaced on every save of the asset."""

    __tablename__ = "asset_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.asset_id", ondelete="CASCADE"), index=True
    )
    attribute: Mapped[str] = mapped_column(SHORT)
    kept: Mapped[str] = mapped_column(Text)
    kept_source: Mapped[str] = mapped_column(NAME)
    other: Mapped[str] = mapped_column(Text)
    other_source: Mapped[str] = mapped_column(NAME)


class AssetServiceRow(Base):
    __tablename__ = "asset_services"
    __table_args__ = (UniqueConstraint("asset_id", "protocol", "transport", "port"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.asset_id", ondelete="CASCADE"))
    protocol: Mapped[str] = mapped_column(SHORT)
    transport: Mapped[str] = mapped_column(String(16))
    port: Mapped[int] = mapped_column(Integer)
    clients: Mapped[int] = mapped_column(Integer, default=0)


class ConversationRow(Base):
    """Traffic between two endpoints on one service, per source (capture or sensor)."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("source", "client", "server", "transport", "port", "protocol"),
        Index("ix_conversations_client", "client"),
        Index("ix_conversations_server", "server"),
        Index("ix_conversations_client_asset", "client_asset_id"),
        Index("ix_conversations_server_asset", "server_asset_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(ID, default="")
    client: Mapped[str] = mapped_column(SHORT)
    server: Mapped[str] = mapped_column(SHORT)
    client_asset_id: Mapped[str | None] = mapped_column(ID)
    server_asset_id: Mapped[str | None] = mapped_column(ID)
    protocol: Mapped[str] = mapped_column(SHORT)
    transport: Mapped[str] = mapped_column(String(16))
    port: Mapped[int] = mapped_column(Integer)
    flows: Mapped[int] = mapped_column(BigInteger, default=0)
    packets: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[float] = mapped_column(Double)
    last_seen: Mapped[float] = mapped_column(Double)


class EventRow(Base):
    """An event of note, kept whole as its ECS document; ``key`` is a digest of that document."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(ID, default="")
    ts: Mapped[float] = mapped_column(Double, index=True)
    protocol: Mapped[str] = mapped_column(SHORT, index=True)
    action: Mapped[str] = mapped_column(NAME, index=True)
    src: Mapped[str | None] = mapped_column(SHORT)
    dst: Mapped[str | None] = mapped_column(SHORT)
    src_port: Mapped[int | None] = mapped_column(Integer)
    dst_port: Mapped[int | None] = mapped_column(Integer)
    flow_id: Mapped[int | None] = mapped_column(BigInteger)
    frame: Mapped[int] = mapped_column(BigInteger, default=0)
    doc: Mapped[JsonDict] = mapped_column(JSON)


class AlertRow(Base):
    """An alert as detected, plus its triage state (never reset by a re-load)."""

    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(ID, primary_key=True)
    ts: Mapped[float] = mapped_column(Double, index=True)
    last_ts: Mapped[float | None] = mapped_column(Double)
    detected_ts: Mapped[float | None] = mapped_column(Double)  # when the detector decided
    detector: Mapped[str] = mapped_column(SHORT, index=True)
    kind: Mapped[str] = mapped_column(NAME, index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    technique_id: Mapped[str] = mapped_column(String(32))
    technique: Mapped[str] = mapped_column(NAME)
    src_ip: Mapped[str | None] = mapped_column(SHORT, index=True)
    dst_ip: Mapped[str | None] = mapped_column(SHORT, index=True)
    src_mac: Mapped[str | None] = mapped_column(SHORT)
    dst_mac: Mapped[str | None] = mapped_column(SHORT)
    protocol: Mapped[str | None] = mapped_column(SHORT)
    count: Mapped[int] = mapped_column(BigInteger, default=1)
    status: Mapped[str] = mapped_column(String(16), index=True, default="new")
    assignee: Mapped[str | None] = mapped_column(SHORT, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[float | None] = mapped_column(Double)
    status_changed_by: Mapped[str | None] = mapped_column(SHORT)

    evidence: Mapped[list[AlertEvidenceRow]] = relationship(
        order_by="AlertEvidenceRow.ts", cascade="all, delete-orphan", passive_deletes=True
    )


class AlertEvidenceRow(Base):
    __tablename__ = "alert_evidence"
    __table_args__ = (UniqueConstraint("alert_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    ts: Mapped[float] = mapped_column(Double)
    frame: Mapped[int] = mapped_column(BigInteger)
    flow_id: Mapped[int | None] = mapped_column(BigInteger)
    protocol: Mapped[str] = mapped_column(SHORT)
    operation: Mapped[str] = mapped_column(NAME)
    detail: Mapped[str] = mapped_column(Text, default="")


class IncidentRow(Base):
    """Alerts an analyst (or a correlator) grouped into one story, triaged as one."""

    __tablename__ = "incidents"

    incident_id: Mapped[str] = mapped_column(SHORT, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="new")
    assignee: Mapped[str | None] = mapped_column(SHORT)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    created_by: Mapped[str] = mapped_column(SHORT)

    alerts: Mapped[list[AlertRow]] = relationship(
        secondary="incident_alerts", order_by="AlertRow.ts"
    )


class IncidentAlertRow(Base):
    __tablename__ = "incident_alerts"

    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.incident_id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[str] = mapped_column(
        ForeignKey("alerts.alert_id", ondelete="CASCADE"), primary_key=True, index=True
    )


class BaselineRow(Base):
    """A learned baseline (communication patterns, model state): JSON, a blob, or both."""

    __tablename__ = "baselines"

    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    kind: Mapped[str] = mapped_column(SHORT, default="")
    state: Mapped[JsonDict | None] = mapped_column(JSON)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


class SensorRow(Base):
    """A live sensor's status: how it was started, its state and its latest counters.

    One row per sensor (``name``: ``sensor:HOST:INTERFACE``), replaced in place at every report.
    The figures that say whether it keeps up are columns (to list and compare sensors); every
    counter it reports is in ``counters`` (JSON), so a new counter needs no migration.
    """

    __tablename__ = "sensors"

    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    host: Mapped[str | None] = mapped_column(ID)
    interface: Mapped[str] = mapped_column(SHORT, default="")
    state: Mapped[str] = mapped_column(String(16), default="starting")
    started_at: Mapped[float] = mapped_column(Double)  # wall clock
    updated_at: Mapped[float] = mapped_column(Double, index=True)  # the last report
    last_checkpoint_at: Mapped[float | None] = mapped_column(Double)  # the last store write
    uptime_s: Mapped[float] = mapped_column(Double, default=0.0)
    captured: Mapped[int] = mapped_column(BigInteger, default=0)
    processed: Mapped[int] = mapped_column(BigInteger, default=0)
    kernel_received: Mapped[int] = mapped_column(BigInteger, default=0)
    kernel_dropped: Mapped[int] = mapped_column(BigInteger, default=0)
    queue_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    queue_peak_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    queue_waits: Mapped[int] = mapped_column(BigInteger, default=0)
    settings: Mapped[JsonDict] = mapped_column(JSON, default=dict)
    counters: Mapped[JsonDict] = mapped_column(JSON, default=dict)


class AuditRow(Base):
    """Who changed what, when, and how it looked before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Double, index=True)
    actor: Mapped[str] = mapped_column(SHORT, index=True)
    action: Mapped[str] = mapped_column(SHORT)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(ID)
    before: Mapped[JsonDict | None] = mapped_column(JSON)
    after: Mapped[JsonDict | None] = mapped_column(JSON)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(SHORT, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Double)


class TokenRow(Base):
    """An API token: only its sha256 and a short prefix (to recognise it) are kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(NAME, default="")
    created_at: Mapped[float] = mapped_column(Double)
    last_used_at: Mapped[float | None] = mapped_column(Double)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[UserRow] = relationship()
