"""The post-mortem's note is a write like any other: its pause is in `approvals`, the answer
from the CLI is claimed and audited, and the note lands exactly once, kill -9 included.

Every command is its own process, as an SRE's terminal; the agent talks to the sandbox
through the fault proxy, which holds the note's POST where the test kills the process.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lifecycle.conftest import Rig
from tests.lifecycle.test_exactly_once import failed_entry, kill_during_approve

pytestmark = pytest.mark.slow

INCIDENT = "PINCD01"  # resolved, in the dev account
NOTES = rf"/incidents/{INCIDENT}/notes"


def summaries(rig: Rig) -> list[dict[str, Any]]:
    """The post-mortem notes PagerDuty holds on the incident."""
    return [n for n in rig.notes(INCIDENT) if n["content"].startswith("Post-mortem for #")]


def paused_postmortem(rig: Rig) -> dict[str, Any]:
    """Run `postmortem --note`; the note's pause, as `incident-agent approvals --json` lists it."""
    done = rig.cli("postmortem", INCIDENT, "--note", "--out", str(rig.cwd / "pm.md"))
    assert done.returncode == 0, done.stderr
    assert "```mermaid" in (rig.cwd / "pm.md").read_text()  # the post-mortem itself is written
    code, listed = rig.json("approvals")
    assert code == 0
    [entry] = [a for a in listed if a["graph"] == "postmortem"]
    assert entry["status"] == "awaiting_approval" and entry["action"] == "add_note", entry
    assert entry["thread_id"] in done.stderr  # the CLI says how to answer it
    assert summaries(rig) == []  # nothing before the answer
    return entry


def test_a_note_approved_from_the_cli_lands_once_and_is_audited(rig: Rig) -> None:
    entry = paused_postmortem(rig)
    thread = entry["thread_id"]
    assert "Post-mortem for #" in entry["description"]

    code, done = rig.json("approve", thread, "--as", "Dana Reyes")
    assert code == 0 and done["status"] == "done", done
    [note] = summaries(rig)
    assert note["content"] == done["result"]["content"]
    assert [a["thread_id"] for a in rig.json("approvals")[1]] == []

    code, again = rig.json("approve", thread)
    assert code == 4, again  # already decided: nothing more is written
    assert len(summaries(rig)) == 1

    code, audit = rig.json("audit", thread)
    [row] = audit
    assert row["decision"] == "approve" and row["approver"]["name"] == "Dana Reyes"
    assert row["approver"]["source"] == "cli"
    assert row["proposal"]["action"] == "add_note" and row["result"]["id"] == note["id"]


def test_a_note_rejected_with_a_reason_writes_nothing_and_the_reason_is_audited(rig: Rig) -> None:
    thread = paused_postmortem(rig)["thread_id"]
    code, done = rig.json("reject", thread, "--reason", "the numbers need a second look")
    assert code == 3 and done["status"] == "rejected", done
    assert summaries(rig) == []
    code, audit = rig.json("audit", thread)
    [row] = audit
    assert row["decision"] == "reject" and row["message"] == "the numbers need a second look"
    assert [a["thread_id"] for a in rig.json("approvals")[1]] == []


@pytest.mark.parametrize("point", ["before", "after"])
def test_kill_9_during_the_note_then_retry_posts_exactly_one(rig: Rig, point: str) -> None:
    thread = paused_postmortem(rig)["thread_id"]
    kill_during_approve(rig, thread, "POST", NOTES, point)
    assert len(summaries(rig)) == (1 if point == "after" else 0)

    entry = failed_entry(rig, thread)
    assert entry["status"] == "failed" and f"incident-agent retry {thread}" in entry["error"], entry
    code, done = rig.json("retry", thread)
    assert code == 0 and done["status"] == "done", done
    assert len(summaries(rig)) == 1
    code, nothing = rig.json("retry", thread)
    assert code == 4, nothing
    assert len(summaries(rig)) == 1


def test_a_failed_note_waits_for_retry_like_any_write(rig: Rig) -> None:
    thread = paused_postmortem(rig)["thread_id"]
    rig.sandbox.faults.burst_5xx(80, status=502)
    code, failed = rig.json("approve", thread)
    rig.sandbox.faults.clear()
    assert code == 1 and failed["status"] == "failed", failed
    assert "server error" in failed["error"].lower(), failed
    assert summaries(rig) == []
    entry = failed_entry(rig, thread)
    assert entry["status"] == "failed" and entry["action"] == "retry_write", entry

    code, done = rig.json("retry", thread)
    assert code == 0 and done["status"] == "done", done
    assert len(summaries(rig)) == 1
    code, audit = rig.json("audit", thread)
    [row] = audit  # one decision; its row tells both attempts and the final result
    assert row["decision"] == "approve" and not row["result"].get("error"), row
    outcomes = [t["outcome"] for t in row["attempts"] if t["step"] == "write"]
    assert outcomes[-1] in ("landed", "found landed"), outcomes
