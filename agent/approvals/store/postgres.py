"""The approvals store in Postgres: the same interface and semantics as the SQLite one,
for several workers on several hosts.

The claim's compare-and-set is a conditional `UPDATE` under the row lock (what
`BEGIN IMMEDIATE` is to SQLite), so two workers answering one interrupt cannot
both win; write records are upserts
(`INSERT … ON CONFLICT`). Rows keep SQLite's shape (JSON as text, times as
epoch seconds) so both stores read them with the same code (`_pending`).

An asyncio psycopg pool, opened on first use in the event loop that uses the
store (`aclose()` there too): a statement is awaited on the loop, with no
worker thread to wake on each side of it (a resume makes about six; through
threads each cost twice as long, and more when the CPU is busy). The pool
checks a connection before lending it (without a round trip unless there is
a reason, `liveness.py`), so a server-side idle timeout or a Postgres restart
costs a reconnect, not an error. Schema by Alembic (`migrations/`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from agent.approvals.store import liveness
from agent.approvals.store.database import libpq_url, postgres_engine
from agent.approvals.store.sqlite import (
    _AUDIT_COLUMNS,
    _LISTED,
    _ROW,
    HOST,
    LEASE_S,
    AlreadyDecided,
    ApprovalStore,
    Claim,
    PendingApproval,
    UnknownApproval,
    WriteRecord,
    _audit_entries,
    _audit_row,
    _listed,
    _pending,
    _record,
    _stranded,
)

T = TypeVar("T")

def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent; safe from many workers at once)."""
    postgres_engine(url)  # the process's engine for this database migrates once, when made


class PostgresApprovalStore(ApprovalStore):
    """Every method of `ApprovalStore`, on Postgres (tests check none is inherited)."""

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        """Blocking (it migrates): call it off the event loop in servers."""
        migrate(url)
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            libpq_url(url),
            min_size=1,
            max_size=max_size,
            check=liveness.acheck,  # a round trip only when there is a reason: liveness.py
            reset=liveness.areturned,
            timeout=30.0,
            # Autocommit: a one-statement operation is one round trip (a transaction's BEGIN
            # and COMMIT would be two more); the operations of several statements say so (`tx`).
            kwargs={"connect_timeout": 10, "autocommit": True},
            name="incident-agent-approvals",
            open=False,
        )
        self._finished: tuple[str, str] | None = None
        """The last finish recorded, while no other store call has followed it (`record_finish`)."""

    async def _pg(self, fn: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]], *,
                  tx: bool = False) -> T:
        """`fn` on a pooled connection: each statement commits on its own, or with `tx` all of
        them in one transaction (committed on return, rolled back on error)."""
        self._finished = None
        if self._pool.closed:  # first use; opening again is safe, and waits for the first
            await self._pool.open(wait=True, timeout=30.0)
        async with self._pool.connection() as c:
            if not tx:
                return await fn(c)
            async with c.transaction():
                return await fn(c)

    async def aclose(self) -> None:
        await self._pool.close()

    async def ping(self) -> None:
        await self._pg(lambda c: c.execute("SELECT 1"))

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
        await self._pg(lambda c: c.execute(
            """INSERT INTO approvals (thread_id, graph, interrupt_id, kind, prompt, request,
                                      status, error, created_at, updated_at, action, description)
               VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s)
               ON CONFLICT (thread_id) DO UPDATE SET interrupt_id=excluded.interrupt_id,
                 kind=excluded.kind, request=excluded.request, status='pending',
                 action=excluded.action, description=excluded.description,
                 error=excluded.error, claimed_by=NULL, claimed_at=NULL, holder_host=NULL,
                 holder_pid=NULL, lease_until=NULL, answer=NULL,
                 updated_at=excluded.updated_at""",
            (thread_id, graph, interrupt_id, kind, prompt, json.dumps(request), error, now, now,
             *_listed(request)),
        ))

    async def record_finish(self, thread_id: str, *, graph: str, prompt: str, status: str) -> None:
        # A graph's last node records its finish (for LangGraph's server, which has no runner),
        # then the runner records it again: that second call, the same thread and status with
        # no store call in between, has nothing to change and is not sent.
        if self._finished == (thread_id, status):
            self._finished = None
            return
        now = time.time()
        await self._pg(lambda c: c.execute(
            """INSERT INTO approvals (thread_id, graph, prompt, status, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (thread_id) DO UPDATE SET status=excluded.status,
                 interrupt_id=NULL, claimed_by=NULL, claimed_at=NULL, holder_host=NULL,
                 holder_pid=NULL, lease_until=NULL, answer=NULL, error=NULL,
                 updated_at=excluded.updated_at""",
            (thread_id, graph, prompt, status, now, now),
        ))
        self._finished = (thread_id, status)

    async def pending(self) -> list[PendingApproval]:
        async def op(c: psycopg.AsyncConnection[Any]) -> list[PendingApproval]:
            # The listed fields have columns of their own: a listing of thousands of threads
            # parses no request (`PendingApproval.request` parses one when it is read).
            rows = await (await c.execute(
                f"""SELECT {_ROW}, {_LISTED} FROM approvals WHERE status IN ('pending', 'claimed')
                    ORDER BY created_at"""
            )).fetchall()
            now = time.time()
            return [_pending(r, now) for r in rows]

        return await self._pg(op)

    async def get(self, thread_id: str) -> tuple[str, PendingApproval | None]:
        async def op(c: psycopg.AsyncConnection[Any]) -> tuple[str, PendingApproval | None]:
            r = await (await c.execute(f"SELECT {_ROW} FROM approvals WHERE thread_id = %s",
                                       (thread_id,))).fetchone()
            if r is None:
                raise UnknownApproval(f"no thread {thread_id!r}")
            if r[7] not in ("pending", "claimed"):
                return r[7], None
            return r[7], _pending(r, time.time())

        return await self._pg(op)

    async def claim(
        self,
        thread_id: str,
        interrupt_id: str,
        by: str,
        answer: dict[str, Any] | None = None,
        *,
        take_over: bool = False,
    ) -> Claim:
        """Compare-and-set: the first transaction to lock the row decides; a concurrent one
        waits, then sees 'claimed' and loses.

        A claim of a pending interrupt (every answer) is one conditional `UPDATE`: Postgres
        re-reads a row it waited for before applying the `WHERE`, so the loser updates
        nothing, and nobody pays for a transaction's four round trips. A take-over reads the
        row under `FOR UPDATE` first: whether its holder is dead is asked in Python."""
        now = time.time()
        claimed = (by, now, HOST, os.getpid(), now + LEASE_S,
                   json.dumps(answer) if answer is not None else None, now, thread_id, interrupt_id)
        update = """UPDATE approvals SET status='claimed', claimed_by=%s, claimed_at=%s,
                      holder_host=%s, holder_pid=%s, lease_until=%s, error=NULL,
                      answer=COALESCE(%s, answer), updated_at=%s
                    WHERE thread_id=%s AND interrupt_id=%s"""

        async def claim_pending(c: psycopg.AsyncConnection[Any]) -> int:
            if (await c.execute(update + " AND status='pending'", claimed)).rowcount:
                return 1
            known = await (await c.execute(
                "SELECT 1 FROM approvals WHERE thread_id=%s AND interrupt_id=%s",
                (thread_id, interrupt_id))).fetchone()
            return 0 if known else -1

        async def take_over_stranded(c: psycopg.AsyncConnection[Any]) -> int:
            r = await (await c.execute(
                f"SELECT {_ROW} FROM approvals WHERE thread_id=%s AND interrupt_id=%s FOR UPDATE",
                (thread_id, interrupt_id),
            )).fetchone()
            if r is None:
                return -1
            if not (r[7] == "claimed" and _stranded(r[9], r[10], r[11], now)):
                return 0
            await c.execute(update, claimed)
            return 1

        won = await (self._pg(take_over_stranded, tx=True) if take_over else self._pg(claim_pending))
        if won == -1:
            raise UnknownApproval(f"thread {thread_id!r} is not waiting on interrupt {interrupt_id!r}")
        if won == 0:
            raise AlreadyDecided(f"thread {thread_id!r} was already answered")
        return Claim(thread_id, interrupt_id, by)

    async def renew(self, claim: Claim) -> None:
        await self._pg(lambda c: c.execute(
            """UPDATE approvals SET lease_until=%s WHERE thread_id=%s AND interrupt_id=%s
                 AND status='claimed' AND holder_host=%s AND holder_pid=%s""",
            (time.time() + LEASE_S, claim.thread_id, claim.interrupt_id, HOST, os.getpid()),
        ))

    async def release(self, claim: Claim, *, error: str | None = None) -> None:
        async def op(c: psycopg.AsyncConnection[Any]) -> None:
            if error is None:
                await c.execute(
                    """UPDATE approvals SET status='pending', claimed_by=NULL, claimed_at=NULL,
                         holder_host=NULL, holder_pid=NULL, lease_until=NULL, answer=NULL
                       WHERE thread_id=%s AND interrupt_id=%s AND status='claimed'
                         AND claimed_by=%s""",
                    (claim.thread_id, claim.interrupt_id, claim.by),
                )
            else:  # keep the answer; a lease in the past makes it stranded at once
                await c.execute(
                    """UPDATE approvals SET lease_until=0, holder_pid=NULL, error=%s
                       WHERE thread_id=%s AND interrupt_id=%s AND status='claimed'""",
                    (error, claim.thread_id, claim.interrupt_id),
                )

        await self._pg(op)

    # ------------------------------------------------------------------ write records

    async def begin_write(
        self, key: str, *, thread_id: str, step: str, call: dict[str, Any]
    ) -> WriteRecord | None:
        now = time.time()

        async def op(c: psycopg.AsyncConnection[Any]) -> WriteRecord | None:
            # One statement, one round trip: the row as it was (locked), and marked 'sending'
            # unless it landed. Both parts see the row as it was before the statement.
            r = await (await c.execute(
                """WITH prior AS (
                     SELECT key, status, attempts, result, error FROM write_records
                     WHERE key=%s FOR UPDATE),
                   marked AS (
                     INSERT INTO write_records (key, thread_id, step, call, status, attempts,
                                                updated_at)
                     VALUES (%s, %s, %s, %s, 'sending', 1, %s)
                     ON CONFLICT (key) DO UPDATE SET status='sending',
                       attempts=write_records.attempts + 1, updated_at=excluded.updated_at
                     WHERE write_records.status <> 'landed')
                   SELECT * FROM prior""",
                (key, key, thread_id, step, json.dumps(call), now),
            )).fetchone()
            return _record(r) if r else None

        return await self._pg(op)

    async def write_record(self, key: str) -> WriteRecord | None:
        async def op(c: psycopg.AsyncConnection[Any]) -> WriteRecord | None:
            r = await (await c.execute(
                "SELECT key, status, attempts, result, error FROM write_records WHERE key=%s", (key,)
            )).fetchone()
            return _record(r) if r else None

        return await self._pg(op)

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

        # One statement (the record and its attempt, atomically): one round trip.
        await self._pg(lambda c: c.execute(
            """WITH done AS (
                 UPDATE write_records SET status=%s, result=%s, error=%s, updated_at=%s WHERE key=%s)
               INSERT INTO write_attempts (key, thread_id, step, at, outcome, detail)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            ("landed" if landed else "failed",
             json.dumps(result) if result is not None else None, error, now, key,
             key, thread_id, step, now, outcome, error),
        ))

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
        row = _audit_row(thread_id, interrupt_id, approver, decision, proposal, reasons, result, message)
        await self._pg(lambda c: c.execute(
            f"""INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (thread_id, interrupt_id) DO UPDATE SET
                  result=COALESCE(excluded.result, audit.result),
                  message=COALESCE(excluded.message, audit.message)""",
            row,
        ))

    async def audit_log(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        async def op(c: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
            where, args = (" WHERE thread_id = %s", (thread_id,)) if thread_id else ("", ())
            rows = await (await c.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit{where} ORDER BY id", args)).fetchall()
            attempts = await (await c.execute(
                f"SELECT thread_id, step, at, outcome, detail FROM write_attempts{where} ORDER BY id",
                args)).fetchall()
            return _audit_entries(rows, attempts)

        return await self._pg(op, tx=True)
