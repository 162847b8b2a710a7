"""Alert or request in plain words -> an approved PagerDuty write, or an answer.

    triage -> lookup_service -> (resolve_oncall | check_open_incidents) -> propose
           -> find_incident -> propose_update
           -> check_roster -> propose_override
                 -> check_sender -> approve (interrupt) -> execute -> report
                                                           \\-> await_retry (interrupt)
    clarify (interrupt): which service / person / schedule / incident

The decisions (which service, which incident, which fields, who covers whom)
are planners in `agent/respond/`; each returns a result, a `Question` or a
`Refusal`, and a node here only maps that to where the graph goes next. Reads
(who is on call, open incidents) go from `propose` straight to `report` and
never wait. Each write is data until a human approves it; `execute` runs it
once and is safe to re-run.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.actions import ActionError, rebuild_proposal
from agent.actions.execute import NotSent, decision_key, key_ref, summarize_result, write_once
from agent.approvals import RETRY_ACTION, Decision, build_request
from agent.approvals.ask import ask, recorded, review
from agent.pagerduty.errors import PagerDutyError, plain
from agent.pagerduty.models import User
from agent.pagerduty.writes import ApiCall, with_ref
from agent.respond.describe import render_report
from agent.respond.incident import OPEN
from agent.respond.incident import find_incident as plan_incident
from agent.respond.page import duplicate, incident_key, oncall_rows, open_rows, propose_page
from agent.respond.questions import answer_problem, ask_request
from agent.respond.roster import plan_override
from agent.respond.roster import propose_override as plan_override_write
from agent.respond.service import choose_service
from agent.respond.state import InputState, Question, Refusal, State, changes
from agent.respond.update import propose_update as plan_update
from agent.runtime import Context, SenderError, Services, services_for, surface_of
from agent.triage import Intent, TriageInputError
from agent.triage import triage as read_request

GRAPH = "incident_response"
UPDATES = {Intent.acknowledge, Intent.resolve, Intent.reassign, Intent.add_note, Intent.add_responder,
           Intent.change_urgency, Intent.change_priority}
Step = Literal["lookup_service", "find_incident", "check_roster", "report"]
Read = Literal["resolve_oncall", "check_open_incidents"]
NEXT: dict[Intent, Step] = {**dict.fromkeys(UPDATES, "find_incident"), Intent.override: "check_roster",
        Intent.page: "lookup_service", Intent.who_is_on_call: "lookup_service",
        Intent.list_incidents: "lookup_service", Intent.not_incident: "report", Intent.postmortem: "report"}
READS: dict[Intent, list[Read]] = {Intent.page: ["resolve_oncall", "check_open_incidents"], Intent.who_is_on_call: ["resolve_oncall"],
         Intent.list_incidents: ["check_open_incidents"]}


def _thread_id() -> str:
    return str(get_config()["configurable"].get("thread_id", "no-thread"))


def _error(why: str) -> Command:
    return Command(goto="report", update=changes(status="error", report=why))


def _planned(state: State, result: object, goto: str, **update: Any) -> Command:
    """A planner's answer as the next step: a question goes to `clarify`, a refusal ends the thread."""
    if isinstance(result, Question):
        kept = {k: v for k, v in state.choices.items() if k not in result.forget}
        return Command(goto="clarify", update=changes(question=result, choices=kept))
    if isinstance(result, Refusal):
        return _error(result.why)
    return Command(goto=goto, update=changes(**update))


def _key(state: State, decision: Decision | None = None) -> str:
    """The write's key, from the proposal and decision as the checkpoint holds them (JSON)."""
    stored = changes(proposal=state.proposal, decision=decision or state.decision)
    return decision_key(stored["proposal"], stored["decision"])


async def _requester(svc: Services) -> User | None:
    """Who asks: the user the agent's writes act as (PAGERDUTY_FROM, or the token's user)."""
    try:
        return await svc.acting_user(required=False)
    except SenderError:
        return None


async def triage(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["lookup_service", "find_incident", "check_roster", "report"]]:
    svc = await services_for(runtime)
    try:
        request = await read_request(state.prompt, await svc.catalog.get(), svc.settings, alert=state.alert)
    except TriageInputError as exc:
        return _error(str(exc))
    if request.intent == Intent.postmortem:
        why = "post-mortems are written by `incident-agent postmortem INCIDENT`, not by this graph"
        return Command(goto="report", update=changes(request=request, status="error", report=why))
    ended = {"status": "not_incident"} if request.intent == Intent.not_incident else {}
    return Command(goto=NEXT[request.intent], update=changes(request=request, **ended))


async def lookup_service(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["resolve_oncall", "check_open_incidents", "clarify", "report"]]:
    assert state.request is not None
    catalog = await (await services_for(runtime)).catalog.get()
    service = choose_service(state.request, catalog, about=state.prompt)
    if isinstance(service, Question):
        return _planned(state, service, "clarify")
    return Command(goto=READS[state.request.intent], update=changes(service=service) if service else {})


async def clarify(state: State, runtime: Runtime[Context]) -> Command[
    Literal["lookup_service", "find_incident", "propose_update", "check_roster", "clarify", "report"]
]:
    """Ask the human to choose: none or several matched, and we never guess.

    The answer is an edit setting the chosen id, checked before it is used.
    """
    svc = await services_for(runtime)
    q, request = state.question, state.request
    assert q is not None and request is not None
    async with recorded(svc.store, thread_id=_thread_id(), graph=GRAPH, prompt=state.prompt):
        decision = ask(ask_request(q, state.feedback))
    if decision.type == "reject":
        return Command(goto="report", update=changes(status="rejected", decision=decision))
    chosen = (decision.edited_args or {}).get(q.arg)
    problem = answer_problem(q, chosen, await svc.catalog.get())
    if problem is not None:
        return Command(goto="clarify", update=changes(feedback=problem))
    reasons = [*request.reasons, f"{q.role} chosen by {decision.approver.name}: {chosen}"]
    request = request.model_copy(update={"reasons": reasons, **({"service_id": chosen} if q.kind == "service" else {})})
    return Command(goto=q.back, update=changes(request=request, choices={**state.choices, q.role: chosen},
                                               question=None, feedback=None))


async def find_incident(state: State, runtime: Runtime[Context]) -> Command[Literal["propose_update", "clarify", "report"]]:
    """The incident the update is about: by id, `#number`, or the open one on a service."""
    svc = await services_for(runtime)
    assert state.request is not None
    found = await plan_incident(state.request, state.choices.get("incident"), svc.pd, await svc.catalog.get(),
                                about=state.prompt)
    return _planned(state, found, "propose_update", incident=found)


async def propose_update(state: State, runtime: Runtime[Context]) -> Command[Literal["check_sender", "clarify", "report"]]:
    svc = await services_for(runtime)
    assert state.request is not None and state.incident is not None
    proposal = plan_update(state.request, state.incident, choices=state.choices, catalog=await svc.catalog.get(),
                           requester=await _requester(svc), about=state.prompt)
    return _planned(state, proposal, "check_sender", proposal=proposal)


async def check_roster(state: State, runtime: Runtime[Context]) -> Command[Literal["propose_override", "clarify", "report"]]:
    """Who hands over to whom, on which schedule, when; then who is on call then."""
    svc = await services_for(runtime)
    assert state.request is not None
    plan = await plan_override(state.request, state.prompt, choices=state.choices, catalog=await svc.catalog.get(),
                               pd=svc.pd, settings=svc.settings, requester=await _requester(svc), now=svc.clock())
    return _planned(state, plan, "propose_override", override=plan)


async def propose_override(state: State, runtime: Runtime[Context]) -> Command[Literal["check_sender", "report"]]:
    assert state.override is not None and state.request is not None
    catalog = await (await services_for(runtime)).catalog.get()
    proposal = plan_override_write(state.override, state.request, catalog)
    return _planned(state, proposal, "check_sender", proposal=proposal)


async def resolve_oncall(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Who is on call for the service's policy, or for every policy when none was named."""
    svc = await services_for(runtime)
    policies = [state.service.escalation_policy_id] if state.service else None
    return changes(oncall=oncall_rows(await svc.pd.oncalls(escalation_policy_ids=policies)))


async def check_open_incidents(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    svc = await services_for(runtime)
    service_ids = [state.service.id] if state.service else None
    rows = open_rows(await svc.pd.list_incidents(statuses=OPEN, service_ids=service_ids, date_range="all"))
    title = state.request.title if state.request else ""
    return changes(open_incidents=rows, duplicate_of=duplicate(rows, incident_key(_thread_id()), title))


async def propose(state: State, runtime: Runtime[Context]) -> Command[Literal["check_sender", "report"]]:
    assert state.request is not None
    if state.request.intent != Intent.page:
        return Command(goto="report", update=changes(status="done"))
    assert state.service is not None
    proposal = propose_page(state.request, state.service, state.oncall, state.duplicate_of, prompt=state.prompt,
                            key=incident_key(_thread_id()), catalog=await (await services_for(runtime)).catalog.get())
    return _planned(state, proposal, "check_sender", proposal=proposal)


async def check_sender(state: State, runtime: Runtime[Context]) -> Command[Literal["approve", "report"]]:
    """Know who the write will act as before a human is asked, not after they said yes."""
    try:
        await (await services_for(runtime)).acting_user(required=surface_of(runtime) != "slack")
    except SenderError as exc:
        return _error(f"{exc} Nothing was proposed.")
    return Command(goto="approve")


async def approve(state: State, runtime: Runtime[Context]) -> Command[Literal["execute", "approve", "report"]]:
    """Pause for the human. No side effect before `review`: this re-runs on resume."""
    svc = await services_for(runtime)
    proposal = state.proposal
    assert proposal is not None
    async with recorded(svc.store, thread_id=_thread_id(), graph=GRAPH, prompt=state.prompt):
        decision = review(proposal, state.feedback)
    if decision.type == "reject":
        await _audit_reject(svc, state, decision, result=None)
        return Command(goto="report", update=changes(status="rejected", decision=decision))
    if decision.type == "edit":
        try:
            proposal = rebuild_proposal(proposal, decision.edited_args or {}, await svc.catalog.get())
        except ActionError as exc:
            return Command(goto="approve", update=changes(feedback=f"Edit refused: {exc}"))
    return Command(goto="execute", update=changes(proposal=proposal, decision=decision, feedback=None))


async def execute(state: State, runtime: Runtime[Context]) -> Command[Literal["report", "await_retry"]]:
    """Run the approved write, and its follow-up note, each exactly once.

    Each step is recorded before it is sent, under a key derived from the
    thread and the decision; a re-run (a retry, a resume after a crash, the
    server's `ainvoke(None)`) looks in PagerDuty before sending again.
    """
    svc = await services_for(runtime)
    assert state.proposal is not None
    proposal, thread = state.proposal, _thread_id()
    approver = state.decision.approver if state.decision else None
    key = f"{thread}:{_key(state)}"
    look_only = isinstance(runtime.context, Context) and runtime.context.look_only
    result, error, what = dict(state.result or {}), None, "the write"
    try:
        try:
            acting = await svc.acting_user(approver.email if approver else None, required=False)
        except SenderError:
            acting = None  # PagerDuty's own answer (400, From required) names the problem
        from_ = acting.email if acting else None
        written = await write_once(svc, key, thread, "write", with_ref(proposal.call, key_ref(key, "write")),
                                   from_, look_only=look_only)
        result = {**summarize_result(proposal.action, written), "found_earlier": written.found_earlier}
        if proposal.action == "create_incident" and result.get("id"):
            what = "the follow-up note"
            note = with_ref(_opened_note(result["id"], approver, surface_of(runtime)), key_ref(key, "note"))
            await write_once(svc, key, thread, "note", note, from_, look_only=look_only)
            result["note"] = "added"
    except PagerDutyError as exc:
        error = f"{what} failed: {plain(exc)}"
    except NotSent as exc:
        error = f"{what} was not written: {exc}"
    await svc.store.audit(
        thread_id=thread, interrupt_id=_key(state), approver=approver.model_dump(mode="json") if approver else {},
        decision=state.decision.type if state.decision else "approve", proposal=proposal.model_dump(mode="json"),
        reasons=proposal.reasons, result={**result, "error": error} if error else result,
    )  # fmt: skip
    if error:
        return Command(goto="await_retry", update=changes(result=result, status="failed", error=error))
    return Command(goto="report", update=changes(result=result, status="done", error=None))


def _opened_note(incident_id: str, approver: Any, surface: str) -> ApiCall:
    who, via = (approver.name, approver.source) if approver else ("unknown", surface)
    content = f"Opened by incident-agent after approval by {who} via {via}."
    return ApiCall(method="POST", path=f"/incidents/{incident_id}/notes", body={"note": {"content": content}})


async def await_retry(state: State, runtime: Runtime[Context]) -> Command[Literal["execute", "report"]]:
    """A write that did not complete waits here, under the approval it already has.

    Retry runs `execute` again (which first looks for an earlier landing);
    reject closes the thread without writing anything more.
    """
    svc = await services_for(runtime)
    assert state.proposal is not None
    request = build_request(RETRY_ACTION, {"error": state.error, "action": state.proposal.action,
                                           "landed": state.result or {}},
                            render_report(state, "failed", _thread_id()), allowed=["approve", "reject"])
    async with recorded(svc.store, thread_id=_thread_id(), graph=GRAPH, prompt=state.prompt, error=state.error):
        decision = ask(request)
    if decision.type == "reject":
        await _audit_reject(svc, state, decision, result=state.result)
        return Command(goto="report", update=changes(status="rejected", closed_by=decision))
    return Command(goto="execute", update=changes(status="running"))


async def _audit_reject(svc: Services, state: State, decision: Decision, *, result: dict[str, Any] | None) -> None:
    """A reject is audited with its reason, and what had landed before it (if anything)."""
    proposal = state.proposal
    await svc.store.audit(
        thread_id=_thread_id(), interrupt_id=_key(state, decision), approver=decision.approver.model_dump(mode="json"),
        decision="reject", proposal=proposal.model_dump(mode="json") if proposal else {},
        reasons=proposal.reasons if proposal else [], result=result, message=decision.message,
    )  # fmt: skip


async def report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The end of every path; the approvals store learns it whoever drove the graph."""
    svc = await services_for(runtime)
    status = "done" if state.status == "running" else state.status
    thread = _thread_id()
    await svc.store.record_finish(thread, graph=GRAPH, prompt=state.prompt, status=status)
    return changes(status=status, report=render_report(state, status, thread))


def build_graph() -> StateGraph[State, Context, InputState, State]:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    for node in (triage, lookup_service, clarify, resolve_oncall, check_open_incidents, propose,
                 find_incident, propose_update, check_roster, propose_override,
                 check_sender, approve, execute, await_retry, report):
        builder.add_node(node)
    builder.add_edge(START, "triage")
    builder.add_edge("resolve_oncall", "propose")
    builder.add_edge("check_open_incidents", "propose")
    builder.add_edge("report", END)
    return builder


graph = build_graph().compile(name=GRAPH)
