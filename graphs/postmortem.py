"""Incident -> post-mortem: timeline, metrics, narrative, Markdown and JSON.

    fetch_incident -> fetch_log_entries -> build_timeline -> narrate -> publish

                                                         -> approve_note -> post_note

Reads, up to `publish`. The optional incident note is a write: `publish`
proposes it, `approve_note` pauses for a human (the same HITL protocol as
every write) and only `post_note` sends it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.actions import ActionError, Proposal, build_proposal, rebuild_proposal
from agent.approvals.ask import review
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.errors import NotFound, PagerDutyError, plain
from agent.pagerduty.models import Incident
from agent.pagerduty.writes import with_ref
from agent.postmortem import narrate as narration
from agent.postmortem.context import Context
from agent.postmortem.held import HELD, Held, LogRef
from agent.postmortem.metrics import compute_metrics
from agent.postmortem.render import build_report, human_duration, to_markdown
from agent.postmortem.state import InputState, State
from agent.postmortem.timeline import build_timeline as make_timeline

NO_CATALOG = Catalog(services=[])  # a note names no catalog object: nothing to check there
NUMBER = re.compile(r"#?(\d+)")
LOG_MARGIN = timedelta(days=1)


def _context(runtime: Runtime[Context] | None) -> Context:
    ctx = runtime.context if runtime is not None else None
    return ctx if isinstance(ctx, Context) else Context()


async def _client(runtime: Runtime[Context]) -> PagerDutyClient:
    ctx = _context(runtime)
    if ctx.pd is not None:
        return ctx.pd
    from agent.runtime import services_for

    return (await services_for(None)).pd


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
        return {"error": f"no incident {ask!r} in this PagerDuty account"}
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
    ctx = _context(runtime)
    settings = ctx.resolved_settings()
    model = (ctx.chat_model or narration.chat_model)(settings)
    result = await narration.narrate(await _report(state, runtime), model)
    return {"narrative": result.text, "narrative_source": result.source,
            "narrative_fallback_reason": result.fallback_reason}


async def publish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = _context(runtime)
    report = await _report(state, runtime)
    update: dict[str, Any] = {"report": report, "markdown": to_markdown(report)}
    summary = _summary(report)
    if ctx.propose_note:
        note = build_proposal(
            "add_note", {"incident_id": report["incident"]["id"], "content": summary}, NO_CATALOG,
            reasons=["the post-mortem summary, for the incident's record"],
            effects=["adds a note to the incident; nobody is paged"])
        update["proposed_note"] = note.model_dump(mode="json")
    channel = ctx.slack_channel
    if channel:
        update["proposed_slack_post"] = {"channel": channel, "text": summary,
                                         "markdown": update["markdown"]}
    return update


async def approve_note(state: State, runtime: Runtime[Context]) -> Command[Literal["post_note", "approve_note", "__end__"]]:
    """Pause for the human. No side effect before `review`: this re-runs on resume."""
    proposal = Proposal.model_validate(state.proposed_note)
    decision = review(proposal, state.note_feedback)
    if decision.type == "reject":
        return Command(goto=END, update={"note_result": {"status": "rejected", "by": decision.approver.name}})
    if decision.type == "edit":
        try:
            proposal = rebuild_proposal(proposal, decision.edited_args or {}, NO_CATALOG)
        except ActionError as exc:
            return Command(goto="approve_note", update={"note_feedback": f"Edit refused: {exc}"})
    return Command(goto="post_note", update={"proposed_note": proposal.model_dump(mode="json"),
                                             "note_feedback": None})


async def post_note(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Post the approved note once: it carries a reference derived from the thread,
    and a re-run (a retry, a resume after a crash) looks for it before sending."""
    from langgraph.config import get_config

    pd = await _client(runtime)
    thread = str(get_config()["configurable"].get("thread_id", "no-thread"))
    call = with_ref(Proposal.model_validate(state.proposed_note).call,
                    hashlib.sha256(f"{thread}:postmortem-note".encode()).hexdigest()[:10])
    try:
        written = await pd.write(call, look_first=True)
    except PagerDutyError as exc:
        return {"note_result": {"status": "failed", "error": plain(exc)}}
    return {"note_result": {"status": "posted", "note": written.body.get("note", {})}}


def _after_publish(state: State) -> str:
    return "approve_note" if state.proposed_note else END


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


def build_graph() -> StateGraph:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node(fetch_incident)
    builder.add_node(fetch_log_entries)
    builder.add_node(build_timeline)
    builder.add_node(narrate)
    builder.add_node(publish)
    builder.add_node(approve_note)
    builder.add_node(post_note)
    builder.add_edge(START, "fetch_incident")
    builder.add_conditional_edges("fetch_incident", _found, ["fetch_log_entries", END])
    builder.add_edge("fetch_log_entries", "build_timeline")
    builder.add_edge("build_timeline", "narrate")
    builder.add_edge("narrate", "publish")
    builder.add_conditional_edges("publish", _after_publish, ["approve_note", END])
    builder.add_edge("post_note", END)
    return builder


graph = build_graph().compile()
