"""The database beside the approvals, for the small stores that keep surface state:
Slack posts, webhook deliveries, the post-mortem schedule, intake alerts.

`open_database(settings, sqlite_file, tables)` is the one place that picks
where they live: Postgres when INCIDENT_AGENT_DATABASE_URL is set (the same
database as the approvals and checkpoints, its schema by Alembic), else the
SQLite file the store has always used (its tables made as they always were,
`schema.py`). The stores write portable SQL (named parameters,
`INSERT … ON CONFLICT`) through SQLAlchemy Core, so none of them asks which
database it talks to.

One engine per database per process (SQLAlchemy's own advice): Postgres
connections are pooled and pinged before use, so a restart or an idle
timeout costs a reconnect; SQLite opens a connection per operation (WAL, a
busy timeout), so the CLI and the server share the file and nobody has to
remember to close a store. The password stays inside SQLAlchemy's `URL`
object: never a string, never logged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from agent.config import Settings

T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def postgres_url(raw: str) -> URL:
    """`postgresql://`, `postgres://` or `postgresql+psycopg://` as SQLAlchemy's URL for psycopg 3
    (percent-encoded user and password decoded once, by SQLAlchemy)."""
    return make_url(raw).set(drivername="postgresql+psycopg")


def libpq_url(raw: str) -> str:
    """The same URL as psycopg and libpq read it (they refuse a `+driver` scheme)."""
    return postgres_url(raw).set(drivername="postgresql").render_as_string(hide_password=False)


def redacted(raw: str) -> str:
    """The URL for a log line: the password as `***`."""
    return postgres_url(raw).set(drivername="postgresql").render_as_string(hide_password=True)


class Database:
    """Run a function on a connection, in one transaction (committed on return)."""

    def __init__(self, engine: Engine, *, owned: bool = False) -> None:
        self.engine = engine
        self._owned = owned

    def close(self) -> None:
        """Close this store's own connections (a shared engine stays open for the others)."""
        if self._owned:
            self.engine.dispose()

    def run(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    async def arun(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self.run, fn)


def _sqlite_engine(path: Path, tables: str, *, keep_open: bool) -> Engine:
    from agent.approvals.store.schema import create_sqlite_tables

    path.parent.mkdir(parents=True, exist_ok=True)
    # One kept connection, lent to one thread at a time: writers queue in the pool, not in
    # SQLite's busy handler (which sleeps in steps).
    pool: dict[str, Any] = ({"pool_size": 1, "max_overflow": 0} if keep_open
                            else {"poolclass": NullPool})
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30.0, "check_same_thread": False},
                           **pool)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi: sqlite3.Connection, _record: Any) -> None:
        dbapi.execute("PRAGMA journal_mode=WAL")
        dbapi.execute("PRAGMA busy_timeout=30000")

    raw = engine.raw_connection()
    try:
        create_sqlite_tables(raw.driver_connection, tables)  # type: ignore[arg-type]
        raw.commit()
    finally:
        raw.close()
    return engine


def postgres_engine(raw: str, *, pool_size: int = 5) -> Engine:
    """The process's engine for this Postgres database, its schema brought to the newest revision."""
    url = postgres_url(raw)
    key = url.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size,
                                   connect_args={"connect_timeout": 10})
            migrate(engine)
            _engines[key] = engine
    return engine


def migrate(engine: Engine) -> None:
    """Bring the Postgres schema to Alembic's head (idempotent; workers starting together
    queue on an advisory lock in `migrations/env.py`). The connection is handed to
    Alembic: no URL goes through its config file parser (where `%` in a password breaks
    interpolation) or into its logs."""
    from alembic import command
    from alembic.config import Config

    with engine.connect() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def where(settings: Settings) -> str:
    """Where checkpoints, approvals and audit live, for a person: the SQLite file, or the
    Postgres URL with its password as `***` (unparsable: only the setting's name)."""
    url = settings.incident_agent_database_url
    if url is None:
        return str(settings.incident_agent_checkpoint)
    try:
        return redacted(url.get_secret_value())
    except Exception:  # never echo a URL we cannot redact
        return "(INCIDENT_AGENT_DATABASE_URL)"


def check(settings: Settings, timeout_s: int = 5) -> None:
    """Use the store once and raise the driver's error if it cannot be used: one Postgres
    connection, or the SQLite file made and opened for writing."""
    url = settings.incident_agent_database_url
    if url is None:
        path = Path(settings.incident_agent_checkpoint)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            return
    import psycopg

    with psycopg.connect(libpq_url(url.get_secret_value()), connect_timeout=timeout_s) as conn:
        conn.execute("SELECT 1")


def schema_status(raw: str) -> dict[str, Any]:
    """Where the Postgres schema and LangGraph's checkpoint tables are, and where this code
    expects them, read on a connection of its own (the workers' shared engine migrates when
    made, and would hide the revision found before an upgrade)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from langgraph.checkpoint.postgres.base import BasePostgresSaver
    from sqlalchemy import inspect, text

    from agent.approvals.store.migrations import VERSION_TABLE

    head = ScriptDirectory(str(Path(__file__).with_name("migrations"))).get_current_head()
    engine = _engine_of_its_own(raw)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
            saved = None
            if inspect(conn).has_table("checkpoint_migrations"):
                saved = conn.execute(text("SELECT max(v) FROM checkpoint_migrations")).scalar()
    finally:
        engine.dispose()
    checkpoints = {"current": saved, "head": len(BasePostgresSaver.MIGRATIONS) - 1}
    return {"schema": {"current": current, "head": head}, "checkpoints": checkpoints,
            "up_to_date": current == head and saved == checkpoints["head"]}


def upgrade(raw: str) -> None:
    """`migrate`, on a connection of its own (`incident-agent db upgrade`)."""
    engine = _engine_of_its_own(raw)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def _engine_of_its_own(raw: str) -> Engine:
    return create_engine(postgres_url(raw), poolclass=NullPool, connect_args={"connect_timeout": 10})


def open_database(settings: Settings | None, sqlite_file: Path, tables: str, *,
                  keep_open: bool = False) -> Database:
    """Where `tables` (a group of `schema.SQLITE`) live: the shared Postgres database when the
    settings name one (INCIDENT_AGENT_DATABASE_URL), else `sqlite_file`. Blocking the first
    time (it connects and migrates): call it off the event loop in servers.

    On SQLite, `keep_open` keeps a connection for a busy store (close it with the store);
    otherwise each operation opens and closes its own."""
    if settings is not None and settings.incident_agent_database_url is not None:
        return Database(postgres_engine(settings.incident_agent_database_url.get_secret_value()))
    path = Path(sqlite_file)
    if keep_open:
        return Database(_sqlite_engine(path, tables, keep_open=True), owned=True)
    key = f"sqlite:{path.resolve()}:{tables}"
    with _lock:
        engine = _engines.get(key)
        if engine is None or not path.exists():  # a deleted file is made again
            engine = _engines[key] = _sqlite_engine(path, tables, keep_open=False)
    return Database(engine)
