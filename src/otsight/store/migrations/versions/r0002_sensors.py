"""Sensors table.

A live sensor's status gets its own table; until now it was a JSON row of ``baselines`` (kind
``sensor-status``). Those rows move to ``sensors`` on upgrade, and back on downgrade.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 16:47:18.000000
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_KIND = "sensor-status"  # the baselines rows of sensor status before this revision
FIGURES = (  # counters that are columns of their own (all of them stay in ``counters`` too)
    "captured",
    "processed",
    "kernel_received",
    "kernel_dropped",
    "queue_bytes",
    "queue_peak_bytes",
    "queue_waits",
)

# The tables as this revision knows them (never the models: they move on).
baselines = sa.table(
    "baselines",
    sa.column("name", sa.String(length=128)),
    sa.column("kind", sa.String(length=64)),
    sa.column("state", sa.JSON()),
    sa.column("blob", sa.LargeBinary()),
    sa.column("created_at", sa.Double()),
    sa.column("updated_at", sa.Double()),
)
sensors = sa.table(
    "sensors",
    sa.column("name", sa.String(length=128)),
    sa.column("host", sa.String(length=255)),
    sa.column("interface", sa.String(length=64)),
    sa.column("state", sa.String(length=16)),
    sa.column("started_at", sa.Double()),
    sa.column("updated_at", sa.Double()),
    sa.column("last_checkpoint_at", sa.Double()),
    sa.column("uptime_s", sa.Double()),
    *(sa.column(name, sa.BigInteger()) for name in FIGURES),
    sa.column("settings", sa.JSON()),
    sa.column("counters", sa.JSON()),
)


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value) if value is not None else kind(0)
    except (TypeError, ValueError, OverflowError):
        return kind(0)


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _sensor_row(name: str, doc: Any, created_at: float, updated_at: float) -> dict[str, Any]:
    """A ``sensors`` row from a status baseline (``sensor:HOST:INTERFACE`` and its document)."""
    doc = _dict(doc)
    counters = _dict(doc.get("counters"))
    settings = _dict(doc.get("settings"))
    parts = name.split(":", 2)
    host = parts[1][:255] if len(parts) == 3 and parts[0] == "sensor" else None
    interface = counters.get("interface") or settings.get("interface") or ""
    if len(parts) == 3 and not interface:
        interface = parts[2]
    return {
        "name": name,
        "host": host,
        "interface": str(interface)[:64],
        "state": str(doc.get("state") or "unknown")[:16],
        "started_at": _number(doc.get("started_at", created_at), float),
        "updated_at": _number(doc.get("updated_at", updated_at), float),
        "last_checkpoint_at": None,
        "uptime_s": _number(counters.get("uptime_s"), float),
        **{figure: _number(counters.get(figure), int) for figure in FIGURES},
        "settings": settings,
        "counters": counters,
    }


def upgrade() -> None:
    op.create_table(
        "sensors",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("interface", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("last_checkpoint_at", sa.Double(), nullable=True),
        sa.Column("uptime_s", sa.Double(), nullable=False),
        sa.Column("captured", sa.BigInteger(), nullable=False),
        sa.Column("processed", sa.BigInteger(), nullable=False),
        sa.Column("kernel_received", sa.BigInteger(), nullable=False),
        sa.Column("kernel_dropped", sa.BigInteger(), nullable=False),
        sa.Column("queue_bytes", sa.BigInteger(), nullable=False),
        sa.Column("queue_peak_bytes", sa.BigInteger(), nullable=False),
        sa.Column("queue_waits", sa.BigInteger(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sensors")),
    )
    with op.batch_alter_table("sensors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sensors_updated_at"), ["updated_at"], unique=False)

    bind = op.get_bind()
    found = bind.execute(
        sa.select(
            baselines.c.name, baselines.c.state, baselines.c.created_at, baselines.c.updated_at
        ).where(baselines.c.kind == STATUS_KIND)
    ).all()
    if found:
        bind.execute(sensors.insert(), [_sensor_row(name, doc, c, u) for name, doc, c, u in found])
        bind.execute(baselines.delete().where(baselines.c.kind == STATUS_KIND))


def downgrade() -> None:
    bind = op.get_bind()
    found = bind.execute(
        sa.select(
            sensors.c.name,
            sensors.c.state,
            sensors.c.started_at,
            sensors.c.updated_at,
            sensors.c.settings,
            sensors.c.counters,
        )
    ).all()
    if found:
        bind.execute(
            baselines.insert(),
            [
                {
                    "name": name,
                    "kind": STATUS_KIND,
                    "state": {
                        "state": state,
                        "updated_at": updated_at,
                        "started_at": started_at,
                        "settings": settings,
                        "counters": counters,
                    },
                    "blob": None,
                    "created_at": started_at,
                    "updated_at": updated_at,
                }
                for name, state, started_at, updated_at, settings, counters in found
            ],
        )
    with op.batch_alter_table("sensors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sensors_updated_at"))

    op.drop_table("sensors")
