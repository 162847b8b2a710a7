"""The post-mortem under `langgraph dev`, as Studio drives it: its note's pause is in
`incident-agent approvals` and answered from the CLI, exactly like the incident graph's."""

# ruff: noqa: F811 (the fixtures are imported from another test package, then used as arguments)

from __future__ import annotations

import pytest
from langgraph_sdk import get_client

from tests.studio.test_langgraph_dev import _cli, served  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow


async def test_a_studio_postmortem_note_is_listed_and_approved_from_the_cli(served) -> None:
    url, sb, env = served
    [incident] = sb.state.dump()["incidents"]  # the account's one resolved incident
    before = len(sb.state.notes(incident["id"]))
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(
        thread["thread_id"],
        "postmortem",
        input={"incident": incident["id"]},
        context={"propose_note": True},
    )
    state = await client.threads.get_state(thread["thread_id"])
    assert "```mermaid" in state["values"]["markdown"]
    [intr] = state["interrupts"]
    assert intr["value"]["action_requests"][0]["name"] == "add_note"

    code, listed = _cli(env, "approvals")
    assert code == 0, listed
    assert [(a["thread_id"], a["graph"], a["status"]) for a in listed] == [
        (thread["thread_id"], "postmortem", "awaiting_approval")
    ]
    code, done = _cli(env, "approve", thread["thread_id"], "--as", "Terminal user")
    assert code == 0 and done["status"] == "done", done
    notes = sb.state.notes(incident["id"])
    assert len(notes) == before + 1 and notes[-1]["content"].startswith("Post-mortem for #")
    final = await client.threads.get_state(thread["thread_id"])
    assert final["values"]["status"] == "done" and not final["interrupts"]
    code, audit = _cli(env, "audit", thread["thread_id"])
    assert [(a["decision"], a["approver"]["name"]) for a in audit] == [("approve", "Terminal user")]
    code, listed = _cli(env, "approvals")
    assert listed == []
