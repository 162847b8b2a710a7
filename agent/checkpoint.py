"""The checkpointer: where a paused graph waits, across restarts and processes.

SQLite by default (one file, WAL, a busy timeout so two processes do not hit
"database is locked", langgraph#8136); Postgres when
INCIDENT_AGENT_DATABASE_URL is set, so every worker resumes any thread.
LangGraph's own savers, not ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from agent.config import Settings

SETUP_LOCK_KEY = 0x1A_6E_48
"""Advisory lock around LangGraph's own migrations, so workers starting together run them once."""


@asynccontextmanager
async def open_checkpointer(where: Path | Settings) -> AsyncIterator[BaseCheckpointSaver]:
    """The saver for `where`: a SQLite file, or the store the settings name."""
    if not isinstance(where, Path):
        if where.incident_agent_database_url is not None:
            from agent.approvals.store.database import libpq_url

            async with _postgres(libpq_url(where.incident_agent_database_url.get_secret_value())) as saver:
                yield saver
            return
        where = where.incident_agent_checkpoint
    async with _sqlite(where) as saver:
        yield saver


@asynccontextmanager
async def _sqlite(path: Path) -> AsyncIterator[BaseCheckpointSaver]:
    # Imported here: the saver pulls in LangGraph's core (~0.3 s), which
    # `incident-agent --help` and `triage` never need.
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, timeout=30.0)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=30000")
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver
    finally:
        await conn.close()


@asynccontextmanager
async def _postgres(url: str) -> AsyncIterator[BaseCheckpointSaver]:
    """A pool that checks a connection before lending it (cheaply, `liveness`): a server-side
    idle timeout or a Postgres restart costs a reconnect, not a failed resume."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection
    from psycopg.rows import DictRow, dict_row
    from psycopg_pool import AsyncConnectionPool

    from agent.approvals.store import liveness

    pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        min_size=1,
        max_size=10,
        # A round trip only for a connection idle a while or whose socket shows the server
        # closed it, not before every use (about 30 a resume): see liveness.py.
        check=liveness.acheck,
        reset=liveness.areturned,
        # What AsyncPostgresSaver.from_conn_string sets: it commits itself and reads dicts.
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row,
                "connect_timeout": 10},
        name="incident-agent-checkpoints",
        open=False,
    )
    await pool.open(wait=True, timeout=30.0)
    try:
        saver = AsyncPostgresSaver(pool)
        async with pool.connection() as lock:
            await _take_setup_lock(lock)
            try:
                await saver.setup()
            finally:
                await lock.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
        yield saver
    finally:
        await pool.close()


async def _take_setup_lock(conn: Any, wait_s: float = 120.0) -> None:
    """Poll for the lock, never wait inside `pg_advisory_lock`: a statement that waits holds
    a snapshot, and setup's `CREATE INDEX CONCURRENTLY` waits for every older snapshot, so
    the workers waiting for the lock and the one holding it would wait for each other."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while not (await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS got",
                                         (SETUP_LOCK_KEY,))).fetchone())["got"]:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"another worker has held the checkpoint set-up lock for {wait_s:.0f} s")
        await asyncio.sleep(0.2)


@asynccontextmanager
async def studio_checkpointer() -> AsyncIterator[BaseCheckpointSaver]:
    """For `langgraph.json`'s `checkpointer.path`: the store the CLI uses."""
    from agent.config import get_settings

    async with open_checkpointer(get_settings()) as saver:
        yield saver
