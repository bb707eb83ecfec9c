"""Users, roles and API tokens.

A token is shown once when it is made; the store keeps only its sha256 (to check it) and its
first characters (so a person can tell tokens apart and revoke one).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import Invalid, NotFound
from .models import USER_ROLES, TokenRow, UserRow

TOKEN_PREFIX = "ots_"
PREFIX_LEN = 12  # "ots_" and 8 random characters: enough to tell tokens apart
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
ROLE_RANK = {role: rank for rank, role in enumerate(USER_ROLES)}
TOUCH_EVERY_S = 60.0  # last_used_at is refreshed at most this often (a write per request is waste)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user's name and role, as the API's handlers see it."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True if this principal's role is ``role`` or above (viewer < analyst < admin)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise Invalid(f"role must be one of {', '.join(USER_ROLES)}, got {role!r}")
    return role


def get_user(session: Session, name: str) -> UserRow:
    user = session.scalar(select(UserRow).where(UserRow.name == name))
    if user is None:
        raise NotFound(f"user {name!r} not found")
    return user


def add_user(session: Session, name: str, role: str, *, actor: str) -> UserRow:
    """Create user ``name`` with ``role``; names are letters, digits and ``_.@-``."""
    if not NAME_RE.fullmatch(name):
        raise Invalid(
            f"user name {name[:80]!r} is not valid: 1-64 letters, digits or _.@- "
            "starting with a letter or digit"
        )
    check_role(role)
    if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
        raise Invalid(f"user {name!r} already exists")
    user = UserRow(name=name, role=role, disabled=False, created_at=time.time())
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", "user", name, after={"role": role})
    return user


def set_role(session: Session, name: str, role: str, *, actor: str) -> UserRow:
    user = get_user(session, name)
    before = {"role": user.role}
    user.role = check_role(role)
    audit.record(session, actor, "user.role", "user", name, before=before, after={"role": role})
    return user


def create_token(session: Session, user_name: str, *, label: str = "", actor: str) -> str:
    """Make a token for ``user_name`` and return it: the only time it can be seen."""
    user = get_user(session, user_name)
    if user.disabled:
        raise Invalid(f"user {user_name!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(
        user_id=user.id,
        prefix=token[:PREFIX_LEN],
        token_hash=hash_token(token),
        label=label[:128],
        created_at=time.time(),
        revoked=False,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "token.create",
        "token",
        row.prefix,
        after={"user": user_name, "label": label},
    )
    return token


def revoke_token(session: Session, prefix: str, *, actor: str) -> int:
    """Revoke every live token starting with ``prefix``; returns how many."""
    if len(prefix) < PREFIX_LEN:
        raise Invalid(f"give the token's first {PREFIX_LEN} characters (as `token list` shows)")
    rows = session.scalars(
        select(TokenRow).where(TokenRow.prefix == prefix[:PREFIX_LEN], TokenRow.revoked.is_(False))
    ).all()
    if not rows:
        raise NotFound(f"no live token starts with {prefix[:PREFIX_LEN]!r}")
    for row in rows:
        row.revoked = True
        audit.record(
            session,
            actor,
            "token.revoke",
            "token",
            row.prefix,
            before={"revoked": False},
            after={"revoked": True},
        )
    return len(rows)


def authenticate(session: Session, token: str, *, now: float | None = None) -> Principal | None:
    """The user a live token belongs to, or None (unknown, revoked, or user disabled)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(token)))
    if row is None or row.revoked or row.user.disabled:
        return None
    stamp = time.time() if now is None else now
    if row.last_used_at is None or stamp - row.last_used_at > TOUCH_EVERY_S:
        row.last_used_at = stamp
        session.commit()
    return Principal(row.user.name, row.user.role)
