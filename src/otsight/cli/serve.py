"""`otsight serve`, `otsight user`, `otsight token`, `otsight db`: the API and who may use it.

Users and tokens are made here, by whoever can open the database, not through the API: the
first admin needs no admin to exist.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the store and the web app load only when a command runs: `otsight` starts fast
    from sqlalchemy.orm import Session

    from ..store.errors import StoreError

DB_HELP = "Database URL (sqlite:///PATH, postgresql+psycopg://...) or a SQLite file path."

user_app = typer.Typer(help="Users of the API and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (shown once when made).", no_args_is_help=True)
db_app = typer.Typer(help="The store's database.", no_args_is_help=True)

_err = Console(stderr=True)


def _db_option() -> Any:
    return typer.Option(None, "--db", envvar="OTSIGHT_DB", help=DB_HELP)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _fail(exc: StoreError) -> typer.Exit:
    from ..store.errors import Invalid, NotFound

    _err.print(f"[red]error:[/] {exc}", highlight=False)
    return typer.Exit(2 if isinstance(exc, Invalid | NotFound) else 1)


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    """A transaction on the database at ``db`` (its schema made if it is empty)."""
    from ..store.db import make_engine, session_factory, transaction
    from ..store.errors import StoreError
    from ..store.migrate import ensure_schema

    try:
        engine = make_engine(db)
    except StoreError as exc:
        raise _fail(exc) from exc
    try:
        ensure_schema(engine)
        with transaction(session_factory(engine)) as session:
            yield session
    except StoreError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()


def serve_command(
    db: str | None = _db_option(),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
) -> None:
    """Serve the web UI and the REST API (OpenAPI at /api/docs); an empty database gets the
    schema first."""
    import uvicorn

    from ..store.db import describe
    from ..store.errors import StoreError
    from ..web.app import create_app

    try:
        app = create_app(db)
    except StoreError as exc:
        raise _fail(exc) from exc
    _err.print(
        f"otsight web UI on http://{host}:{port}/ and API on http://{host}:{port}/api "
        f"(store: {describe(app.state.engine)})",
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="Letters, digits and _.@- (up to 64)."),
    role: str = typer.Option(..., "--role", help="One of viewer, analyst, admin."),
    db: str | None = _db_option(),
) -> None:
    """Create a user with a role (viewer reads, analyst triages, admin does everything)."""
    from ..store.users import add_user

    with _session(db) as session:
        add_user(session, name, role, actor=_actor())
    typer.echo(f"user {name} ({role}) created; make a token with: otsight token create {name}")


@user_app.command("list")
def user_list(db: str | None = _db_option()) -> None:
    """Users, their roles and how many live tokens they have."""
    from sqlalchemy import select

    from ..store.models import TokenRow, UserRow

    with _session(db) as session:
        table = Table("name", "role", "live tokens", "disabled")
        for user in session.scalars(select(UserRow).order_by(UserRow.name)):
            live = session.scalars(
                select(TokenRow.id).where(TokenRow.user_id == user.id, TokenRow.revoked.is_(False))
            ).all()
            table.add_row(user.name, user.role, str(len(live)), "yes" if user.disabled else "")
    Console().print(table)


@token_app.command("create")
def token_create(
    user: str = typer.Argument(..., help="The user the token acts as."),
    label: str = typer.Option("", "--label", help="What the token is for."),
    db: str | None = _db_option(),
) -> None:
    """Make a token for USER and print it: it is shown this once and never stored."""
    from ..store.users import create_token

    with _session(db) as session:
        token = create_token(session, user, label=label, actor=_actor())
    typer.echo(token)
    _err.print("keep it now: only its hash is stored. Send it as 'Authorization: Bearer <token>'.")


@token_app.command("list")
def token_list(db: str | None = _db_option()) -> None:
    """Tokens by prefix, user and label (never the tokens themselves)."""
    from sqlalchemy import select

    from ..store.models import TokenRow, UserRow

    with _session(db) as session:
        table = Table("prefix", "user", "label", "revoked")
        rows = session.execute(
            select(TokenRow, UserRow.name).join(UserRow).order_by(TokenRow.created_at)
        ).all()
        for tok, name in rows:
            table.add_row(tok.prefix, name, tok.label, "yes" if tok.revoked else "")
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    prefix: str = typer.Argument(..., help="The token's first 12 characters (see token list)."),
    db: str | None = _db_option(),
) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    from ..store.users import revoke_token

    with _session(db) as session:
        n = revoke_token(session, prefix, actor=_actor())
    typer.echo(f"revoked {n} token(s)")


@db_app.command("upgrade")
def db_upgrade(db: str | None = _db_option()) -> None:
    """Bring the database's schema to this otsight's revision (creates it if empty)."""
    from ..store.db import describe, make_engine
    from ..store.errors import StoreError
    from ..store.migrate import current_revision, head_revision, upgrade

    try:
        engine = make_engine(db)
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
        engine.dispose()
    except StoreError as exc:
        raise _fail(exc) from exc
    where = describe(engine)
    if before == after:
        typer.echo(f"{where}: already at revision {after}")
    else:
        typer.echo(
            f"{where}: upgraded from {before or 'empty'} to {after} (head {head_revision()})"
        )
