"""Incident -> post-mortem: timeline, metrics, narrative, Markdown and JSON.

    fetch_incident -> fetch_log_entries -> build_timeline -> narrate -> publish

Reads only. The optional incident note is a write: `publish` leaves it as
data in `proposed_note` for the approval node, never sends it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.errors import NotFound
from agent.pagerduty.models import Incident
from agent.postmortem import narrate as narration
from agent.postmortem.context import Context
from agent.postmortem.metrics import compute_metrics
from agent.postmortem.render import build_report, human_duration, to_markdown
from agent.postmortem.state import InputState, State
from agent.postmortem.timeline import build_timeline as make_timeline

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
    entries = await pd.incident_log_entries(incident.id, since=incident.created_at - LOG_MARGIN)
    return {"log_entries": [e.model_dump(mode="json", exclude_none=True) for e in entries]}


async def build_timeline(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    incident = Incident.model_validate(state.incident_record)
    timeline = make_timeline(incident.id, state.log_entries)
    metrics = compute_metrics(timeline, incident)
    return {"timeline": [e.to_dict() for e in timeline.events], "metrics": metrics,
            "anomalies": [a.to_dict() for a in timeline.anomalies]}


async def narrate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = _context(runtime)
    settings = ctx.resolved_settings()
    model = (ctx.chat_model or narration.chat_model)(settings)
    result = await narration.narrate(_report(state), model)
    return {"narrative": result.text, "narrative_source": result.source,
            "narrative_fallback_reason": result.fallback_reason}


async def publish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = _context(runtime)
    report = _report(state)
    update: dict[str, Any] = {"report": report, "markdown": to_markdown(report)}
    summary = _summary(report)
    if ctx.propose_note:
        # TODO(lead): route `proposed_note` through the approval node (HITLRequest) and
        # execute it there with `pd.add_note(...)`; this graph never writes.
        update["proposed_note"] = {
            "method": "POST", "path": f"/incidents/{report['incident']['id']}/notes",
            "body": {"note": {"content": summary}},
            "reason": "Post-mortem summary for the incident's record",
        }
    channel = ctx.slack_channel
    if channel:
        update["proposed_slack_post"] = {"channel": channel, "text": summary,
                                         "markdown": update["markdown"]}
    return update


def _report(state: State) -> dict[str, Any]:
    incident = Incident.model_validate(state.incident_record)
    return build_report(incident, state.metrics, state.timeline, state.anomalies, state.narrative,
                        state.narrative_source, state.narrative_fallback_reason)


def _summary(report: dict[str, Any]) -> str:
    m = report["metrics"]
    return (f"Post-mortem for #{report['incident'].get('number')} {report['incident']['title']}: "
            f"acknowledged in {human_duration(m['time_to_acknowledge_s'])}, resolved in "
            f"{human_duration(m['time_to_resolve_s'])}, {m['escalations']} escalation(s), "
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
    builder.add_edge(START, "fetch_incident")
    builder.add_conditional_edges("fetch_incident", _found, ["fetch_log_entries", END])
    builder.add_edge("fetch_log_entries", "build_timeline")
    builder.add_edge("build_timeline", "narrate")
    builder.add_edge("narrate", "publish")
    builder.add_edge("publish", END)
    return builder


graph = build_graph().compile()
