"""The checkpointer: where a paused graph waits, across restarts and processes.

SQLite by default (one file, WAL, a busy timeout so two processes do not hit
"database is locked", langgraph#8136); LangGraph's own saver, not ours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


@asynccontextmanager
async def open_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
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
async def studio_checkpointer() -> AsyncIterator[AsyncSqliteSaver]:
    """For `langgraph.json`'s `checkpointer.path`: the same file the CLI uses."""
    from agent.config import get_settings

    async with open_checkpointer(get_settings().incident_agent_checkpoint) as saver:
        yield saver
