"""`incident-agent db upgrade` and `db current`: the Postgres schema by hand.

Workers still migrate when they start (Alembic and LangGraph's checkpoint
tables, each under an advisory lock), so this is never required; it lets a
deploy apply a new revision once, see a failure in one place, and start the
workers after it (compose.yaml's `migrate` service). Only the Postgres
database of INCIDENT_AGENT_DATABASE_URL has migrations: the SQLite file makes
its tables when opened. The URL is shown with its password as `***`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import typer

from agent.config import get_settings
from agent.surfaces.cli import JsonOpt, _fail, _print_json, console

if TYPE_CHECKING:
    from agent.config import Settings

db_app = typer.Typer(help="The shared Postgres database: migrate it before starting workers.",
                     no_args_is_help=True)

def _database_url(settings: Settings, as_json: bool) -> str:
    url = settings.incident_agent_database_url
    if url is None or not url.get_secret_value().strip():
        raise _fail("INCIDENT_AGENT_DATABASE_URL is not set: only a Postgres database has migrations "
                    "(the SQLite file makes its tables when opened)", 2, as_json)
    return url.get_secret_value()


async def _set_up_checkpoints(settings: Settings) -> None:
    from agent.checkpoint import open_checkpointer

    async with open_checkpointer(settings):  # LangGraph's own migrations, under the workers' lock
        pass


def _connecting(raw: str, as_json: bool) -> typer.Exit:
    """A connection failure in one line: the redacted URL and the driver's first line
    (libpq names the host and the refusal, never the password)."""
    import sys

    from agent.approvals.store.database import redacted

    exc = sys.exc_info()[1]
    cause = getattr(exc, "orig", None) or exc
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return _fail(f"cannot use the database {redacted(raw)}: {first}", 1, as_json)


def _show(url: str, before: dict[str, Any] | None, after: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json({"database": url, **after, **({"before": before} if before is not None else {})})
        return
    console.print(f"database     {url}", markup=False, highlight=False)
    for part in ("schema", "checkpoints"):
        now, head = after[part]["current"], after[part]["head"]
        was = f"{before[part]['current']} → " if before and before[part]["current"] != now else ""
        state = "up to date" if now == head else "behind: run `incident-agent db upgrade`"
        console.print(f"{part:<12} {was}{now} (head {head}), {state}", markup=False, highlight=False)


@db_app.command()
def upgrade(as_json: JsonOpt = False) -> None:
    """Migrate to the newest schema (safe while workers run: they wait on the same lock)."""
    from sqlalchemy.exc import SQLAlchemyError

    from agent.approvals.store import database
    from agent.approvals.store.database import redacted, schema_status

    settings = get_settings()
    raw = _database_url(settings, as_json)
    try:
        before = schema_status(raw)
        database.upgrade(raw)
        asyncio.run(_set_up_checkpoints(settings))
        after = schema_status(raw)
    except (SQLAlchemyError, OSError):
        raise _connecting(raw, as_json) from None
    except Exception as exc:
        if type(exc).__module__.startswith("psycopg"):  # the checkpoint pool speaks psycopg directly
            raise _connecting(raw, as_json) from None
        raise
    _show(redacted(raw), before, after, as_json)


@db_app.command()
def current(as_json: JsonOpt = False) -> None:
    """Show the schema's revision and the newest; exit 1 when an upgrade is due."""
    from sqlalchemy.exc import SQLAlchemyError

    from agent.approvals.store.database import redacted, schema_status

    raw = _database_url(get_settings(), as_json)
    try:
        status = schema_status(raw)
    except (SQLAlchemyError, OSError):
        raise _connecting(raw, as_json) from None
    _show(redacted(raw), None, status, as_json)
    raise typer.Exit(0 if status["up_to_date"] else 1)


def register(app: typer.Typer) -> None:
    """Add `db` to the CLI."""
    app.add_typer(db_app, name="db")
