"""The audit log: every change an analyst, an admin or the CLI makes, with before and after."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from .models import AuditRow


def record(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: float | None = None,
) -> AuditRow:
    """Add one audit entry to ``session`` (committed with the change it describes)."""
    row = AuditRow(
        at=time.time() if at is None else at,
        actor=actor[:64],
        action=action[:64],
        target_type=target_type[:32],
        target_id=target_id[:255],
        before=before,
        after=after,
    )
    session.add(row)
    return row
