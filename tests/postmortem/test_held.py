"""The log and the timeline are held by reference: small checkpoints, and a resume that
refetches what the process does not hold."""

from __future__ import annotations

from datetime import timedelta

from langgraph.checkpoint.memory import InMemorySaver

from agent.postmortem.held import HELD
from agent.runtime import Context
from graphs.postmortem import build_graph

from .services import sandbox_services

ENTRIES = 1_500


def _noisy(sandbox) -> str:
    state = sandbox.state
    start = state.now() - timedelta(hours=3)
    service_id = state.list("services")[0]["id"]
    incident = state.add_incident(service_id, "Noisy", created_at=start, log=True)
    # Notifications: many entries, few facts (notes would put every text in the metrics).
    state.add_log_entries(incident["id"], ENTRIES, start + timedelta(seconds=5), step_s=1,
                          type="notify_log_entry")
    return incident["id"]


async def test_checkpoints_before_the_report_do_not_carry_the_log(sandbox, tmp_path):
    incident_id = _noisy(sandbox)
    saver = InMemorySaver()
    graph = build_graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "held-1"}}
    async with sandbox_services(sandbox, tmp_path) as svc:
        state = await graph.ainvoke({"incident": incident_id}, config,
                                    context=Context(services=svc, chat_model=lambda _s: None))
    total = len(sandbox.state.log_entries(incident_id))
    assert state["log_ref"]["count"] == total and state["metrics"]["log_entries"] == total
    assert len(state["report"]["timeline"]) == total  # the output has every event ...
    for snapshot in [s async for s in graph.aget_state_history(config)]:
        values = snapshot.values
        assert "log_entries" not in values and "timeline" not in values
        if "report" not in values:  # ... and no checkpoint before it holds the log
            assert len(repr(values)) < 20_000, snapshot.next


async def test_a_process_without_the_held_log_fetches_it_again(sandbox, tmp_path):
    incident_id = _noisy(sandbox)
    graph = build_graph().compile(checkpointer=InMemorySaver(), interrupt_before=["build_timeline"])
    config = {"configurable": {"thread_id": "held-2"}}
    async with sandbox_services(sandbox, tmp_path) as svc:
        pd = svc.pd
        context = Context(services=svc, chat_model=lambda _s: None)
        await graph.ainvoke({"incident": incident_id}, config, context=context)
        fetched = pd.counter.total
        HELD.clear()  # as if another process (a restart) resumes the thread
        state = await graph.ainvoke(None, config, context=context)
        assert pd.counter.total > fetched  # the log was fetched again ...
    total = len(sandbox.state.log_entries(incident_id))
    assert state["metrics"]["log_entries"] == total  # ... completely
    assert len({e["id"] for e in state["report"]["timeline"]}) == total
