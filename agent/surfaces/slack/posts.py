"""Which Slack message shows which paused thread, in the checkpoint's SQLite file.

Keyed by interrupt id: the announcer reserves the key before posting, so a
re-run (a second `_settle`, a restarted process) never posts twice. A thread
keeps one message: a later pause of the same thread (an edit refused, a
service chosen) reuses the first row's channel and ts and updates it in
place, and the decision handler finds the message to update from the thread
id alone, after any restart.

Each row also keeps the request it showed (so the final message can say what
an edit changed) and when its decision was shown: `close` is a
compare-and-set, so the Slack handler and the runner's `decided` hook,
whichever comes first, update the message once.

One short-lived connection per operation, WAL and a busy timeout (through
`connect_sqlite`), so the CLI and the server can share the file and nobody
has to remember to close a store.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
_ADDED = [("request", "TEXT"), ("closed_at", "REAL")]


def _migrate(c: sqlite3.Connection) -> None:
    c.executescript(_SCHEMA)
    have = {r[1] for r in c.execute("PRAGMA table_info(slack_posts)")}
    for column, kind in _ADDED:
        if column not in have:
            c.execute(f"ALTER TABLE slack_posts ADD COLUMN {column} {kind}")


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
                _migrate(conn)
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

    async def record(
        self, interrupt_id: str, channel: str, ts: str, request: dict[str, Any] | None = None
    ) -> None:
        shown = json.dumps(request) if request is not None else None
        await self._run(
            lambda c: c.execute(
                "UPDATE slack_posts SET channel=?, ts=?, request=? WHERE interrupt_id=?",
                (channel, ts, shown, interrupt_id),
            )
        )

    async def latest(self, thread_id: str) -> tuple[Post, dict[str, Any] | None, bool] | None:
        """The thread's newest shown request: (its post, the request, whether its decision is shown)."""

        def op(c: sqlite3.Connection) -> tuple[Post, dict[str, Any] | None, bool] | None:
            r = c.execute(
                """SELECT interrupt_id, thread_id, channel, ts, request, closed_at FROM slack_posts
                   WHERE thread_id=? AND ts IS NOT NULL ORDER BY created_at DESC, rowid DESC LIMIT 1""",
                (thread_id,),
            ).fetchone()
            if r is None:
                return None
            return Post(*r[:4]), (json.loads(r[4]) if r[4] else None), r[5] is not None

        return await self._run(op)

    async def close(self, interrupt_id: str) -> bool:
        """Mark the decision on this interrupt as shown; False if someone already did."""

        def op(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "UPDATE slack_posts SET closed_at=? WHERE interrupt_id=? AND closed_at IS NULL",
                (time.time(), interrupt_id),
            )
            return cur.rowcount == 1

        return await self._run(op)

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
