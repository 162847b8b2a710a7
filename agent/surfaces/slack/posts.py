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

Kept beside the approvals (`agent.approvals.store.database`): the
checkpoint's SQLite file, or the shared Postgres database, where any worker
finds the message a click came from.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, text

from agent.approvals.store.database import Database, open_database

if TYPE_CHECKING:
    from agent.config import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Post:
    interrupt_id: str
    thread_id: str
    channel: str
    ts: str


class PostStore:
    def __init__(self, where: Settings | Path) -> None:
        """`where`: the settings (the approvals' database), or a SQLite file of its own."""
        self._where = where
        self._db: Database | None = None

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        if self._db is None:
            where = self._where
            settings, path = (None, where) if isinstance(where, Path) else (
                where, where.incident_agent_checkpoint)
            self._db = await asyncio.to_thread(open_database, settings, path, "slack_posts")
        return await self._db.arun(fn)

    async def reserve(self, interrupt_id: str, thread_id: str) -> bool:
        """Claim the right to announce this interrupt; False if someone already did."""
        return await self._run(lambda c: c.execute(
            text("""INSERT INTO slack_posts (interrupt_id, thread_id, created_at)
                    VALUES (:i, :t, :now) ON CONFLICT (interrupt_id) DO NOTHING"""),
            {"i": interrupt_id, "t": thread_id, "now": time.time()},
        ).rowcount == 1)

    async def record(
        self, interrupt_id: str, channel: str, ts: str, request: dict[str, Any] | None = None
    ) -> None:
        shown = json.dumps(request) if request is not None else None
        await self._run(lambda c: c.execute(
            text("UPDATE slack_posts SET channel=:c, ts=:ts, request=:r WHERE interrupt_id=:i"),
            {"c": channel, "ts": ts, "r": shown, "i": interrupt_id},
        ))

    async def latest(self, thread_id: str) -> tuple[Post, dict[str, Any] | None, bool] | None:
        """The thread's newest shown request: (its post, the request, whether its decision is shown)."""

        def op(c: Connection) -> tuple[Post, dict[str, Any] | None, bool] | None:
            r = c.execute(
                text("""SELECT interrupt_id, thread_id, channel, ts, request, closed_at FROM slack_posts
                        WHERE thread_id=:t AND ts IS NOT NULL ORDER BY created_at DESC LIMIT 1"""),
                {"t": thread_id},
            ).fetchone()
            if r is None:
                return None
            return Post(*r[:4]), (json.loads(r[4]) if r[4] else None), r[5] is not None

        return await self._run(op)

    async def close(self, interrupt_id: str) -> bool:
        """Mark the decision on this interrupt as shown; False if someone already did."""
        return await self._run(lambda c: c.execute(
            text("UPDATE slack_posts SET closed_at=:now WHERE interrupt_id=:i AND closed_at IS NULL"),
            {"now": time.time(), "i": interrupt_id},
        ).rowcount == 1)

    async def forget(self, interrupt_id: str) -> None:
        """Undo a reservation whose post failed, so a later run may try again."""
        await self._run(lambda c: c.execute(
            text("DELETE FROM slack_posts WHERE interrupt_id=:i AND ts IS NULL"), {"i": interrupt_id}
        ))

    async def message_of(self, thread_id: str) -> Post | None:
        """The message that shows this thread (its first post), if one was made."""

        def op(c: Connection) -> Post | None:
            r = c.execute(
                text("""SELECT interrupt_id, thread_id, channel, ts FROM slack_posts
                        WHERE thread_id=:t AND ts IS NOT NULL ORDER BY created_at LIMIT 1"""),
                {"t": thread_id},
            ).fetchone()
            return Post(*r) if r else None

        return await self._run(op)

    async def get(self, interrupt_id: str) -> Post | None:
        def op(c: Connection) -> Post | None:
            r = c.execute(
                text("""SELECT interrupt_id, thread_id, channel, ts FROM slack_posts
                        WHERE interrupt_id=:i AND ts IS NOT NULL"""),
                {"i": interrupt_id},
            ).fetchone()
            return Post(*r) if r else None

        return await self._run(op)
