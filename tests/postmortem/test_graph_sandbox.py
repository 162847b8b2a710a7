"""The post-mortem graph against the sandbox over HTTP, through the real client."""

from __future__ import annotations

from datetime import timedelta

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.postmortem.state import InputState
from agent.runtime import Context
from graphs.postmortem import build_graph, graph

from .entries import dev_expected
from .services import sandbox_services


async def run(sandbox, tmp_path, incident: str, **ctx):
    async with sandbox_services(sandbox, tmp_path) as services:
        context = Context(services=services, **ctx)
        return await graph.ainvoke(InputState(incident=incident), context=context)


async def test_dev_incident_metrics_through_sandbox_and_client(sandbox, tmp_path):
    for incident_id, expected in dev_expected().items():
        for ask in (incident_id, "1201", "#1201"):
            state = await run(sandbox, tmp_path, ask)
            assert {k: state["metrics"][k] for k in expected} == expected
            assert state["report"]["metrics"] == state["metrics"]
            assert state["anomalies"] == [] and state["narrative_source"] == "template"
            assert "```mermaid\ngantt" in state["markdown"]
            assert state.get("proposal") is None  # a write only when asked, and only as data


async def test_unknown_incident_ends_with_an_error(sandbox, tmp_path):
    state = await run(sandbox, tmp_path, "PNOPE99")
    assert state["error"] and state.get("report") is None
    state = await run(sandbox, tmp_path, "#99999")
    assert state["error"]


async def test_note_waits_for_approval_and_is_posted_once_approved(sandbox, tmp_path):
    before = len(sandbox.state.notes("PINCD01"))
    pm = build_graph().compile(checkpointer=InMemorySaver())
    async with sandbox_services(sandbox, tmp_path, pagerduty_from="susan.clark@contoso.example") as svc:
        context = Context(services=svc, propose_note=True, slack_channel="C0INC")
        for thread, answer in (("no", {"decisions": [{"type": "reject", "message": "later"}]}),
                               ("yes", {"decisions": [{"type": "approve"}]})):
            config = {"configurable": {"thread_id": thread}}
            state = await pm.ainvoke({"incident": "PINCD01"}, config, context=context)
            [pause] = state["__interrupt__"]
            action = pause.value["action_requests"][0]
            assert action["name"] == "add_note" and action["args"]["incident_id"] == "PINCD01"
            assert action["args"]["api_call"]["path"] == "/incidents/PINCD01/notes"
            assert "6 min 30 s" in action["args"]["content"]
            assert state["proposed_slack_post"]["channel"] == "C0INC"
            assert len(sandbox.state.notes("PINCD01")) == before  # nothing before the answer
            state = await pm.ainvoke(Command(resume={pause.id: answer}), config, context=context)
            assert "__interrupt__" not in state
        assert state["status"] == "done" and state["result"]["action"] == "add_note"
    notes = sandbox.state.notes("PINCD01")
    assert len(notes) == before + 1  # the rejected thread wrote nothing
    assert "6 min 30 s" in notes[-1]["content"]


async def test_more_than_10000_log_entries_over_more_than_the_allowed_window(sandbox, tmp_path):
    state_ = sandbox.state
    now = state_.now()
    start = now - timedelta(days=200)  # longer than the 6-month window the client splits by
    incident = state_.add_incident("PAPI001", "Slow burn", created_at=start, log=True)
    state_.add_log_entries(incident["id"], 10_250, start + timedelta(seconds=5),
                           step_s=200 * 86400 / 10_300)
    own_count = len(state_.log_entries(incident["id"]))
    assert own_count > 10_000
    result = await run(sandbox, tmp_path, incident["id"])
    assert result["metrics"]["log_entries"] == own_count
    assert len({e["id"] for e in result["report"]["timeline"]}) == own_count
    assert result["metrics"]["notes"] == 10_250
    assert result["metrics"]["time_to_resolve_s"] is None  # still open


def test_graph_module_exports():
    assert graph.checkpointer is None  # Studio / langgraph dev supplies its own
    assert list(build_graph().compile().get_graph().nodes) == [
        "__start__", "fetch_incident", "fetch_log_entries", "build_timeline", "narrate", "publish",
        "approve_note", "post_note", "await_retry", "close", "__end__"]


async def test_an_open_incident_opened_with_an_assignee_has_no_reassignment(sandbox, tmp_path):
    """The agent opens incidents with an explicit assignee, as a person (From): PagerDuty logs
    that first assignment with a user agent. It is the initial assignment, not a reassignment;
    with nothing acknowledged or resolved, those rows say "—"."""
    ref = {"type": "user_reference"}
    async with sandbox_services(sandbox, tmp_path, pagerduty_from="susan.clark@contoso.example") as svc:
        pd = svc.pd
        body = await pd.request("POST", "/incidents", json={"incident": {
            "type": "incident", "title": "Checkout latency", "urgency": "high",
            "service": {"id": "PAPI001", "type": "service_reference"},
            "assignments": [{"assignee": {**ref, "id": "PUCO001"}}]}})
        incident_id = body["incident"]["id"]
        state = await run(sandbox, tmp_path, incident_id)
        metrics, md = state["metrics"], state["markdown"]
        assert metrics["reassignments"] == 0 and metrics["time_to_acknowledge_s"] is None
        assert "| Reassignments | 0 | |" in md and "Reassigned" not in md
        assert "| Time to acknowledge | — | — |" in md and "| Time to resolve | — | — |" in md
        assert "| First acknowledged by | — | |" in md and "| Resolved | — |" in md
        assert "| Assigned | Susan Clark | David Miller |" in md
        assert "| Paged | David Miller (PUCO001) | |" in md

        # A person moving it afterwards is a reassignment.
        await pd.request("PUT", f"/incidents/{incident_id}", json={"incident": {
            "type": "incident_reference", "assignments": [{"assignee": {**ref, "id": "PUCO002"}}]}})
        state = await run(sandbox, tmp_path, incident_id)
        assert state["metrics"]["reassignments"] == 1
        assert "| Reassignments | 1 | |" in state["markdown"]
