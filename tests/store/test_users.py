"""Users and tokens: only a hash is kept, revoked or disabled tokens stop working, all audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from otsight.store import transaction
from otsight.store.errors import Invalid, NotFound
from otsight.store.models import AuditRow, TokenRow, UserRow
from otsight.store.users import (
    Principal,
    add_user,
    authenticate,
    create_token,
    hash_token,
    revoke_token,
    set_role,
)


def test_token_authenticates_its_user_and_only_its_hash_is_stored(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as s:
        add_user(s, "ann", "analyst", actor="cli:root")
        token = create_token(s, "ann", label="laptop", actor="cli:root")
    assert token.startswith("ots_")
    assert len(token) > 40
    with sessions() as s:
        assert authenticate(s, token) == Principal("ann", "analyst")
        assert authenticate(s, token + "x") is None
        assert authenticate(s, "not-a-token") is None
        row = s.scalars(select(TokenRow)).one()
        assert row.token_hash == hash_token(token)
        assert row.prefix == token[:12]
        assert row.last_used_at is not None
        stored = [str(v) for v in s.execute(select(TokenRow.__table__)).one()]
        assert token not in stored
        actions = [a.action for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
        assert actions == ["user.add", "token.create"]


def test_revoked_tokens_and_disabled_users_are_refused(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        add_user(s, "vic", "viewer", actor="t")
        first = create_token(s, "vic", actor="t")
        second = create_token(s, "vic", actor="t")
    with transaction(sessions) as s:
        assert revoke_token(s, first[:12], actor="t") == 1
    with sessions() as s:
        assert authenticate(s, first) is None
        assert authenticate(s, second) == Principal("vic", "viewer")
    with transaction(sessions) as s:
        user = s.scalars(select(UserRow).where(UserRow.name == "vic")).one()
        user.disabled = True
    with sessions() as s:
        assert authenticate(s, second) is None


def test_roles_rank_viewer_analyst_admin(sessions: sessionmaker[Session]) -> None:
    assert Principal("a", "admin").can("analyst")
    assert Principal("a", "analyst").can("viewer")
    assert not Principal("v", "viewer").can("analyst")
    assert not Principal("a", "analyst").can("admin")
    with transaction(sessions) as s:
        add_user(s, "bob", "viewer", actor="t")
        set_role(s, "bob", "admin", actor="t")
    with sessions() as s:
        entry = s.scalars(select(AuditRow).where(AuditRow.action == "user.role")).one()
        assert (entry.before, entry.after) == ({"role": "viewer"}, {"role": "admin"})


@pytest.mark.parametrize(
    ("name", "role", "error", "message"),
    [
        ("ann", "superuser", Invalid, "role must be one of viewer, analyst, admin"),
        ("", "viewer", Invalid, "user name '' is not valid"),
        ("a b", "viewer", Invalid, "is not valid"),
        ("x" * 65, "viewer", Invalid, "is not valid"),
        ("dup", "viewer", Invalid, "already exists"),
    ],
)
def test_bad_users_are_refused_with_a_message(
    sessions: sessionmaker[Session], name: str, role: str, error: type[Exception], message: str
) -> None:
    with transaction(sessions) as s:
        add_user(s, "dup", "viewer", actor="t")
    with pytest.raises(error, match=message), transaction(sessions) as s:
        add_user(s, name, role, actor="t")


def test_tokens_for_unknown_users_and_short_prefixes_are_refused(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(NotFound, match="user 'ghost' not found"), transaction(sessions) as s:
        create_token(s, "ghost", actor="t")
    with pytest.raises(Invalid, match="first 12 characters"), transaction(sessions) as s:
        revoke_token(s, "ots_", actor="t")
    with pytest.raises(NotFound, match="no live token"), transaction(sessions) as s:
        revoke_token(s, "ots_AAAAAAAA", actor="t")
