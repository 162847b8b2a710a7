"""A process killed after it listed a pause and before it saved the step that asks.

The pause is recorded in the approvals store from inside the asking step, and the
step's checkpoint is saved after it: a kill -9 in between leaves a listed pause
that the checkpoints lack. The test makes that state by removing what the crash
would not have saved, then answers from a new terminal process.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.lifecycle.conftest import Rig
from tests.lifecycle.test_exactly_once import ALERT, KINDS

pytestmark = pytest.mark.slow


def _forget(rig: Rig, thread: str, *, everything: bool) -> None:
    """What a crash between the store and the checkpoint leaves behind."""
    path = rig.env["INCIDENT_AGENT_CHECKPOINT"]
    with sqlite3.connect(path) as db:
        if everything:  # the thread's first checkpoint was never written either
            db.execute("DELETE FROM writes WHERE thread_id = ?", (thread,))
            db.execute("DELETE FROM checkpoints WHERE thread_id = ?", (thread,))
        else:
            gone = db.execute("DELETE FROM writes WHERE thread_id = ? AND channel = '__interrupt__'",
                              (thread,)).rowcount
            assert gone >= 1


def _start(rig: Rig) -> str:
    code, out = rig.json("run", ALERT, "--no-wait")
    assert code == 0 and out["status"] == "awaiting_approval", out
    return out["thread_id"]


def test_the_question_is_asked_again_and_the_answer_writes_once(rig: Rig) -> None:
    thread = _start(rig)
    _forget(rig, thread, everything=False)
    assert [a["thread_id"] for a in rig.json("approvals")[1]] == [thread]

    code, done = rig.json("approve", thread)
    assert code == 0 and done["status"] == "done", done
    assert KINDS["create"].count(rig, None, thread) == 1
    assert rig.json("approvals")[1] == []


def test_with_nothing_saved_the_listing_is_closed_with_a_clear_message(rig: Rig) -> None:
    thread = _start(rig)
    _forget(rig, thread, everything=True)

    proc = rig.cli("approve", thread)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    said = " ".join((proc.stdout + proc.stderr).split())
    assert "stopped before its question was saved" in said and "nothing was written" in said
    assert rig.json("approvals")[1] == []
    assert KINDS["create"].count(rig, None, thread) == 0
