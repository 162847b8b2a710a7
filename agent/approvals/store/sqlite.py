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
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

LEASE_S = 60.0
"""A claim lasts this long unless its holder renews it; then another process may take it over."""

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
CREATE TABLE IF NOT EXISTS write_records (
    key          TEXT PRIMARY KEY,
    thread_id    TEXT NOT NULL,
    step         TEXT NOT NULL,
    call         TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    result       TEXT,
    error        TEXT,
    updated_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS write_records_by_thread ON write_records (thread_id);
CREATE TABLE IF NOT EXISTS write_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    step         TEXT NOT NULL,
    at           REAL NOT NULL,
    outcome      TEXT NOT NULL,
    detail       TEXT
);
CREATE INDEX IF NOT EXISTS write_attempts_by_thread ON write_attempts (thread_id);
CREATE INDEX IF NOT EXISTS approvals_open ON approvals (status, created_at);
"""

# Columns added after the first release: (table, column, type). Applied once, in order.
_ADDED_COLUMNS = [
    ("approvals", "holder_host", "TEXT"),
    ("approvals", "holder_pid", "INTEGER"),
    ("approvals", "lease_until", "REAL"),
    ("approvals", "answer", "TEXT"),
    ("approvals", "error", "TEXT"),
    ("audit", "message", "TEXT"),
    ("approvals", "action", "TEXT"),  # what a listing shows, without parsing the request
    ("approvals", "description", "TEXT"),
]

HOST = socket.gethostname()

_ROW = """thread_id, graph, interrupt_id, kind, prompt, request, created_at, status, claimed_by,
          holder_host, holder_pid, lease_until, answer, error"""


@dataclass(frozen=True)
class PendingApproval:
    """A thread that waits for a human: an answer, a choice, or a decision on a failed write."""

    thread_id: str
    graph: str
    interrupt_id: str
    kind: str
    """awaiting_approval, needs_input, or failed."""
    prompt: str
    request_json: str = field(repr=False)
    """The request as stored; `request` parses it when first read (a listing of thousands
    of threads reads only `action` and `description`)."""
    created_at: float
    error: str | None = None
    """For a failed write: what went wrong and what to do, in plain words."""
    answer: dict[str, Any] | None = None
    """The answer recorded by a claim whose holder stopped (a crash): `retry` finishes it."""
    stranded: bool = False
    """Claimed by a process that died or stopped renewing its lease."""
    listed: tuple[str, str] | None = field(default=None, repr=False)
    """(action, description), when the store's query took them out of the request itself."""

    @cached_property
    def request(self) -> dict[str, Any]:
        """The interrupt's request: what is asked, and which decisions are allowed."""
        parsed: dict[str, Any] = json.loads(self.request_json)
        return parsed

    @property
    def action(self) -> str:
        """The proposed action's name (the first action request's)."""
        return self.listed[0] if self.listed else str(self.request["action_requests"][0]["name"])

    @property
    def description(self) -> str:
        if self.listed:
            return self.listed[1]
        return str(self.request["action_requests"][0].get("description", ""))


@dataclass(frozen=True)
class Claim:
    thread_id: str
    interrupt_id: str
    by: str


@dataclass(frozen=True)
class WriteRecord:
    key: str
    status: str
    """sending (outcome unknown), landed, or failed."""
    attempts: int
    result: dict[str, Any] | None
    error: str | None


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


def _migrate(conn: sqlite3.Connection) -> None:
    from agent.approvals.store.schema import add_columns

    conn.executescript(_SCHEMA)
    add_columns(conn, _ADDED_COLUMNS)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _stranded(host: str | None, pid: int | None, lease_until: float | None, now: float) -> bool:
    """A claim nobody is working on: its holder died here, or its lease ran out anywhere."""
    if host == HOST and pid is not None and pid != os.getpid() and not _pid_alive(pid):
        return True
    return lease_until is None or lease_until < now


_LISTED = "action, description"
"""Selected after `_ROW` by `pending()`: what a listing shows."""


def _listed(request: dict[str, Any]) -> tuple[str, str]:
    """(action, description) of a request, as `record_pause` stores them beside it."""
    first = (request.get("action_requests") or [{}])[0]
    return str(first.get("name", "")), str(first.get("description", ""))


def _pending(r: Any, now: float) -> PendingApproval:
    stranded = r[7] == "claimed" and _stranded(r[9], r[10], r[11], now)
    error = r[13]
    if stranded:
        why = error or (f"the process applying the approval of {r[8] or 'someone'} stopped "
                        f"before it finished (pid {r[10]} on {r[9]})")
        error = (f"{why}; `incident-agent retry {r[0]}` checks PagerDuty and finishes it, "
                 f"`incident-agent reject {r[0]}` closes it without writing")
    return PendingApproval(
        thread_id=r[0], graph=r[1], interrupt_id=r[2],
        kind="failed" if stranded else r[3], prompt=r[4], request_json=r[5],
        created_at=r[6], error=error, answer=json.loads(r[12]) if r[12] else None,
        stranded=stranded, listed=(r[14], r[15] or "") if len(r) > 15 and r[14] is not None else None,
    )


def _record(r: Any) -> WriteRecord:
    """A write record from (key, status, attempts, result, error)."""
    return WriteRecord(r[0], r[1], r[2], json.loads(r[3]) if r[3] else None, r[4])


def _audit_row(
    thread_id: str, interrupt_id: str, approver: dict[str, Any], decision: str,
    proposal: dict[str, Any], reasons: list[str], result: dict[str, Any] | None, message: str | None,
) -> tuple[Any, ...]:
    """An audit row's values, in `_AUDIT_COLUMNS` order (JSON as text, time as epoch seconds)."""
    return (thread_id, interrupt_id, time.time(), json.dumps(approver), decision, json.dumps(proposal),
            json.dumps(reasons), json.dumps(result) if result is not None else None, message)


_AUDIT_COLUMNS = "thread_id, interrupt_id, at, approver, decision, proposal, reasons, result, message"


def _audit_entries(rows: list[Any], attempts: list[Any]) -> list[dict[str, Any]]:
    """`audit_log`'s answer from audit rows and write attempts (thread, step, at, outcome, detail)."""
    tries: dict[str, list[dict[str, Any]]] = {}
    for t in attempts:
        tries.setdefault(t[0], []).append({"step": t[1], "at": t[2], "outcome": t[3], "error": t[4]})
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
            "message": r[8],
            "attempts": tries.get(r[0], []) if r[4] != "reject" else [],
        }
        for r in rows
    ]


class ApprovalStore:
    def __init__(self, path: Path) -> None:
        self._conn = connect_sqlite(path)
        _migrate(self._conn)
        self._lock = asyncio.Lock()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            return await asyncio.to_thread(fn, self._conn)

    async def aclose(self) -> None:
        """Close the store, in the event loop that used it (a Postgres pool belongs to it)."""
        async with self._lock:  # after the call in progress, if any
            self._conn.close()

    async def ping(self) -> None:
        """Raise unless the database answers (for `/readyz`)."""
        await self._run(lambda c: c.execute("SELECT 1").fetchone())

    async def record_pause(
        self,
        thread_id: str,
        *,
        graph: str,
        interrupt_id: str,
        kind: str,
        prompt: str,
        request: dict[str, Any],
        error: str | None = None,
    ) -> None:
        now = time.time()

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """INSERT INTO approvals (thread_id, graph, interrupt_id, kind, prompt, request,
                                          status, error, created_at, updated_at, action, description)
                   VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)
                   ON CONFLICT(thread_id) DO UPDATE SET interrupt_id=excluded.interrupt_id,
                     kind=excluded.kind, request=excluded.request, status='pending',
                     action=excluded.action, description=excluded.description,
                     error=excluded.error, claimed_by=NULL, claimed_at=NULL, holder_host=NULL,
                     holder_pid=NULL, lease_until=NULL, answer=NULL,
                     updated_at=excluded.updated_at""",
                (thread_id, graph, interrupt_id, kind, prompt, json.dumps(request), error, now, now,
                 *_listed(request)),
            )

        await self._run(op)

    async def record_finish(self, thread_id: str, *, graph: str, prompt: str, status: str) -> None:
        now = time.time()

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """INSERT INTO approvals (thread_id, graph, prompt, status, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(thread_id) DO UPDATE SET status=excluded.status,
                     interrupt_id=NULL, claimed_by=NULL, claimed_at=NULL, holder_host=NULL,
                     holder_pid=NULL, lease_until=NULL, answer=NULL, error=NULL,
                     updated_at=excluded.updated_at""",
                (thread_id, graph, prompt, status, now, now),
            )

        await self._run(op)

    async def pending(self) -> list[PendingApproval]:
        """Every thread that waits for a human, oldest first; stranded claims show as failed."""

        def op(c: sqlite3.Connection) -> list[PendingApproval]:
            rows = c.execute(
                f"""SELECT {_ROW}, {_LISTED} FROM approvals WHERE status IN ('pending', 'claimed')
                    ORDER BY created_at"""
            ).fetchall()
            now = time.time()
            return [_pending(r, now) for r in rows]

        return await self._run(op)

    async def get(self, thread_id: str) -> tuple[str, PendingApproval | None]:
        """The thread's status and, when it waits (or was stranded mid-write), what for."""

        def op(c: sqlite3.Connection) -> tuple[str, PendingApproval | None]:
            r = c.execute(f"SELECT {_ROW} FROM approvals WHERE thread_id = ?", (thread_id,)).fetchone()
            if r is None:
                raise UnknownApproval(f"no thread {thread_id!r}")
            if r[7] not in ("pending", "claimed"):
                return r[7], None
            return r[7], _pending(r, time.time())

        return await self._run(op)

    async def claim(
        self,
        thread_id: str,
        interrupt_id: str,
        by: str,
        answer: dict[str, Any] | None = None,
        *,
        take_over: bool = False,
    ) -> Claim:
        """Compare-and-set: only one answer per interrupt wins.

        The answer is recorded with the claim, so a process that dies after the
        human said yes leaves the yes behind: `retry` takes the claim over (once
        its holder is dead here, or its lease ran out) and finishes under it.
        """
        now = time.time()

        def op(c: sqlite3.Connection) -> int:
            c.execute("BEGIN IMMEDIATE")  # read and update as one step, across processes
            try:
                r = c.execute(
                    f"SELECT {_ROW} FROM approvals WHERE thread_id=? AND interrupt_id=?",
                    (thread_id, interrupt_id),
                ).fetchone()
                if r is None:
                    return -1
                free = r[7] == "pending" and not take_over
                stranded = r[7] == "claimed" and _stranded(r[9], r[10], r[11], now)
                if not (free or (take_over and stranded)):
                    return 0
                c.execute(
                    """UPDATE approvals SET status='claimed', claimed_by=?, claimed_at=?,
                         holder_host=?, holder_pid=?, lease_until=?, error=NULL,
                         answer=COALESCE(?, answer), updated_at=?
                       WHERE thread_id=? AND interrupt_id=?""",
                    (by, now, HOST, os.getpid(), now + LEASE_S,
                     json.dumps(answer) if answer is not None else None, now,
                     thread_id, interrupt_id),
                )
                return 1
            finally:
                c.execute("COMMIT")

        won = await self._run(op)
        if won == -1:
            raise UnknownApproval(f"thread {thread_id!r} is not waiting on interrupt {interrupt_id!r}")
        if won == 0:
            raise AlreadyDecided(f"thread {thread_id!r} was already answered")
        return Claim(thread_id, interrupt_id, by)

    async def renew(self, claim: Claim) -> None:
        """Keep a live claim from looking stranded while its write is in progress."""

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """UPDATE approvals SET lease_until=? WHERE thread_id=? AND interrupt_id=?
                     AND status='claimed' AND holder_host=? AND holder_pid=?""",
                (time.time() + LEASE_S, claim.thread_id, claim.interrupt_id, HOST, os.getpid()),
            )

        await self._run(op)

    async def release(self, claim: Claim, *, error: str | None = None) -> None:
        """Give a claim back: the answer was refused, or the run stopped with an error
        (then the thread shows as failed, with `error`, until someone retries it)."""

        def op(c: sqlite3.Connection) -> None:
            if error is None:
                c.execute(
                    """UPDATE approvals SET status='pending', claimed_by=NULL, claimed_at=NULL,
                         holder_host=NULL, holder_pid=NULL, lease_until=NULL, answer=NULL
                       WHERE thread_id=? AND interrupt_id=? AND status='claimed' AND claimed_by=?""",
                    (claim.thread_id, claim.interrupt_id, claim.by),
                )
            else:  # keep the answer; a lease in the past makes it stranded at once
                c.execute(
                    """UPDATE approvals SET lease_until=0, holder_pid=NULL, error=?
                       WHERE thread_id=? AND interrupt_id=? AND status='claimed'""",
                    (error, claim.thread_id, claim.interrupt_id),
                )

        await self._run(op)

    # ------------------------------------------------------------------ write records

    async def begin_write(
        self, key: str, *, thread_id: str, step: str, call: dict[str, Any]
    ) -> WriteRecord | None:
        """Record, before sending, that this write is about to go out; returns what an
        earlier attempt left (None for a first attempt). Committed before the send."""
        now = time.time()

        def op(c: sqlite3.Connection) -> WriteRecord | None:
            r = c.execute(
                "SELECT key, status, attempts, result, error FROM write_records WHERE key=?", (key,)
            ).fetchone()
            prior = _record(r) if r else None
            if prior is not None and prior.status == "landed":
                return prior
            c.execute(
                """INSERT INTO write_records (key, thread_id, step, call, status, attempts, updated_at)
                   VALUES (?, ?, ?, ?, 'sending', 1, ?)
                   ON CONFLICT(key) DO UPDATE SET status='sending',
                     attempts=write_records.attempts + 1, updated_at=excluded.updated_at""",
                (key, thread_id, step, json.dumps(call), now),
            )
            return prior

        return await self._run(op)

    async def write_record(self, key: str) -> WriteRecord | None:
        def op(c: sqlite3.Connection) -> WriteRecord | None:
            r = c.execute(
                "SELECT key, status, attempts, result, error FROM write_records WHERE key=?", (key,)
            ).fetchone()
            return _record(r) if r else None

        return await self._run(op)

    async def finish_write(
        self,
        key: str,
        *,
        thread_id: str,
        step: str,
        landed: bool,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        found_earlier: bool = False,
    ) -> None:
        now = time.time()
        outcome = ("found landed" if found_earlier else "landed") if landed else "failed"

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                """UPDATE write_records SET status=?, result=?, error=?, updated_at=? WHERE key=?""",
                ("landed" if landed else "failed",
                 json.dumps(result) if result is not None else None, error, now, key),
            )
            c.execute(
                """INSERT INTO write_attempts (key, thread_id, step, at, outcome, detail)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (key, thread_id, step, now, outcome, error),
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
        message: str | None = None,
    ) -> None:
        """One row per answered interrupt; a node re-run does not write a second.
        `message` is the human's own words (a reject's reason)."""

        row = _audit_row(thread_id, interrupt_id, approver, decision, proposal, reasons, result, message)
        await self._run(lambda c: c.execute(
            f"""INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(thread_id, interrupt_id) DO UPDATE SET
                  result=COALESCE(excluded.result, audit.result),
                  message=COALESCE(excluded.message, audit.message)""",
            row,
        ))

    async def audit_log(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        def op(c: sqlite3.Connection) -> list[dict[str, Any]]:
            where, args = (" WHERE thread_id = ?", (thread_id,)) if thread_id else ("", ())
            rows = c.execute(f"SELECT {_AUDIT_COLUMNS} FROM audit{where} ORDER BY id", args).fetchall()
            attempts = c.execute("SELECT thread_id, step, at, outcome, detail FROM write_attempts"
                                 f"{where} ORDER BY id", args).fetchall()
            return _audit_entries(rows, attempts)

        return await self._run(op)
