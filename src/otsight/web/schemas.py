"""What the API accepts and answers (pydantic), and so what its OpenAPI schema says.

Every string a client sends is bounded and may not hold NUL; names chosen from a vocabulary
are checked against it with a message listing the choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeAlias, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import WithJsonSchema

from ..alerts.model import SEVERITIES
from ..inventory.model import ROLES
from ..store.models import TRIAGE_STATUSES

NO_NUL = r"^[^\x00]*$"
USER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"

Ident = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)]
SearchText = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
Note = Annotated[str, StringConstraints(max_length=4000, pattern=NO_NUL)]
UserName = Annotated[str, StringConstraints(pattern=USER_NAME)]


def member(what: str, choices: Sequence[str]) -> AfterValidator:
    """Accept only ``choices``, saying which they are when refusing."""

    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{what} must be one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


def enum(choices: Sequence[str]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(choices)})


Role: TypeAlias = Annotated[str, member("role", ROLES), enum(ROLES)]
Severity: TypeAlias = Annotated[str, member("severity", SEVERITIES), enum(SEVERITIES)]
Status: TypeAlias = Annotated[str, member("status", TRIAGE_STATUSES), enum(TRIAGE_STATUSES)]

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Paged(Out, Generic[T]):
    """One page of a list; ``total`` counts everything the filters match."""

    total: int
    offset: int
    limit: int
    items: list[T]


class Error(BaseModel):
    detail: str = Field(description="What went wrong, for a person to read")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body/query/path and the field's name")
    msg: str
    type: str


class ValidationError(BaseModel):
    detail: str = Field(description="Every problem in one sentence per field")
    errors: list[FieldError]


class Me(Out):
    name: str
    role: str


class Health(BaseModel):
    status: str
    schema_revision: str | None


# --- assets -----------------------------------------------------------------------------------


class AssetSummary(Out):
    asset_id: str
    macs: list[str]
    ips: list[str]
    hostnames: list[str]
    vendor: str | None
    model: str | None
    firmware: str | None
    role: str
    role_confidence: float
    purdue_level: int | None
    is_router: bool
    first_seen: float
    last_seen: float
    protocols: list[str]
    peers: int
    packets: int
    bytes: int


class EvidenceOut(Out):
    claim: str
    text: str
    source: str
    ts: float
    weight: float


class ConflictOut(Out):
    attribute: str
    kept: str
    kept_source: str
    other: str
    other_source: str


class ServiceOut(Out):
    protocol: str
    transport: str
    port: int
    clients: int


class AssetDetail(AssetSummary):
    serial: str | None
    device_name: str | None
    os: str | None
    attributes: dict[str, Any]
    evidence: list[EvidenceOut]
    conflicts: list[ConflictOut]
    services: list[ServiceOut]


class ConversationOut(Out):
    id: int
    source: str
    client: str
    server: str
    client_asset_id: str | None
    server_asset_id: str | None
    protocol: str
    transport: str
    port: int
    flows: int
    packets: int
    bytes: int
    first_seen: float
    last_seen: float


class EventOut(Out):
    id: int
    source: str
    ts: float
    protocol: str
    action: str
    src: str | None
    dst: str | None
    src_port: int | None
    dst_port: int | None
    flow_id: int | None
    frame: int
    doc: dict[str, Any] = Field(description="The whole event as an ECS document")


# --- alerts and incidents ---------------------------------------------------------------------


class AlertSummary(Out):
    alert_id: str
    ts: float
    last_ts: float | None
    detector: str
    kind: str
    severity: str
    title: str
    technique_id: str
    technique: str
    src_ip: str | None
    dst_ip: str | None
    src_mac: str | None
    dst_mac: str | None
    protocol: str | None
    count: int
    status: str
    assignee: str | None


class AlertEvidenceOut(Out):
    ts: float
    frame: int
    flow_id: int | None
    protocol: str
    operation: str
    detail: str


class AlertDetail(AlertSummary):
    detected_ts: float | None
    explanation: str
    note: str | None
    status_changed_at: float | None
    status_changed_by: str | None
    evidence: list[AlertEvidenceOut]
    incident_ids: list[str]


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note | None = Field(default=None, description="Why; replaces the previous note")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: UserName | None = Field(description="A user's name, or null to unassign")


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)]
    alert_ids: list[Ident] = Field(min_length=1, max_length=1000)
    severity: Severity | None = Field(default=None, description="Default: the worst alert's")


class IncidentAlertsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_ids: list[Ident] = Field(min_length=1, max_length=1000)


class IncidentOut(Out):
    incident_id: str
    title: str
    severity: str
    status: str
    assignee: str | None
    note: str | None
    created_at: float
    updated_at: float
    created_by: str
    alert_ids: list[str]


class IncidentDetail(IncidentOut):
    alerts: list[AlertSummary]


# --- baselines, sensors, stats, audit ---------------------------------------------------------


class BaselineSummary(Out):
    name: str
    kind: str
    created_at: float
    updated_at: float
    has_state: bool
    blob_bytes: int


class BaselineDetail(BaselineSummary):
    state: dict[str, Any] | None
    blob_sha256: str | None


class SensorSummary(Out):
    """A live sensor's status: its state and the figures that say whether it keeps up."""

    name: str
    host: str | None
    interface: str
    state: str
    started_at: float
    updated_at: float = Field(description="When the sensor last reported (wall clock)")
    last_checkpoint_at: float | None = Field(
        description="When the sensor last wrote what it found to the store (wall clock)"
    )
    uptime_s: float
    captured: int
    processed: int
    kernel_received: int
    kernel_dropped: int
    queue_bytes: int
    queue_peak_bytes: int
    queue_waits: int


class SensorDetail(SensorSummary):
    settings: dict[str, Any]
    counters: dict[str, Any]


class Stats(BaseModel):
    assets: int
    assets_by_role: dict[str, int]
    assets_by_purdue_level: dict[str, int]
    alerts: int
    alerts_by_severity: dict[str, int]
    alerts_by_status: dict[str, int]
    incidents: int
    incidents_by_status: dict[str, int]
    conversations: int
    events: int


class TimeBucket(BaseModel):
    start: float
    total: int
    by_severity: dict[str, int]


class AlertsOverTime(BaseModel):
    bucket_s: int
    buckets: list[TimeBucket]


class AuditOut(Out):
    id: int
    at: float
    actor: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
