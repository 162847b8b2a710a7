"""Alert or request in plain words -> an approved PagerDuty write, or an answer.

    triage -> lookup_service -> (resolve_oncall | check_open_incidents) -> propose
           -> find_incident -> propose_update
           -> check_roster -> propose_override
                 -> approve (interrupt) -> execute -> report

`clarify` is the one question node: which service, person, schedule or
incident, asked with candidates whenever the words match none or several.
Reads (who is on call, open incidents) go from `propose` straight to `report`
and never wait. Each write is data until a human approves it; `execute` runs
it once and is safe to re-run.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.actions import ActionError, Proposal, build_proposal, rebuild_proposal
from agent.actions.execute import NotSent, decision_key, key_ref, summarize_result, write_once
from agent.approvals import RETRY_ACTION, build_request
from agent.approvals.ask import ask, recorded, review
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.errors import NotFound, PagerDutyError, plain
from agent.pagerduty.models import Incident, User
from agent.pagerduty.writes import ApiCall, with_ref
from agent.respond.describe import render_report, same_problem
from agent.respond.roster import (
    incident_row,
    person_candidates,
    question,
    requester_zone,
    segments_text,
)
from agent.respond.state import InputState, State
from agent.roster import (
    Resolved,
    TimeWindowError,
    Unknown,
    covers_window,
    on_call_segments,
    parse_incident_ref,
    parse_window,
    resolve_escalation_policy,
    resolve_person,
    resolve_schedule,
    schedule_members,
)
from agent.runtime import Context, SenderError, Services, services_for, surface_of
from agent.triage import Intent, TriageInputError
from agent.triage import triage as read_request
from agent.triage.alert import AlertFields

GRAPH = "incident_response"
OPEN = ["triggered", "acknowledged"]
NEEDS_SERVICE = {Intent.page, Intent.who_is_on_call}
UPDATES = {
    Intent.acknowledge, Intent.resolve, Intent.reassign, Intent.add_note, Intent.add_responder,
    Intent.change_urgency, Intent.change_priority,
}  # fmt: skip
QUESTIONS = {
    "service": ("choose_service", "service_id"),
    "person": ("choose_person", "user_id"),
    "schedule": ("choose_schedule", "schedule_id"),
    "incident": ("choose_incident", "incident_id"),
}
"""kind -> (HITL action name, the arg the answer sets); agent.approvals.ASKS_FOR_INPUT lists the names."""


def incident_key(thread_id: str) -> str:
    """Derived from the thread, so a retried or resumed create lands on one incident."""
    return f"incident-agent/{thread_id}"


def _thread_id(runtime: Runtime[Context]) -> str:
    from langgraph.config import get_config

    return str(get_config()["configurable"].get("thread_id", "no-thread"))


def _error(message: str) -> Command:
    return Command(goto="report", update={"status": "error", "report": message})


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
    catalog = await svc.catalog.get()
    try:
        alert = AlertFields.model_validate(state.alert) if state.alert else None
        request = await read_request(state.prompt, catalog, svc.settings, alert=alert)
    except TriageInputError as exc:
        return Command(goto="report", update={"status": "error", "report": str(exc)})
    update: dict[str, Any] = {"request": request.model_dump(mode="json")}
    if request.intent == Intent.not_incident:
        return Command(goto="report", update={**update, "status": "not_incident"})
    if request.intent in UPDATES:
        return Command(goto="find_incident", update=update)
    if request.intent == Intent.override:
        return Command(goto="check_roster", update=update)
    if request.intent == Intent.postmortem:
        why = "post-mortems are written by `incident-agent postmortem INCIDENT`, not by this graph"
        return Command(goto="report", update={**update, "status": "error", "report": why})
    return Command(goto="lookup_service", update=update)


async def lookup_service(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["resolve_oncall", "check_open_incidents", "clarify", "report"]]:
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    request = state.request or {}
    intent = Intent(request["intent"])
    service = catalog.service(request["service_id"]) if request.get("service_id") else None
    if service is None and intent == Intent.who_is_on_call and request.get("all_services"):
        return Command(goto="resolve_oncall")  # "who's on call?" with no service: every policy
    if service is None and (intent in NEEDS_SERVICE or request.get("service_words")):
        candidates = request.get("candidates") or [
            {"id": s.id, "name": s.name, "score": 0.0, "why": "no service matched the words"}
            for s in catalog.services
        ]
        words = request.get("service_words") or "the alert"
        ask_which = question("service", "service", f"Which service is meant by {words!r}?",
                             candidates, back="lookup_service")
        return Command(goto="clarify", update={"question": ask_which})
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


async def clarify(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["lookup_service", "find_incident", "propose_update", "check_roster", "clarify", "report"]]:
    """Ask the human to choose: none or several matched, and we never guess.

    One node for every kind of choice (service, person, schedule, incident);
    the answer is an edit setting the chosen id, checked before it is used.
    """
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    q = state.question or {}
    name, arg = QUESTIONS[q["kind"]]
    kind = q["kind"]
    listed = "\n".join(
        f"- {c['id']}: {c.get('name', '')}" + (f" <{c['email']}>" if c.get("email") else "")
        + (f" ({c['why']})" if c.get("why") else "")
        for c in q["candidates"][:20]
    )
    request = build_request(
        name,
        {arg: None, "candidates": q["candidates"]},
        f"{q['text']} Answer with an edit setting {arg} to one of the candidates, or reject "
        f"to drop the request." + (f"\n{state.feedback}" if state.feedback else "")
        + (f"\nCandidates:\n{listed}" if listed else ""),
        allowed=["edit", "reject"],
    )
    async with recorded(svc.store, thread_id=_thread_id(runtime), graph=GRAPH, prompt=state.prompt):
        decision = ask(request)
    if decision.type == "reject":
        return Command(
            goto="report",
            update={"status": "rejected", "decision": decision.model_dump(mode="json")},
        )
    chosen = (decision.edited_args or {}).get(arg)
    known = {
        "service": lambda i: catalog.service(i) is not None,
        "person": lambda i: catalog.user(i) is not None,
        "schedule": lambda i: catalog.schedule(i) is not None,
        "incident": lambda i: any(c["id"] == i for c in q["candidates"]),
    }[kind]
    if not isinstance(chosen, str) or not known(chosen):
        what = "one of the incidents offered" if kind == "incident" else f"a {kind} of this account"
        return Command(goto="clarify", update={"feedback": f"{chosen!r} is not {what}."})
    req = dict(state.request or {})
    req["reasons"] = [*req.get("reasons", []), f"{q['role']} chosen by {decision.approver.name}: {chosen}"]
    if kind == "service":
        req["service_id"] = chosen
    return Command(
        goto=q["back"],
        update={"request": req, "choices": {**state.choices, q["role"]: chosen},
                "question": None, "feedback": None},
    )


async def find_incident(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["propose_update", "clarify", "report"]]:
    """The incident the update is about: by id, `#number`, or the open one on a service."""
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    request = state.request or {}
    intent = Intent(request["intent"])
    ref = parse_incident_ref(request.get("incident_ref") or "")
    chosen = state.choices.get("incident")
    incident: Incident | None
    try:
        if chosen or ref.id:
            incident = await svc.pd.get_incident(chosen or ref.id)  # type: ignore[arg-type]
        elif ref.number is not None:
            incident = await svc.pd.find_incident_by_number(ref.number)
            if incident is None:
                return _error(f"There is no incident #{ref.number} in this account; nothing was changed.")
        else:
            service_id = request.get("service_id")
            service = catalog.service(service_id) if service_id else None
            found = await svc.pd.list_incidents(
                statuses=OPEN, service_ids=[service.id] if service else None, date_range="all"
            )
            where = f" on {service.name}" if service else ""
            if not found:
                return _error(f"There is no open incident{where}; nothing was changed. "
                              "Name it by number, e.g. #1201.")
            if len(found) > 1 or service is None:
                rows = [incident_row(i) for i in found]
                candidates = [
                    {"id": r["id"], "name": f"#{r['number']} {r['title']}", "why": f"{r['status']} on {r['service']}"}
                    for r in rows
                ]
                text = (f"{len(found)} incidents are open{where}; which one is meant?" if len(found) > 1
                        else "No service or incident number was named; is this the incident meant?")
                return Command(goto="clarify", update={
                    "question": question("incident", "incident", text, candidates, back="find_incident")})
            incident = found[0]
    except NotFound:
        return _error(f"Incident {chosen or ref.id} does not exist in this account; nothing was changed.")
    row = incident_row(incident)
    if row["status"] == "resolved" and intent != Intent.add_note:
        return _error(f"Incident #{row['number']} ({row['title']}) is already resolved; nothing was changed.")
    if intent == Intent.acknowledge and row["status"] == "acknowledged":
        return _error(f"Incident #{row['number']} is already acknowledged; nothing was changed.")
    return Command(goto="propose_update", update={"incident": row})


def _person(
    words: str, role: str, state: State, catalog: Catalog, requester: User | None, back: str
) -> User | Command:
    """The user the words (or the human's earlier choice) mean, or a question."""
    chosen = state.choices.get(role)
    if chosen and catalog.user(chosen):
        return catalog.user(chosen)  # type: ignore[return-value]
    if words == "me":
        if requester is None:
            return _error("'me' needs PAGERDUTY_FROM set to your PagerDuty email; nothing was changed.")
        return requester
    found = resolve_person(words, catalog)
    if isinstance(found, Resolved):
        return found.value
    text = f"Who is meant by {words!r} ({role})? {found.why}"
    return Command(goto="clarify", update={"question": question(
        "person", role, text, person_candidates(found, catalog.users), back=back)})


async def propose_update(state: State, runtime: Runtime[Context]) -> Command[Literal["check_sender", "clarify", "report"]]:
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    request = state.request or {}
    intent = Intent(request["intent"])
    inc = state.incident or {}
    requester = await _requester(svc)
    base = {"incident_id": inc["id"], "incident_number": inc.get("number")}
    label = f"#{inc.get('number')}"
    assigned = ", ".join(inc.get("assignees") or []) or "nobody"
    reasons = [
        f"incident {label} {inc.get('title')!r} on {inc.get('service')} is {inc.get('status')}, "
        f"assigned to {assigned}",
    ]
    message = request.get("message")
    effects: list[str]
    if intent == Intent.acknowledge:
        name, fields, effects = "acknowledge", base, [f"stops escalation of {label}; assignees unchanged ({assigned})"]
    elif intent == Intent.resolve:
        name, fields = "resolve", {**base, "resolution": message}
        effects = [f"closes {label}; nobody is paged for it any more"]
    elif intent == Intent.add_note:
        if not message:
            return _error("What should the note say? e.g. 'note on #1201: scaled to 12 replicas'. "
                          "Nothing was changed.")
        name, fields, effects = "add_note", {"incident_id": inc["id"], "content": message}, ["nobody is paged"]
    elif intent == Intent.change_urgency:
        if request.get("urgency") not in ("high", "low"):
            return _error("Which urgency, high or low? Nothing was changed.")
        name, fields = "change_urgency", {**base, "urgency": request["urgency"]}
        effects = [f"urgency {inc.get('urgency')} → {request['urgency']}"]
    elif intent == Intent.change_priority:
        if not request.get("priority"):
            names = ", ".join(p.name for p in catalog.priorities)
            return _error(f"Which priority? This account has {names}. Nothing was changed.")
        name, fields = "change_priority", {**base, "priority": request["priority"]}
        effects = [f"priority {inc.get('priority') or 'none'} → {request['priority']}"]
    else:
        people = [p for p in request.get("people") or []]
        users: list[User] = []
        for i, words in enumerate(people):
            role = "assignee" if intent == Intent.reassign else f"responder {i + 1}"
            got = _person(words, role, state, catalog, requester, back="propose_update")
            if isinstance(got, Command):
                return got
            users.append(got)
        policy = None
        if request.get("policy_words"):
            found = resolve_escalation_policy(request["policy_words"], catalog)
            if not isinstance(found, Resolved):
                return _error(f"{found.why} Nothing was changed.")
            policy = found.value
            reasons.append(found.why)
        reasons += [f"{u.name} <{u.email}>" + (" (you)" if requester and u.id == requester.id else "")
                    for u in users]
        if intent == Intent.reassign:
            if len(users) + (policy is not None) != 1:
                return _error("Reassign to whom? Name one person or one escalation policy. "
                              "Nothing was changed.")
            if users:
                name, fields = "reassign", {**base, "assignee_id": users[0].id}
                effects = [f"pages {users[0].name}; {assigned} no longer assigned"]
            else:
                assert policy is not None
                name, fields = "reassign", {**base, "escalation_policy_id": policy.id}
                effects = [f"pages the first level of {policy.name}; {assigned} no longer assigned"]
        else:
            if not users and policy is None:
                return _error("Which responders? Name people or an escalation policy. Nothing was changed.")
            if requester is None:
                return _error("A responder request needs a requester: set PAGERDUTY_FROM to your "
                              "PagerDuty email. Nothing was changed.")
            name, fields = "add_responder", {
                **base,
                "requester_id": requester.id,
                "message": message or f"Please help with incident {label}: {inc.get('title')}",
                "user_ids": [u.id for u in users],
                "escalation_policy_ids": [policy.id] if policy else [],
            }
            effects = [f"notifies {u.name}" for u in users] + (
                [f"notifies the first level of {policy.name}"] if policy else [])
    try:
        proposal = build_proposal(name, fields, catalog, reasons=[*reasons, *request.get("reasons", [])],
                                  effects=effects)
    except ActionError as exc:
        return _error(str(exc))
    return Command(goto="check_sender", update={"proposal": proposal.model_dump(mode="json")})


async def check_roster(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["propose_override", "clarify", "report"]]:
    """Who hands over to whom, on which schedule, when; then who is on call then.

    Time words are read on the requester's clock; the person leaving must be on
    call in the window; the covering person must be a user of the account.
    """
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    request = state.request or {}
    requester = await _requester(svc)
    tz, tz_why = requester_zone(svc.settings, requester)
    try:
        window = parse_window(state.prompt, now=svc.clock(), tz=tz)
    except TimeWindowError as exc:
        return _error(f"{exc} Nothing was changed.")
    back = "check_roster"
    leaving: User | None = None
    if request.get("leaving") or state.choices.get("leaving"):
        got = _person(request.get("leaving") or "", "leaving", state, catalog, requester, back)
        if isinstance(got, Command):
            return got
        leaving = got
    reasons = [f"times read in {tz} ({tz_why})"]
    if state.choices.get("schedule"):
        schedule = catalog.schedule(state.choices["schedule"])
        assert schedule is not None
    else:
        found = resolve_schedule(request.get("schedule_words"), catalog, person=leaving)
        if not isinstance(found, Resolved):
            pool = found.candidates if not isinstance(found, Unknown) else (found.suggestions or catalog.schedules)
            candidates = [{"id": s.id, "name": s.name} for s in pool]
            return Command(goto="clarify", update={"question": question(
                "schedule", "schedule", f"Which schedule? {found.why}", candidates, back)})
        schedule = found.value
        reasons.append(found.why)
    members = [u for u in catalog.users if u.id in schedule_members(schedule)]
    if not (request.get("covering") or state.choices.get("covering")):
        others = [{"id": u.id, "name": u.name, "email": u.email} for u in catalog.users
                  if leaving is None or u.id != leaving.id]
        return Command(goto="clarify", update={"question": question(
            "person", "covering", f"Who should cover {schedule.name} {window.describe()}?",
            others, back)})
    got = _person(request.get("covering") or "", "covering", state, catalog, requester, back)
    if isinstance(got, Command):
        return got
    covering = got
    on_schedule, covering_elsewhere = await asyncio.gather(
        svc.pd.oncalls(schedule_ids=[schedule.id], since=window.start_utc, until=window.end_utc),
        svc.pd.oncalls(user_ids=[covering.id], since=window.start_utc, until=window.end_utc),
    )
    segments = on_call_segments(on_schedule, schedule_id=schedule.id, window=window)
    on_call_ids = list(dict.fromkeys(s.user.id for s in segments))
    before = segments_text(segments, window)
    if leaving is None:
        if len(on_call_ids) != 1:
            candidates = [{"id": u.id, "name": u.name, "email": u.email}
                          for u in (catalog.user(i) for i in on_call_ids) if u] or person_candidates(
                Unknown(""), members)
            return Command(goto="clarify", update={"question": question(
                "person", "leaving", f"Who hands over {schedule.name} {window.describe()}? "
                f"On call then: {before}.", candidates, back)})
        leaving = catalog.user(on_call_ids[0])
        assert leaving is not None
        reasons.append(f"{leaving.name} is the only person on call on {schedule.name} in that window")
    covered = covers_window(on_schedule, leaving.id, schedule.id, window)
    if covered is False:
        candidates = [{"id": u.id, "name": u.name, "email": u.email}
                      for u in (catalog.user(i) for i in on_call_ids) if u]
        return Command(goto="clarify", update={
            "choices": {k: v for k, v in state.choices.items() if k != "leaving"},
            "question": question(
                "person", "leaving",
                f"{leaving.name} is not on call on {schedule.name} in that window "
                f"({window.describe()}; on call then: {before}). Choose the person leaving or reject.",
                candidates, back)})
    if covering.id == leaving.id:
        return _error(f"{covering.name} cannot cover for themselves; nothing was changed.")
    if covers_window(on_schedule, covering.id, schedule.id, window) is True:
        return _error(f"{covering.name} is already on call on {schedule.name} for that whole window; "
                      "nothing was changed.")
    if covered == "partial":
        reasons.append(f"{leaving.name} is on call for only part of the window; the override "
                       f"puts {covering.name} on call for all of it")
    else:
        reasons.append(f"{leaving.name} is on call on {schedule.name} for the whole window")
    if covering.id not in schedule_members(schedule):
        reasons.append(f"note: {covering.name} is not a member of {schedule.name}")
    elsewhere = sorted({o.schedule.summary or o.schedule.id for o in covering_elsewhere
                        if o.schedule is not None and o.schedule.id != schedule.id})
    if elsewhere:
        reasons.append(f"note: {covering.name} is also on call then for {', '.join(elsewhere)}")
    override = {
        "schedule_id": schedule.id,
        "schedule": schedule.name,
        "leaving_id": leaving.id,
        "leaving": leaving.name,
        "covering_id": covering.id,
        "covering": covering.name,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "start_utc": window.start_utc,
        "end_utc": window.end_utc,
        "time_zone": window.tz,
        "window": window.describe(),
        "notes": list(window.notes),
        "before": before,
        "after": f"{covering.name} (the whole window)",
        "reasons": reasons,
    }
    return Command(goto="propose_override", update={"override": override})


async def propose_override(state: State, runtime: Runtime[Context]) -> Command[Literal["check_sender", "report"]]:
    svc = await services_for(runtime)
    catalog = await svc.catalog.get()
    o = state.override or {}
    fields = {
        "schedule_id": o["schedule_id"],
        "user_id": o["covering_id"],
        "start": o["start"],
        "end": o["end"],
        "time_zone": o["time_zone"],
        "replaces_user_id": o["leaving_id"],
    }
    reasons = [
        f"window: {o['window']} ({o['start_utc']} → {o['end_utc']})",
        *o["notes"],
        *o["reasons"],
        *(state.request or {}).get("reasons", []),
    ]
    effects = [
        f"on call for {o['schedule']} before: {o['before']}",
        f"after: {o['after']}",
    ]
    try:
        proposal = build_proposal("create_override", fields, catalog, reasons=reasons, effects=effects)
    except ActionError as exc:
        return _error(str(exc))
    return Command(goto="check_sender", update={"proposal": proposal.model_dump(mode="json")})


async def resolve_oncall(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Who is on call for the service's policy, or for every policy when none was named."""
    svc = await services_for(runtime)
    policies = [state.service["escalation_policy_id"]] if state.service else None
    oncalls = await svc.pd.oncalls(escalation_policy_ids=policies)
    rows = sorted(
        (
            {
                "policy": o.escalation_policy.summary if o.escalation_policy else None,
                "level": o.escalation_level,
                "user_id": o.user.id,
                "user": o.user.summary,
                "schedule": o.schedule.summary if o.schedule else None,
                "schedule_id": o.schedule.id if o.schedule else None,
                "until": o.end.isoformat() if o.end else None,
            }
            for o in oncalls
        ),
        key=lambda r: (r["policy"] or "", r["level"], r["user_id"]),
    )
    return {"oncall": rows}


async def check_open_incidents(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    svc = await services_for(runtime)
    service_ids = [state.service["id"]] if state.service else None
    incidents = await svc.pd.list_incidents(statuses=OPEN, service_ids=service_ids, date_range="all")
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


async def propose(state: State, runtime: Runtime[Context]) -> Command[Literal["check_sender", "report"]]:
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
    return Command(goto="check_sender", update={"proposal": proposal.model_dump(mode="json")})


async def check_sender(state: State, runtime: Runtime[Context]) -> Command[Literal["approve", "report"]]:
    """Know who the write will act as before a human is asked, not after they said yes."""
    svc = await services_for(runtime)
    try:
        await svc.acting_user(required=surface_of(runtime) != "slack")
    except SenderError as exc:
        return _error(f"{exc} Nothing was proposed.")
    return Command(goto="approve")


async def approve(state: State, runtime: Runtime[Context]) -> Command[Literal["execute", "approve", "report"]]:
    """Pause for the human. No side effect before `review`: this re-runs on resume."""
    svc = await services_for(runtime)
    proposal = Proposal.model_validate(state.proposal)
    async with recorded(svc.store, thread_id=_thread_id(runtime), graph=GRAPH, prompt=state.prompt):
        decision = review(proposal, state.feedback)
    record = decision.model_dump(mode="json")
    if decision.type == "reject":
        await _audit_reject(svc, runtime, state, record, result=None)
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


async def execute(state: State, runtime: Runtime[Context]) -> Command[Literal["report", "await_retry"]]:
    """Run the approved write, and its follow-up note, each exactly once.

    Each step is recorded before it is sent, under a key derived from the
    thread and the decision; a re-run (a retry, a resume after a crash, the
    server's `ainvoke(None)`) looks in PagerDuty before sending again.
    """
    svc = await services_for(runtime)
    proposal = Proposal.model_validate(state.proposal)
    approver = (state.decision or {}).get("approver", {})
    thread = _thread_id(runtime)
    key = f"{thread}:{decision_key(state.proposal, state.decision)}"
    look_only = isinstance(runtime.context, Context) and runtime.context.look_only
    result = dict(state.result or {})
    error: str | None = None
    what = "the write"
    try:
        try:
            acting = await svc.acting_user(approver.get("email"), required=False)
        except SenderError:
            acting = None  # PagerDuty's own answer (400, From required) names the problem
        from_ = acting.email if acting else None
        call = with_ref(proposal.call, key_ref(key, "write"))
        written = await write_once(svc, key, thread, "write", call, from_, look_only=look_only)
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
        thread_id=thread,
        interrupt_id=decision_key(state.proposal, state.decision),
        approver=approver,
        decision=(state.decision or {}).get("type", "approve"),
        proposal=state.proposal or {},
        reasons=proposal.reasons,
        result={**result, "error": error} if error else result,
    )
    if error:
        return Command(goto="await_retry", update={"result": result, "status": "failed", "error": error})
    return Command(goto="report", update={"result": result, "status": "done", "error": None})


def _opened_note(incident_id: str, approver: dict[str, Any], surface: str) -> ApiCall:
    content = (f"Opened by incident-agent after approval by {approver.get('name', 'unknown')} "
               f"via {approver.get('source', surface)}.")
    return ApiCall(method="POST", path=f"/incidents/{incident_id}/notes",
                   body={"note": {"content": content}})


async def await_retry(state: State, runtime: Runtime[Context]) -> Command[Literal["execute", "report"]]:
    """A write that did not complete waits here, under the approval it already has.

    Retry runs `execute` again (which first looks for an earlier landing);
    reject closes the thread without writing anything more.
    """
    svc = await services_for(runtime)
    proposal = Proposal.model_validate(state.proposal)
    request = build_request(
        RETRY_ACTION,
        {"error": state.error, "action": proposal.action, "landed": state.result or {}},
        render_report(state, "failed", _thread_id(runtime)),
        allowed=["approve", "reject"],
    )
    async with recorded(svc.store, thread_id=_thread_id(runtime), graph=GRAPH, prompt=state.prompt,
                        error=state.error):
        decision = ask(request)
    if decision.type == "reject":
        record = decision.model_dump(mode="json")
        await _audit_reject(svc, runtime, state, record, result=state.result)
        return Command(goto="report", update={"status": "rejected", "closed_by": record})
    return Command(goto="execute", update={"status": "running"})


async def _audit_reject(svc: Services, runtime: Runtime[Context], state: State,
                        record: dict[str, Any], *, result: dict[str, Any] | None) -> None:
    """A reject is audited with its reason, and what had landed before it (if anything)."""
    await svc.store.audit(
        thread_id=_thread_id(runtime),
        interrupt_id=decision_key(state.proposal, record),
        approver=record["approver"],
        decision="reject",
        proposal=state.proposal or {},
        reasons=(state.proposal or {}).get("reasons", []),
        result=result,
        message=record.get("message"),
    )


async def report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The end of every path; the approvals store learns it whoever drove the graph."""
    svc = await services_for(runtime)
    status = "done" if state.status == "running" else state.status
    thread = _thread_id(runtime)
    await svc.store.record_finish(thread, graph=GRAPH, prompt=state.prompt, status=status)
    return {"status": status, "report": render_report(state, status, thread)}


def build_graph() -> StateGraph:
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
