"""kill -9 between a human's yes and PagerDuty's answer, with Postgres as the store:
the thread shows as failed, `retry` (another process) finishes it, one write.

The same steps as tests/lifecycle/test_exactly_once.py, every CLI call its own
process, with INCIDENT_AGENT_DATABASE_URL set: checkpoints, claims and write
records all in Postgres."""

from __future__ import annotations

import psycopg
import pytest

from tests.lifecycle.conftest import Rig, rig  # noqa: F401 - the fixture
from tests.lifecycle.test_exactly_once import (
    KINDS,
    failed_entry,
    kill_during_approve,
    opening_notes,
    pause,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("point", ["before", "after"])
def test_kill_9_mid_create_then_retry_creates_once_in_postgres(
    rig: Rig, pg_url: str, point: str  # noqa: F811
) -> None:
    rig.env["INCIDENT_AGENT_DATABASE_URL"] = pg_url
    k = KINDS["create"]
    thread, incident = pause(rig, k)
    with psycopg.connect(pg_url) as c:  # the pause is in Postgres, not in the SQLite file
        assert c.execute("SELECT status FROM approvals WHERE thread_id=%s", (thread,)).fetchone() == (
            "pending",)
        assert c.execute("SELECT count(*) FROM checkpoints WHERE thread_id=%s",
                         (thread,)).fetchone()[0] > 0  # type: ignore[index]
    kill_during_approve(rig, thread, k.method, k.path, point)

    entry = failed_entry(rig, thread)
    assert entry["status"] == "failed", entry
    assert f"incident-agent retry {thread}" in entry["error"]
    code, done = rig.json("retry", thread)
    assert code == 0 and done["status"] == "done", done
    assert k.count(rig, incident, thread) == 1
    assert opening_notes(rig, thread) == 1
    assert [a["thread_id"] for a in rig.json("approvals")[1]] == []

    code, nothing = rig.json("retry", thread)
    assert code == 4, nothing
    assert k.count(rig, incident, thread) == 1
    code, audit = rig.json("audit", thread)
    assert [a["decision"] for a in audit] == ["approve"]
    with psycopg.connect(pg_url) as c:
        [(status, attempts)] = c.execute(
            "SELECT status, attempts FROM write_records WHERE thread_id=%s AND step='write'",
            (thread,)).fetchall()
    assert status == "landed" and attempts >= 1
