"""Incident -> post-mortem: timeline, metrics, narrative, Markdown and JSON.

    fetch_incident -> fetch_log_entries -> build_timeline -> narrate -> publish
        -> approve_note (interrupt) -> post_note -> close
                                      post_note -> await_retry (interrupt) -> post_note | close

Reads, up to `publish`. The optional incident note is a write, taken through
the same steps as every write (`agent.approvals.steps`): `approve_note`
pauses for a human (recorded in the approvals store, the answer claimed by
the runner and audited), only `post_note` sends it, exactly once, and a note
that fails waits in `await_retry` for `incident-agent retry` or a reject.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.actions import Proposal, build_proposal
from agent.approvals import Decision, steps
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.errors import NotFound
from agent.pagerduty.models import Incident
from agent.postmortem import narrate as narration
from agent.postmortem.held import HELD, Held, LogRef
from agent.postmortem.metrics import compute_metrics
from agent.postmortem.render import build_report, human_duration, to_markdown
from agent.postmortem.state import InputState, State
from agent.postmortem.timeline import build_timeline as make_timeline
from agent.runtime import Context, context_of, services_for

GRAPH = "postmortem"

NO_CATALOG = Catalog(services=[])  # a note names no catalog object: nothing to check there
NUMBER = re.compile(r"#?(\d+)")
LOG_MARGIN = timedelta(days=1)


async def _client(runtime: Runtime[Context]) -> PagerDutyClient:
    return (await services_for(runtime)).pd


async def fetch_incident(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    pd = await _client(runtime)
    ask = state.incident.strip()
    number = NUMBER.fullmatch(ask)
    try:
        incident = await pd.find_incident_by_number(int(number.group(1))) if number \
            else await pd.get_incident(ask)
    except NotFound:
        incident = None
    if incident is None:
        return {"error": f"no incident {ask!r} in this PagerDuty account", "status": "error"}
    return {"incident_record": incident.model_dump(mode="json", exclude_none=True)}


async def fetch_log_entries(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    pd = await _client(runtime)
    incident = Incident.model_validate(state.incident_record)
    # From (a margin before) the incident's creation to now, so the client splits the
    # ask into the windows the API allows; entries stamped before it are caught too.
    since = incident.created_at - LOG_MARGIN
    entries = await pd.incident_log_entries(incident.id, since=since)
    # Parsed once, here; the state keeps a reference, not 2,400 entries per checkpoint.
    return {"log_ref": HELD.put(incident.id, since, entries).as_state()}


async def _held(state: State, runtime: Runtime[Context]) -> Held:
    """The entries (and timeline) the state refers to; fetched again if not in this process."""
    if state.log_ref is None:
        raise ValueError("no log entries fetched for this post-mortem")
    ref = LogRef.from_state(state.log_ref)
    held = HELD.get(ref)
    if held is None:
        pd = await _client(runtime)
        held = HELD.restore(ref, await pd.incident_log_entries(ref.incident_id, since=ref.since))
    if held.timeline is None:
        incident = Incident.model_validate(state.incident_record)
        timeline = make_timeline(incident.id, held.entries)
        held.metrics = compute_metrics(timeline, incident)  # also flags the walk's anomalies
        held.events = [e.to_dict() for e in timeline.events]
        held.timeline = timeline
    return held


async def build_timeline(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    held = await _held(state, runtime)
    assert held.timeline is not None
    return {"metrics": held.metrics,
            "anomalies": [a.to_dict() for a in held.timeline.anomalies]}


async def narrate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime)
    settings = (await services_for(runtime)).settings
    model = (ctx.chat_model or narration.chat_model)(settings)
    result = await narration.narrate(await _report(state, runtime), model)
    return {"narrative": result.text, "narrative_source": result.source,
            "narrative_fallback_reason": result.fallback_reason}


async def publish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = context_of(runtime)
    report = await _report(state, runtime)
    update: dict[str, Any] = {"report": report, "markdown": to_markdown(report), "status": "done"}
    summary = _summary(report)
    update["summary"] = summary
    if ctx.propose_note:
        note = build_proposal(
            "add_note", {"incident_id": report["incident"]["id"], "content": summary}, NO_CATALOG,
            reasons=["the post-mortem summary, for the incident's record"],
            effects=["adds a note to the incident; nobody is paged"])
        update.update(proposal=note.model_dump(mode="json"), status="running")
    channel = ctx.slack_channel
    if channel:
        update["proposed_slack_post"] = {"channel": channel, "text": summary,
                                         "markdown": update["markdown"]}
    return update


async def approve_note(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["post_note", "approve_note", "close"]]:
    """Pause for the human. No side effect before the pause: this re-runs on resume."""
    svc = await services_for(runtime)
    answer = await steps.approve(svc, Proposal.model_validate(state.proposal), graph=GRAPH,
                                 prompt=prompt_for(state.incident), feedback=state.feedback)
    if answer.status == "rejected":
        return Command(goto="close", update={"status": "rejected",
                                             "decision": answer.decision.model_dump(mode="json")})
    if answer.status == "refused":
        return Command(goto="approve_note", update={"feedback": answer.feedback})
    return Command(goto="post_note", update={"proposal": answer.proposal.model_dump(mode="json"),
                                             "decision": answer.decision.model_dump(mode="json"),
                                             "feedback": None})


async def post_note(state: State, runtime: Runtime[Context]) -> Command[Literal["close", "await_retry"]]:
    """Post the approved note exactly once (a retry, a resume after a crash looks first), audited."""
    svc = await services_for(runtime)
    decision = Decision.model_validate(state.decision) if state.decision else None
    done = await steps.execute(svc, Proposal.model_validate(state.proposal), decision,
                               look_only=context_of(runtime).look_only)
    if done.error:
        return Command(goto="await_retry", update={"result": done.result, "status": "failed",
                                                   "error": done.error})
    return Command(goto="close", update={"result": done.result, "status": "done", "error": None})


async def await_retry(state: State, runtime: Runtime[Context]) -> Command[Literal["post_note", "close"]]:
    """A note that did not land waits here: retry posts it (looking first), reject closes."""
    svc = await services_for(runtime)
    proposal = Proposal.model_validate(state.proposal)
    closed = await steps.await_retry(
        svc, proposal, graph=GRAPH, prompt=prompt_for(state.incident), error=state.error,
        landed=state.result, description=f"{proposal.summary}\n\nNot posted: {state.error}")
    if closed is not None:
        return Command(goto="close", update={"status": "rejected",
                                             "closed_by": closed.model_dump(mode="json")})
    return Command(goto="post_note", update={"status": "running"})


async def close(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The end of the note's path; the approvals store learns it whoever drove the graph."""
    svc = await services_for(runtime)
    status = "done" if state.status == "running" else state.status
    await svc.store.record_finish(steps.thread_id(), graph=GRAPH, prompt=prompt_for(state.incident),
                                  status=status)
    return {"status": status}


def prompt_for(incident: str) -> str:
    """How a post-mortem's thread is named in `incident-agent approvals` and Slack."""
    return f"post-mortem of incident {incident}"


def _after_publish(state: State) -> str:
    return "approve_note" if state.proposal else END


async def _report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    incident = Incident.model_validate(state.incident_record)
    held = await _held(state, runtime)
    assert held.events is not None
    return build_report(incident, state.metrics, held.events, state.anomalies, state.narrative,
                        state.narrative_source, state.narrative_fallback_reason)


def _summary(report: dict[str, Any]) -> str:
    m = report["metrics"]
    ack = (f"acknowledged in {human_duration(m['time_to_acknowledge_s'])}"
           if m["time_to_acknowledge_s"] is not None else "never acknowledged")
    resolved = (f"resolved in {human_duration(m['time_to_resolve_s'])}"
                if m["time_to_resolve_s"] is not None else "not resolved")
    return (f"Post-mortem for #{report['incident'].get('number')} {report['incident']['title']}: "
            f"{ack}, {resolved}, {m['escalations']} escalation(s), "
            f"{m['notifications']} notification(s).")


def _found(state: State) -> str:
    return END if state.error else "fetch_log_entries"


def build_graph() -> StateGraph[State, Context, InputState, State]:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node(fetch_incident)
    builder.add_node(fetch_log_entries)
    builder.add_node(build_timeline)
    builder.add_node(narrate)
    builder.add_node(publish)
    builder.add_node(approve_note)
    builder.add_node(post_note)
    builder.add_node(await_retry)
    builder.add_node(close)
    builder.add_edge(START, "fetch_incident")
    builder.add_conditional_edges("fetch_incident", _found, ["fetch_log_entries", END])
    builder.add_edge("fetch_log_entries", "build_timeline")
    builder.add_edge("build_timeline", "narrate")
    builder.add_edge("narrate", "publish")
    builder.add_conditional_edges("publish", _after_publish, ["approve_note", END])
    builder.add_edge("close", END)
    return builder


graph = build_graph().compile(name=GRAPH)
