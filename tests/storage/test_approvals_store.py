"""The approvals store's behaviour, the same over SQLite and Postgres: pauses and
finishes, the compare-and-set claim, leases and take-over, write records, audit."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time

import pytest

from agent.approvals.store import (
    LEASE_S,
    AlreadyDecided,
    ApprovalStore,
    PendingApproval,
    UnknownApproval,
    WriteRecord,
)

REQUEST = {"action_requests": [{"name": "create_incident", "args": {"title": "x"}}]}


async def pause(store: ApprovalStore, thread: str = "t1", interrupt: str = "i1") -> None:
    await store.record_pause(thread, graph="incident_response", interrupt_id=interrupt,
                             kind="awaiting_approval", prompt="open an incident", request=REQUEST)


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


async def test_a_pause_is_pending_and_a_finish_is_not(store: ApprovalStore) -> None:
    await pause(store, "t1")
    await pause(store, "t2", "i2")
    [a, b] = await store.pending()
    assert (a.thread_id, b.thread_id) == ("t1", "t2")
    assert isinstance(a, PendingApproval)
    assert (a.kind, a.prompt, a.request, a.stranded, a.answer) == (
        "awaiting_approval", "open an incident", REQUEST, False, None)
    await store.record_finish("t1", graph="incident_response", prompt="open an incident", status="done")
    assert [p.thread_id for p in await store.pending()] == ["t2"]
    assert await store.get("t1") == ("done", None)
    status, waiting = await store.get("t2")
    assert status == "pending" and waiting is not None and waiting.interrupt_id == "i2"
    with pytest.raises(UnknownApproval):
        await store.get("nope")


async def test_one_claim_wins_and_records_the_answer(store: ApprovalStore) -> None:
    await pause(store)
    claim = await store.claim("t1", "i1", "susan", {"type": "accept"})
    assert (claim.thread_id, claim.interrupt_id, claim.by) == ("t1", "i1", "susan")
    with pytest.raises(AlreadyDecided):
        await store.claim("t1", "i1", "arjun", {"type": "reject"})
    with pytest.raises(UnknownApproval):
        await store.claim("t1", "other-interrupt", "arjun")
    status, p = await store.get("t1")
    assert status == "claimed" and p is not None and p.answer == {"type": "accept"}
    assert not p.stranded  # held by this live process, lease running


async def test_a_live_claim_cannot_be_taken_over(store: ApprovalStore) -> None:
    await pause(store)
    await store.claim("t1", "i1", "susan", {"type": "accept"})
    with pytest.raises(AlreadyDecided):
        await store.claim("t1", "i1", "retry", take_over=True)
    # take_over is for stranded claims only, not for a free one
    await pause(store, "t2", "i2")
    with pytest.raises(AlreadyDecided):
        await store.claim("t2", "i2", "retry", take_over=True)


async def test_a_claim_whose_holder_died_here_is_stranded_and_taken_over(
    store: ApprovalStore, backend: str
) -> None:
    await pause(store)
    await store.claim("t1", "i1", "susan", {"type": "accept"})
    _set_holder(backend, pid=dead_pid(), lease_until=time.time() + LEASE_S)
    [p] = await store.pending()
    assert p.stranded and p.kind == "failed"
    assert "incident-agent retry t1" in (p.error or "") and "susan" in (p.error or "")
    assert p.answer == {"type": "accept"}
    claim = await store.claim("t1", "i1", "retry", take_over=True)
    assert claim.by == "retry"
    status, again = await store.get("t1")
    assert status == "claimed" and again is not None and not again.stranded
    assert again.answer == {"type": "accept"}  # the first answer stays


async def test_an_expired_lease_is_stranded_and_renew_keeps_it_alive(
    store: ApprovalStore, backend: str
) -> None:
    await pause(store)
    claim = await store.claim("t1", "i1", "susan")
    _set_holder(backend, pid=os.getpid(), lease_until=time.time() - 1)
    assert (await store.pending())[0].stranded
    await store.renew(claim)
    assert not (await store.pending())[0].stranded


async def test_release_gives_back_or_strands_with_the_error(store: ApprovalStore) -> None:
    await pause(store)
    claim = await store.claim("t1", "i1", "susan", {"type": "accept"})
    await store.release(claim)
    [p] = await store.pending()
    assert (p.kind, p.answer, p.stranded) == ("awaiting_approval", None, False)
    claim = await store.claim("t1", "i1", "arjun", {"type": "accept"})
    await store.release(claim, error="PagerDuty said 502")
    [p] = await store.pending()
    assert p.stranded and p.kind == "failed" and p.answer == {"type": "accept"}
    assert (p.error or "").startswith("PagerDuty said 502; `incident-agent retry t1`")
    await store.claim("t1", "i1", "retry", take_over=True)


async def test_a_new_pause_clears_the_old_claim(store: ApprovalStore) -> None:
    await pause(store)
    await store.claim("t1", "i1", "susan", {"type": "accept"})
    await pause(store, "t1", "i2")
    [p] = await store.pending()
    assert (p.interrupt_id, p.answer, p.kind) == ("i2", None, "awaiting_approval")
    with pytest.raises(UnknownApproval):
        await store.claim("t1", "i1", "late click")
    await store.claim("t1", "i2", "susan")


async def test_write_records_count_attempts_and_keep_what_landed(store: ApprovalStore) -> None:
    call = {"method": "POST", "path": "/incidents"}
    assert await store.begin_write("k1", thread_id="t1", step="write", call=call) is None
    assert await store.write_record("k1") == WriteRecord("k1", "sending", 1, None, None)
    prior = await store.begin_write("k1", thread_id="t1", step="write", call=call)
    assert prior == WriteRecord("k1", "sending", 1, None, None)
    await store.finish_write("k1", thread_id="t1", step="write", landed=False, error="timeout")
    assert await store.write_record("k1") == WriteRecord("k1", "failed", 2, None, "timeout")
    await store.begin_write("k1", thread_id="t1", step="write", call=call)
    await store.finish_write("k1", thread_id="t1", step="write", landed=True,
                             result={"id": "P1"}, found_earlier=True)
    landed = WriteRecord("k1", "landed", 3, {"id": "P1"}, None)
    assert await store.write_record("k1") == landed
    # once landed, a later begin neither resends nor counts
    assert await store.begin_write("k1", thread_id="t1", step="write", call=call) == landed
    assert await store.write_record("k1") == landed
    assert await store.write_record("missing") is None


async def test_audit_is_one_row_per_interrupt_with_its_attempts(store: ApprovalStore) -> None:
    who = {"name": "Susan", "source": "cli"}
    await store.audit(thread_id="t1", interrupt_id="i1", approver=who, decision="approve",
                      proposal={"title": "x"}, reasons=["critical"], result=None)
    await store.begin_write("k1", thread_id="t1", step="write", call={})
    await store.finish_write("k1", thread_id="t1", step="write", landed=False, error="502")
    await store.finish_write("k1", thread_id="t1", step="write", landed=True, result={"id": "P1"})
    await store.audit(thread_id="t1", interrupt_id="i1", approver={"name": "someone else"},
                      decision="approve", proposal={}, reasons=[], result={"id": "P1"})
    await store.audit(thread_id="t2", interrupt_id="i9", approver=who, decision="reject",
                      proposal={}, reasons=[], result=None, message="not now")
    await store.begin_write("k2", thread_id="t2", step="write", call={})
    await store.finish_write("k2", thread_id="t2", step="write", landed=True)
    rows = await store.audit_log()
    assert [(r["thread_id"], r["decision"]) for r in rows] == [("t1", "approve"), ("t2", "reject")]
    first = rows[0]
    assert first["approver"] == who  # the first answer's approver stays
    assert (first["proposal"], first["reasons"], first["result"]) == (
        {"title": "x"}, ["critical"], {"id": "P1"})
    assert [(a["outcome"], a["error"]) for a in first["attempts"]] == [
        ("failed", "502"), ("landed", None)]
    assert rows[1]["message"] == "not now" and rows[1]["attempts"] == []
    only = await store.audit_log("t2")
    assert [r["thread_id"] for r in only] == ["t2"]


def test_the_postgres_store_implements_every_method_itself() -> None:
    """It subclasses the SQLite store for its interface only: an inherited method
    would run SQLite code on a Postgres store."""
    from agent.approvals.store.postgres import PostgresApprovalStore

    public = {n for n, _ in inspect.getmembers(ApprovalStore, inspect.isfunction)
              if not n.startswith("_") or n == "__init__"}
    missing = {n for n in public if n not in PostgresApprovalStore.__dict__}
    assert not missing, missing


def _set_holder(where: str, *, pid: int, lease_until: float) -> None:
    """Play another process: the test cannot die mid-write itself."""
    sql = "UPDATE approvals SET holder_pid={p}, lease_until={l} WHERE thread_id='t1'"
    if where.startswith("postgresql"):
        import psycopg

        with psycopg.connect(where, autocommit=True) as c:
            c.execute(sql.format(p="%s", l="%s"), (pid, lease_until))  # type: ignore[arg-type]
    else:
        import sqlite3

        with sqlite3.connect(where) as c:
            c.execute(sql.format(p="?", l="?"), (pid, lease_until))
