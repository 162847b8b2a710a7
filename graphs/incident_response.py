"""Alert or request in plain words -> an approved PagerDuty write, or an answer.

    triage -> lookup_service -> (resolve_oncall | check_open_incidents) -> propose
           -> find_incident -> propose_update
           -> check_roster -> propose_override
                 -> check_sender -> approve (interrupt) -> execute -> report
                                                           \\-> await_retry (interrupt) -> execute | report
    clarify (interrupt): which service / person / schedule / incident, then back

The decisions (which service, which incident, which fields, who covers whom)
are planners in `agent/respond/`: each returns its result, a `Question` or a
`Refusal`, and a node here maps that to the next step. Reads (who is on call,
open incidents) go from `propose` to `report` and never wait. A write is data
until a human approves it; approve, execute and await_retry are the steps
every graph shares (agent/approvals/steps.py). The nodes follow the diagram;
the wiring is at the bottom.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.approvals import Approver, steps
from agent.approvals.ask import ask, recorded
from agent.pagerduty.models import User
from agent.pagerduty.writes import ApiCall
from agent.respond.describe import render_report
from agent.respond.incident import OPEN
from agent.respond.incident import find_incident as plan_incident
from agent.respond.page import duplicate, incident_key, oncall_rows, open_rows, propose_page
from agent.respond.questions import answer_problem, apply_choice, ask_request
from agent.respond.roster import plan_override
from agent.respond.roster import propose_override as plan_override_write
from agent.respond.service import choose_service
from agent.respond.state import InputState, Question, Refusal, State, changes
from agent.respond.update import propose_update as plan_update
from agent.runtime import Context, SenderError, Services, context_of, services_for, surface_of
from agent.triage import Intent, TriageInputError
from agent.triage import triage as read_request

GRAPH = "incident_response"
Step = Literal["lookup_service", "find_incident", "check_roster", "report"]
Read = Literal["resolve_oncall", "check_open_incidents"]
NEXT: dict[Intent, Step] = {
    Intent.page: "lookup_service", Intent.who_is_on_call: "lookup_service",
    Intent.list_incidents: "lookup_service",
    Intent.acknowledge: "find_incident", Intent.resolve: "find_incident", Intent.reassign: "find_incident",
    Intent.add_note: "find_incident", Intent.add_responder: "find_incident",
    Intent.change_urgency: "find_incident", Intent.change_priority: "find_incident",
    Intent.override: "check_roster", Intent.not_incident: "report", Intent.postmortem: "report",
}  # fmt: skip
"""Where triage sends each intent."""
READS: dict[Intent, list[Read]] = {
    Intent.page: ["resolve_oncall", "check_open_incidents"],
    Intent.who_is_on_call: ["resolve_oncall"],
    Intent.list_incidents: ["check_open_incidents"],
}
"""The reads each service intent needs before `propose`."""


def _planned(state: State, result: object, goto: str, **update: Any) -> Command:
    """A planner's answer as the next step: a question goes to `clarify`, a refusal ends the thread."""
    if isinstance(result, Question):
        kept = {k: v for k, v in state.choices.items() if k not in result.forget}
        return Command(goto="clarify", update=changes(question=result, choices=kept))
    if isinstance(result, Refusal):
        return _error(result.why)
    return Command(goto=goto, update=changes(**update))


def _error(why: str) -> Command:
    return Command(goto="report", update=changes(status="error", report=why))


async def _requester(svc: Services) -> User | None:
    """Who asks: the user the agent's writes act as (PAGERDUTY_FROM, or the token's user)."""
    try:
        return await svc.acting_user(required=False)
    except SenderError:
        return None


async def triage(state: State, runtime: Runtime[Context]) -> Command[Step]:
    """The prompt (and an alert's fields) read as a typed request, checked against the catalog."""
    svc = await services_for(runtime)
    try:
        request = await read_request(
            state.prompt, await svc.catalog.get(), svc.settings, alert=state.alert, history=svc.history
        )
    except TriageInputError as exc:
        return _error(str(exc))
    if request.intent == Intent.postmortem:
        why = "post-mortems are written by `incident-agent postmortem INCIDENT`, not by this graph"
        return Command(goto="report", update=changes(request=request, status="error", report=why))
    ended = {"status": "not_incident"} if request.intent == Intent.not_incident else {}
    return Command(goto=NEXT[request.intent], update=changes(request=request, **ended))


async def lookup_service(state: State, runtime: Runtime[Context]) -> Command[Read | Literal["clarify"]]:
    assert state.request is not None
    catalog = await (await services_for(runtime)).catalog.get()
    service = choose_service(state.request, catalog, about=state.prompt)
    if isinstance(service, Question):
        return _planned(state, service, "clarify")
    return Command(goto=READS[state.request.intent], update=changes(service=service) if service else {})


async def resolve_oncall(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Who is on call for the service's policy, or for every policy when none was named."""
    svc = await services_for(runtime)
    policies = [state.service.escalation_policy_id] if state.service else None
    return changes(oncall=oncall_rows(await svc.pd.oncalls(escalation_policy_ids=policies)))


async def check_open_incidents(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Open incidents on the service, and the one this alert would repeat, if any."""
    svc = await services_for(runtime)
    service_ids = [state.service.id] if state.service else None
    rows = open_rows(await svc.pd.list_incidents(statuses=OPEN, service_ids=service_ids, date_range="all"))
    title = state.request.title if state.request else ""
    return changes(open_incidents=rows, duplicate_of=duplicate(rows, incident_key(steps.thread_id()), title))


async def propose(state: State, runtime: Runtime[Context]) -> Command[Literal["check_sender", "report"]]:
    """A page (or a note on the open incident it repeats); a read ends here."""
    assert state.request is not None
    if state.request.intent != Intent.page:
        return Command(goto="report", update=changes(status="done"))
    assert state.service is not None
    catalog = await (await services_for(runtime)).catalog.get()
    proposal = propose_page(state.request, state.service, state.oncall, state.duplicate_of,
                            prompt=state.prompt, key=incident_key(steps.thread_id()), catalog=catalog)
    return _planned(state, proposal, "check_sender", proposal=proposal)


async def find_incident(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["propose_update", "clarify", "report"]]:
    """The incident the update is about: by id, `#number`, or the open one on a service."""
    svc = await services_for(runtime)
    assert state.request is not None
    found = await plan_incident(state.request, state.choices.get("incident"), svc.pd,
                                await svc.catalog.get(), about=state.prompt)
    return _planned(state, found, "propose_update", incident=found)


async def propose_update(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["check_sender", "clarify", "report"]]:
    svc = await services_for(runtime)
    assert state.request is not None and state.incident is not None
    proposal = plan_update(state.request, state.incident, choices=state.choices,
                           catalog=await svc.catalog.get(), requester=await _requester(svc),
                           about=state.prompt)
    return _planned(state, proposal, "check_sender", proposal=proposal)


async def check_roster(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["propose_override", "clarify", "report"]]:
    """Who hands over to whom, on which schedule, when; then who is on call then."""
    svc = await services_for(runtime)
    assert state.request is not None
    plan = await plan_override(state.request, state.prompt, choices=state.choices,
                               catalog=await svc.catalog.get(), pd=svc.pd, settings=svc.settings,
                               requester=await _requester(svc), now=svc.clock())
    return _planned(state, plan, "propose_override", override=plan)


async def propose_override(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["check_sender", "report"]]:
    assert state.override is not None and state.request is not None
    catalog = await (await services_for(runtime)).catalog.get()
    proposal = plan_override_write(state.override, state.request, catalog)
    return _planned(state, proposal, "check_sender", proposal=proposal)


async def check_sender(state: State, runtime: Runtime[Context]) -> Command[Literal["approve", "report"]]:
    """Know who the write will act as before a human is asked, not after they said yes."""
    try:
        await (await services_for(runtime)).acting_user(required=surface_of(runtime) != "slack")
    except SenderError as exc:
        return _error(f"{exc} Nothing was proposed.")
    return Command(goto="approve")


async def approve(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["execute", "approve", "report"]]:
    """Pause for the human: approve, edit (rebuilt by the action's builder) or reject (audited)."""
    assert state.proposal is not None
    answer = await steps.approve(await services_for(runtime), state.proposal, graph=GRAPH,
                                 prompt=state.prompt, feedback=state.feedback)
    if answer.status == "rejected":
        return Command(goto="report", update=changes(status="rejected", decision=answer.decision))
    if answer.status == "refused":
        return Command(goto="approve", update=changes(feedback=answer.feedback))
    return Command(goto="execute",
                   update=changes(proposal=answer.proposal, decision=answer.decision, feedback=None))


async def execute(state: State, runtime: Runtime[Context]) -> Command[Literal["report", "await_retry"]]:
    """Run the approved write, and for a new incident a note saying who approved it, each
    exactly once (a re-run looks in PagerDuty before sending again), audited."""
    assert state.proposal is not None
    surface = surface_of(runtime)

    def opened_note(result: dict[str, Any], approver: Approver | None) -> ApiCall | None:
        if state.proposal is None or state.proposal.action != "create_incident" or not result.get("id"):
            return None
        who, via = (approver.name, approver.source) if approver else ("unknown", surface)
        content = f"Opened by incident-agent after approval by {who} via {via}."
        return ApiCall(method="POST", path=f"/incidents/{result['id']}/notes",
                       body={"note": {"content": content}})

    done = await steps.execute(await services_for(runtime), state.proposal, state.decision,
                               look_only=context_of(runtime).look_only, landed=state.result,
                               follow_up=opened_note)
    if done.error:
        return Command(goto="await_retry",
                       update=changes(result=done.result, status="failed", error=done.error))
    return Command(goto="report", update=changes(result=done.result, status="done", error=None))


async def await_retry(state: State, runtime: Runtime[Context]) -> Command[Literal["execute", "report"]]:
    """A write that did not complete waits here, under the approval it already has:
    retry runs `execute` again (which looks for an earlier landing first); reject closes."""
    assert state.proposal is not None
    closed = await steps.await_retry(
        await services_for(runtime), state.proposal, graph=GRAPH, prompt=state.prompt,
        error=state.error, landed=state.result,
        description=render_report(state, "failed", steps.thread_id()))
    if closed is not None:
        return Command(goto="report", update=changes(status="rejected", closed_by=closed))
    return Command(goto="execute", update=changes(status="running"))


async def clarify(state: State, runtime: Runtime[Context]) -> Command[
    Literal["lookup_service", "find_incident", "propose_update", "check_roster", "clarify", "report"]
]:
    """Ask the human to choose (none or several matched, and we never guess); the answer
    is an edit setting the chosen id, checked before the asking node runs again."""
    svc = await services_for(runtime)
    q, request = state.question, state.request
    assert q is not None and request is not None
    async with recorded(svc.store, thread_id=steps.thread_id(), graph=GRAPH, prompt=state.prompt):
        decision = ask(ask_request(q, state.feedback))
    if decision.type == "reject":
        return Command(goto="report", update=changes(status="rejected", decision=decision))
    chosen = (decision.edited_args or {}).get(q.arg)
    problem = answer_problem(q, chosen, await svc.catalog.get())
    if problem is not None or not isinstance(chosen, str):
        return Command(goto="clarify", update=changes(feedback=problem))
    request = apply_choice(request, q, chosen, decision.approver.name)
    return Command(goto=q.back, update=changes(request=request, choices={**state.choices, q.role: chosen},
                                               question=None, feedback=None))


async def report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The end of every path; the approvals store learns it whoever drove the graph."""
    svc = await services_for(runtime)
    status = "done" if state.status == "running" else state.status
    thread = steps.thread_id()
    await svc.store.record_finish(thread, graph=GRAPH, prompt=state.prompt, status=status)
    return changes(status=status, report=render_report(state, status, thread))


def build_graph() -> StateGraph[State, Context, InputState, State]:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    for node in (triage, lookup_service, resolve_oncall, check_open_incidents, propose,
                 find_incident, propose_update, check_roster, propose_override,
                 check_sender, approve, execute, await_retry, clarify, report):
        builder.add_node(node)
    builder.add_edge(START, "triage")
    builder.add_edge("resolve_oncall", "propose")
    builder.add_edge("check_open_incidents", "propose")
    builder.add_edge("report", END)
    return builder


graph = build_graph().compile(name=GRAPH)
