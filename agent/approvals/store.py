"""Durable record of approvals, next to the checkpoints (same SQLite file).

The checkpointer holds the paused graph; this store answers what the
checkpointer cannot cheaply: which threads wait for a human, and who may
resume one right now. LangGraph's checkpointers do not enforce one writer per
thread (langgraph#8796), so a resume first wins a compare-and-set on the
interrupt id here; a second click, a second terminal or a second worker loses
it and changes nothing.

Plain `sqlite3` in a worker thread: a few small statements, WAL and a busy
timeout so several processes can share the file without "database is locked".
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

T = TypeVar("T")

CLAIM_STALE_S = 300.0  # a claim older than this was left by a crashed process

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    thread_id    TEXT PRIMARY KEY,
    graph        TEXT NOT NULL,
    interrupt_id TEXT,
    kind         TEXT,
    prompt       TEXT NOT NULL DEFAULT '',
    request      TEXT,
    status       TEXT NOT NULL,
    claimed_by   TEXT,
    claimed_at   REAL,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id    TEXT NOT NULL,
    interrupt_id TEXT NOT NULL,
    at           REAL NOT NULL,
    approver     TEXT NOT NULL,
    decision     TEXT NOT NULL,
    proposal     TEXT NOT NULL,
    reasons      TEXT NOT NULL,
    result       TEXT,
    UNIQUE (thread_id, interrupt_id)
);
"""


@dataclass(frozen=True)
class PendingApproval:
    thread_id: str
    graph: str
    interrupt_id: str
    kind: str
    prompt: str
    request: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class Claim:
    thread_id: str
    interrupt_id: str
    by: str


class AlreadyDecided(Exception):
    """The approval was answered (or is being answered) by someone else."""


class UnknownApproval(Exception):
    """No paused thread with that id / interrupt id."""


def connect_sqlite(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class ApprovalStore:
    def __init__(self, path: Path) -> None:
        self._conn = connect_sqlite(path)
        self._conn.executescript(_SCHEMA)
        self._lock = asyncio.Lock()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            return await asyncio.to_thread(fn, self._conn)

    def close(self) -> None:
        self._conn.close()

    async def record_pause(
        self,
        thread_id: str,
        *,
        graph: str,
        interrupt_id: str,
        kind: str,
        prompt: str,
        request: dict[str, Any],
    ) -> None:
        now = time.time()

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """INSERT INTO approvals (thread_id, graph, interrupt_id, kind, prompt, request,
                                          status, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                   ON CONFLICT(thread_id) DO UPDATE SET interrupt_id=excluded.interrupt_id,
                     kind=excluded.kind, request=excluded.request, status='pending',
                     claimed_by=NULL, claimed_at=NULL, updated_at=excluded.updated_at""",
                (thread_id, graph, interrupt_id, kind, prompt, json.dumps(request), now, now),
            )

        await self._run(op)

    async def record_finish(self, thread_id: str, *, graph: str, prompt: str, status: str) -> None:
        now = time.time()

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """INSERT INTO approvals (thread_id, graph, prompt, status, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(thread_id) DO UPDATE SET status=excluded.status,
                     interrupt_id=NULL, claimed_by=NULL, claimed_at=NULL,
                     updated_at=excluded.updated_at""",
                (thread_id, graph, prompt, status, now, now),
            )

        await self._run(op)

    async def pending(self) -> list[PendingApproval]:
        def op(c: sqlite3.Connection) -> list[PendingApproval]:
            rows = c.execute(
                """SELECT thread_id, graph, interrupt_id, kind, prompt, request, created_at
                   FROM approvals WHERE status IN ('pending', 'claimed') ORDER BY created_at"""
            ).fetchall()
            return [
                PendingApproval(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows
            ]

        return await self._run(op)

    async def get(self, thread_id: str) -> tuple[str, PendingApproval | None]:
        """The thread's status and, when it waits, what it waits for."""

        def op(c: sqlite3.Connection) -> tuple[str, PendingApproval | None]:
            r = c.execute(
                """SELECT thread_id, graph, interrupt_id, kind, prompt, request, created_at, status
                   FROM approvals WHERE thread_id = ?""",
                (thread_id,),
            ).fetchone()
            if r is None:
                raise UnknownApproval(f"no thread {thread_id!r}")
            if r[7] not in ("pending", "claimed"):
                return r[7], None
            return r[7], PendingApproval(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6])

        return await self._run(op)

    async def claim(self, thread_id: str, interrupt_id: str, by: str) -> Claim:
        """Compare-and-set: only one answer per interrupt wins."""
        now = time.time()

        def op(c: sqlite3.Connection) -> int:
            cur = c.execute(
                """UPDATE approvals SET status='claimed', claimed_by=?, claimed_at=?, updated_at=?
                   WHERE thread_id=? AND interrupt_id=?
                     AND (status='pending' OR (status='claimed' AND claimed_at < ?))""",
                (by, now, now, thread_id, interrupt_id, now - CLAIM_STALE_S),
            )
            if cur.rowcount == 1:
                return 1
            exists = c.execute(
                "SELECT status FROM approvals WHERE thread_id=? AND interrupt_id=?",
                (thread_id, interrupt_id),
            ).fetchone()
            return 0 if exists else -1

        won = await self._run(op)
        if won == -1:
            raise UnknownApproval(f"thread {thread_id!r} is not waiting on interrupt {interrupt_id!r}")
        if won == 0:
            raise AlreadyDecided(f"thread {thread_id!r} was already answered")
        return Claim(thread_id, interrupt_id, by)

    async def release(self, claim: Claim) -> None:
        """Give a claim back when the answer was refused (malformed, invalid edit)."""

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """UPDATE approvals SET status='pending', claimed_by=NULL, claimed_at=NULL
                   WHERE thread_id=? AND interrupt_id=? AND status='claimed' AND claimed_by=?""",
                (claim.thread_id, claim.interrupt_id, claim.by),
            )

        await self._run(op)

    async def audit(
        self,
        *,
        thread_id: str,
        interrupt_id: str,
        approver: dict[str, Any],
        decision: str,
        proposal: dict[str, Any],
        reasons: list[str],
        result: dict[str, Any] | None,
    ) -> None:
        """One row per answered interrupt; a node re-run does not write a second."""

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """INSERT INTO audit (thread_id, interrupt_id, at, approver, decision, proposal,
                                      reasons, result)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(thread_id, interrupt_id) DO UPDATE SET
                     result=COALESCE(excluded.result, audit.result)""",
                (
                    thread_id,
                    interrupt_id,
                    time.time(),
                    json.dumps(approver),
                    decision,
                    json.dumps(proposal),
                    json.dumps(reasons),
                    json.dumps(result) if result is not None else None,
                ),
            )

        await self._run(op)

    async def audit_log(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        def op(c: sqlite3.Connection) -> list[dict[str, Any]]:
            sql = """SELECT thread_id, interrupt_id, at, approver, decision, proposal, reasons,
                            result FROM audit"""
            args: tuple[Any, ...] = ()
            if thread_id:
                sql += " WHERE thread_id = ?"
                args = (thread_id,)
            rows = c.execute(sql + " ORDER BY id", args).fetchall()
            return [
                {
                    "thread_id": r[0],
                    "interrupt_id": r[1],
                    "at": r[2],
                    "approver": json.loads(r[3]),
                    "decision": r[4],
                    "proposal": json.loads(r[5]),
                    "reasons": json.loads(r[6]),
                    "result": json.loads(r[7]) if r[7] else None,
                }
                for r in rows
            ]

        return await self._run(op)
