"""Which Slack message shows which paused thread, in the checkpoint's SQLite file.

Keyed by interrupt id: the announcer reserves the key before posting, so a
re-run (a second `_settle`, a restarted process) never posts twice. A thread
keeps one message: a later pause of the same thread (an edit refused, a
service chosen) reuses the first row's channel and ts and updates it in
place, and the decision handler finds the message to update from the thread
id alone, after any restart.

One short-lived connection per operation, WAL and a busy timeout (through
`connect_sqlite`), so the CLI and the server can share the file and nobody
has to remember to close a store.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from agent.approvals.store import connect_sqlite

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_posts (
    interrupt_id TEXT PRIMARY KEY,
    thread_id    TEXT NOT NULL,
    channel      TEXT,
    ts           TEXT,
    created_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS slack_posts_thread ON slack_posts (thread_id, created_at);
"""


@dataclass(frozen=True)
class Post:
    interrupt_id: str
    thread_id: str
    channel: str
    ts: str


class PostStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def op() -> T:
            conn = connect_sqlite(self.path)
            try:
                conn.executescript(_SCHEMA)
                return fn(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(op)

    async def reserve(self, interrupt_id: str, thread_id: str) -> bool:
        """Claim the right to announce this interrupt; False if someone already did."""

        def op(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                """INSERT INTO slack_posts (interrupt_id, thread_id, created_at) VALUES (?, ?, ?)
                   ON CONFLICT(interrupt_id) DO NOTHING""",
                (interrupt_id, thread_id, time.time()),
            )
            return cur.rowcount == 1

        return await self._run(op)

    async def record(self, interrupt_id: str, channel: str, ts: str) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE slack_posts SET channel=?, ts=? WHERE interrupt_id=?", (channel, ts, interrupt_id)
            )
        )

    async def forget(self, interrupt_id: str) -> None:
        """Undo a reservation whose post failed, so a later run may try again."""
        await self._run(
            lambda c: c.execute(
                "DELETE FROM slack_posts WHERE interrupt_id=? AND ts IS NULL", (interrupt_id,)
            )
        )

    async def message_of(self, thread_id: str) -> Post | None:
        """The message that shows this thread (its first post), if one was made."""

        def op(c: sqlite3.Connection) -> Post | None:
            r = c.execute(
                """SELECT interrupt_id, thread_id, channel, ts FROM slack_posts
                   WHERE thread_id=? AND ts IS NOT NULL ORDER BY created_at LIMIT 1""",
                (thread_id,),
            ).fetchone()
            return Post(*r) if r else None

        return await self._run(op)

    async def get(self, interrupt_id: str) -> Post | None:
        def op(c: sqlite3.Connection) -> Post | None:
            r = c.execute(
                """SELECT interrupt_id, thread_id, channel, ts FROM slack_posts
                   WHERE interrupt_id=? AND ts IS NOT NULL""",
                (interrupt_id,),
            ).fetchone()
            return Post(*r) if r else None

        return await self._run(op)
