"""Alert or request in plain words -> an approved PagerDuty write, or an answer.

    triage -> lookup_service -> (resolve_oncall | check_open_incidents) -> propose
           -> approve (interrupt) -> execute -> report

Reads (who is on call, open incidents) go from `propose` straight to `report`
and never wait. Each write is data until a human approves it; `execute` runs
it once and is safe to re-run.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.actions import ACTIONS, ActionError, Proposal, build_proposal, rebuild_proposal
from agent.approvals import build_request
from agent.approvals.ask import ask
from agent.pagerduty.errors import InvalidInput, PagerDutyError
from agent.respond.describe import describe_proposal, render_report, same_problem
from agent.respond.state import InputState, State
from agent.runtime import Context, services_for, surface_of
from agent.triage import Intent, TriageInputError
from agent.triage import triage as read_request

OPEN = ["triggered", "acknowledged"]
NEEDS_SERVICE = {Intent.page, Intent.who_is_on_call}


def incident_key(thread_id: str) -> str:
    """Derived from the thread, so a retried or resumed create lands on one incident."""
    return f"incident-agent/{thread_id}"


def _thread_id(runtime: Runtime[Context]) -> str:
    from langgraph.config import get_config

    return str(get_config()["configurable"].get("thread_id", "no-thread"))


async def triage(state: State, runtime: Runtime[Context]) -> Command[Literal["lookup_service", "report"]]:
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    try:
        request = await read_request(state.prompt, catalog, svc.settings)
    except TriageInputError as exc:
        return Command(goto="report", update={"status": "error", "report": str(exc)})
    update: dict[str, Any] = {"request": request.model_dump(mode="json")}
    if request.intent == Intent.not_incident:
        return Command(goto="report", update={**update, "status": "not_incident"})
    return Command(goto="lookup_service", update=update)


async def lookup_service(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["resolve_oncall", "check_open_incidents", "clarify", "report"]]:
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    request = state.request or {}
    intent = Intent(request["intent"])
    service = catalog.service(request["service_id"]) if request.get("service_id") else None
    if intent not in NEEDS_SERVICE | {Intent.list_incidents}:
        reason = f"'{intent.value}' requests are not handled by this graph yet"
        return Command(goto="report", update={"status": "error", "report": reason})
    if service is None and (intent in NEEDS_SERVICE or request.get("service_words")):
        return Command(goto="clarify")
    update: dict[str, Any] = {}
    if service is not None:
        update["service"] = {
            "id": service.id,
            "name": service.name,
            "escalation_policy_id": service.escalation_policy.id,
            "html_url": service.html_url,
        }
    goto: list[str] = {
        Intent.page: ["resolve_oncall", "check_open_incidents"],
        Intent.who_is_on_call: ["resolve_oncall"],
        Intent.list_incidents: ["check_open_incidents"],
    }[intent]
    return Command(goto=goto, update=update)


async def clarify(state: State, runtime: Runtime[Context]) -> Command[Literal["lookup_service", "clarify", "report"]]:
    """Ask the human which service: none or several matched, and we never guess."""
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    request = state.request or {}
    candidates = request.get("candidates") or [
        {"id": s.id, "name": s.name, "score": 0.0, "why": "no service matched the words"}
        for s in catalog.services
    ]
    words = request.get("service_words") or "the alert"
    question = build_request(
        "choose_service",
        {"service_id": None, "candidates": candidates},
        f"Which service is meant by {words!r}? Answer with an edit setting service_id to one "
        f"of the candidates, or reject to drop the request."
        + (f"\n{state.feedback}" if state.feedback else ""),
        allowed=["edit", "reject"],
    )
    decision = ask(question)
    if decision.type == "reject":
        return Command(
            goto="report",
            update={"status": "rejected", "decision": decision.model_dump(mode="json")},
        )
    chosen = (decision.edited_args or {}).get("service_id")
    if not isinstance(chosen, str) or catalog.service(chosen) is None:
        return Command(goto="clarify", update={"feedback": f"{chosen!r} is not a service of this account."})
    reasons = [*request.get("reasons", []), f"service chosen by {decision.approver.name}"]
    return Command(
        goto="lookup_service",
        update={"request": {**request, "service_id": chosen, "reasons": reasons}, "feedback": None},
    )


async def resolve_oncall(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    svc = await services_for(runtime)
    assert state.service is not None
    oncalls = await svc.pd.oncalls(escalation_policy_ids=[state.service["escalation_policy_id"]])
    rows = sorted(
        (
            {
                "level": o.escalation_level,
                "user_id": o.user.id,
                "user": o.user.summary,
                "schedule": o.schedule.summary if o.schedule else None,
                "schedule_id": o.schedule.id if o.schedule else None,
                "until": o.end.isoformat() if o.end else None,
            }
            for o in oncalls
        ),
        key=lambda r: (r["level"], r["user_id"]),
    )
    return {"oncall": rows}


async def check_open_incidents(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    svc = await services_for(runtime)
    service_ids = [state.service["id"]] if state.service else None
    incidents = await svc.pd.list_incidents(statuses=OPEN, service_ids=service_ids)
    rows = [
        {
            "id": i.id,
            "number": i.incident_number,
            "title": i.title,
            "status": i.status,
            "urgency": i.urgency,
            "service": i.service.summary,
            "incident_key": i.incident_key,
            "html_url": i.html_url,
        }
        for i in incidents
    ]
    key = incident_key(_thread_id(runtime))
    title = (state.request or {}).get("title", "")
    duplicate = next((r for r in rows if r["incident_key"] == key), None) or next(
        (r for r in rows if same_problem(title, r["title"])), None
    )
    return {"open_incidents": rows, "duplicate_of": duplicate}


async def propose(state: State, runtime: Runtime[Context]) -> Command[Literal["approve", "report"]]:
    request = state.request or {}
    if Intent(request["intent"]) != Intent.page:
        return Command(goto="report", update={"status": "done"})
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    assert state.service is not None
    reasons = list(request.get("reasons", []))
    level1 = [o for o in state.oncall if o["level"] == 1]
    if state.duplicate_of:
        dup = state.duplicate_of
        name, fields = "add_note", {
            "incident_id": dup["id"],
            "content": f"Another alert for this problem (not paged again): {state.prompt[:2000]}",
        }
        reasons.append(
            f"incident #{dup['number']} ({dup['title']!r}) is already {dup['status']} on "
            f"{state.service['name']}: adding a note instead of paging twice"
        )
        effects = ["nobody is paged"]
    else:
        assignee = level1[0] if level1 else None
        name, fields = "create_incident", {
            "service_id": state.service["id"],
            "title": request.get("title") or state.prompt[:255],
            "urgency": request.get("urgency") or "high",
            "priority": request.get("priority"),
            "assignee_id": assignee["user_id"] if assignee else None,
            "incident_key": incident_key(_thread_id(runtime)),
            "details": request.get("details", ""),
        }
        if assignee:
            via = f" from schedule {assignee['schedule']}" if assignee["schedule"] else " (direct)"
            reasons.append(f"{assignee['user']} is on call at level 1{via}")
            effects = [f"pages {assignee['user']}"]
        else:
            reasons.append("nobody is on call at level 1: PagerDuty will follow the escalation policy")
            effects = ["pages the escalation policy"]
    try:
        proposal = build_proposal(name, fields, catalog, reasons=reasons, effects=effects)
    except ActionError as exc:
        return Command(goto="report", update={"status": "error", "report": str(exc)})
    return Command(goto="approve", update={"proposal": proposal.model_dump(mode="json")})


async def approve(state: State, runtime: Runtime[Context]) -> Command[Literal["execute", "approve", "report"]]:
    """Pause for the human. No side effect before `ask`: this re-runs on resume."""
    svc = await services_for(runtime)
    proposal = Proposal.model_validate(state.proposal)
    action = ACTIONS[proposal.action]
    request = build_request(
        proposal.action,
        {**proposal.fields, "api_call": proposal.call.model_dump()},
        describe_proposal(proposal, state.feedback),
        allowed=["approve", "edit", "reject"],
        args_schema=action.fields.model_json_schema(),
    )
    decision = ask(request)
    record = decision.model_dump(mode="json")
    if decision.type == "reject":
        await svc.store.audit(
            thread_id=_thread_id(runtime),
            interrupt_id=_decision_key(state.proposal, record),
            approver=record["approver"],
            decision="reject",
            proposal=state.proposal or {},
            reasons=proposal.reasons,
            result=None,
        )
        return Command(goto="report", update={"status": "rejected", "decision": record})
    if decision.type == "edit":
        catalog = await svc.catalog.get()
        try:
            proposal = rebuild_proposal(proposal, decision.edited_args or {}, catalog)
        except ActionError as exc:
            return Command(goto="approve", update={"feedback": f"Edit refused: {exc}"})
    return Command(
        goto="execute",
        update={"proposal": proposal.model_dump(mode="json"), "decision": record, "feedback": None},
    )


async def execute(state: State, runtime: Runtime[Context]) -> Command[Literal["report"]]:
    """Run the approved call once; a re-run after a crash finds what the first run did."""
    svc = await services_for(runtime)
    proposal = Proposal.model_validate(state.proposal)
    approver = (state.decision or {}).get("approver", {})
    catalog = await svc.catalog.get()
    acting = catalog.user_by_email(approver["email"]) if approver.get("email") else None
    from_ = acting.email if acting else None
    call = proposal.call
    try:
        try:
            data = await svc.pd.request(call.method, call.path, json=call.body, from_=from_)
        except InvalidInput:
            if proposal.action != "create_incident":
                raise
            # A resumed or retried create: PagerDuty refused a second open incident
            # with our key, so the first attempt landed. Report that one.
            found = await svc.pd.list_incidents(incident_key=proposal.fields["incident_key"], statuses=OPEN)
            if not found:
                raise
            data = {"incident": found[0].model_dump(mode="json")}
        result = _summarize_result(proposal.action, data)
        if proposal.action == "create_incident" and result.get("id"):
            when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            note = (
                f"Opened by incident-agent after approval by {approver.get('name', 'unknown')} "
                f"via {approver.get('source', surface_of(runtime))} at {when}."
            )
            await svc.pd.add_note(result["id"], note, from_=from_)
        status = "done"
    except PagerDutyError as exc:
        result, status = {"error": str(exc)}, "error"
    await svc.store.audit(
        thread_id=_thread_id(runtime),
        interrupt_id=_decision_key(state.proposal, state.decision),
        approver=approver,
        decision=(state.decision or {}).get("type", "approve"),
        proposal=state.proposal or {},
        reasons=proposal.reasons,
        result=result,
    )
    return Command(goto="report", update={"result": result, "status": status})


async def report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    status = "done" if state.status == "running" else state.status
    return {"status": status, "report": render_report(state, status)}


def _decision_key(proposal: Any, decision: Any) -> str:
    blob = json.dumps([proposal, decision], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _summarize_result(action: str, data: dict[str, Any]) -> dict[str, Any]:
    obj = next(iter(data.values()), {}) if data else {}
    keys = ("id", "incident_number", "title", "status", "urgency", "html_url", "content")
    return {"action": action, **{k: obj[k] for k in keys if isinstance(obj, dict) and k in obj}}


def build_graph() -> StateGraph:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    for node in (triage, lookup_service, clarify, resolve_oncall, check_open_incidents,
                 propose, approve, execute, report):
        builder.add_node(node)
    builder.add_edge(START, "triage")
    builder.add_edge("resolve_oncall", "propose")
    builder.add_edge("check_open_incidents", "propose")
    builder.add_edge("report", END)
    return builder


graph = build_graph().compile(name="incident_response")
