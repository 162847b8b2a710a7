"""The write an update of one incident needs: which action, which fields, and why.

Acknowledge, resolve, note, urgency, priority, reassign, add responders: each
intent maps to one action of `agent.actions`, whose builder checks the fields
against the account (the same builder checks an approver's edit).
"""

from __future__ import annotations

from typing import Any

from agent.actions import ActionError, Proposal, build_proposal
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import EscalationPolicy, User
from agent.respond.people import who
from agent.respond.state import IncidentRow, Question, Refusal
from agent.roster import Resolved, resolve_escalation_policy
from agent.triage import Intent, TriageResult

NOTHING = " Nothing was changed."


def propose_update(
    request: TriageResult,
    inc: IncidentRow,
    *,
    choices: dict[str, str],
    catalog: Catalog,
    requester: User | None,
    about: str,
) -> Proposal | Question | Refusal:
    intent, label, message = request.intent, inc.label, request.message
    assigned = ", ".join(inc.assignees) or "nobody"
    base: dict[str, Any] = {"incident_id": inc.id, "incident_number": inc.number}
    reasons = [f"incident {label} {inc.title!r} on {inc.service} is {inc.status}, assigned to {assigned}"]
    if intent == Intent.acknowledge:
        name, fields = "acknowledge", base
        effects = [f"stops escalation of {label}; assignees unchanged ({assigned})"]
    elif intent == Intent.resolve:
        name, fields = "resolve", {**base, "resolution": message}
        effects = [f"closes {label}; nobody is paged for it any more"]
    elif intent == Intent.add_note:
        if not message:
            return Refusal(why="What should the note say? e.g. 'note on #1201: scaled to 12 replicas'."
                               + NOTHING)
        name, fields, effects = "add_note", {"incident_id": inc.id, "content": message}, ["nobody is paged"]
    elif intent == Intent.change_urgency:
        if request.urgency not in ("high", "low"):
            return Refusal(why="Which urgency, high or low?" + NOTHING)
        name, fields = "change_urgency", {**base, "urgency": request.urgency}
        effects = [f"urgency {inc.urgency} → {request.urgency}"]
    elif intent == Intent.change_priority:
        if not request.priority:
            names = ", ".join(p.name for p in catalog.priorities)
            return Refusal(why=f"Which priority? This account has {names}." + NOTHING)
        name, fields = "change_priority", {**base, "priority": request.priority}
        effects = [f"priority {inc.priority or 'none'} → {request.priority}"]
    else:
        target = _people_and_policy(request, choices=choices, catalog=catalog, requester=requester,
                                    about=about)
        if not isinstance(target, tuple):
            return target
        users, policy, why = target
        reasons += why
        if intent == Intent.reassign:
            if len(users) + (policy is not None) != 1:
                return Refusal(why="Reassign to whom? Name one person or one escalation policy." + NOTHING)
            if users:
                name, fields = "reassign", {**base, "assignee_id": users[0].id}
                effects = [f"pages {users[0].name}; {assigned} no longer assigned"]
            else:
                assert policy is not None
                name, fields = "reassign", {**base, "escalation_policy_id": policy.id}
                effects = [f"pages the first level of {policy.name}; {assigned} no longer assigned"]
        else:
            if not users and policy is None:
                return Refusal(why="Which responders? Name people or an escalation policy." + NOTHING)
            if requester is None:
                return Refusal(why="A responder request needs a requester: set PAGERDUTY_FROM to your "
                                   "PagerDuty email." + NOTHING)
            name, fields = "add_responder", {
                **base,
                "requester_id": requester.id,
                "message": message or f"Please help with incident {label}: {inc.title}",
                "user_ids": [u.id for u in users],
                "escalation_policy_ids": [policy.id] if policy else [],
            }
            effects = [f"notifies {u.name}" for u in users] + (
                [f"notifies the first level of {policy.name}"] if policy else [])
    try:
        return build_proposal(name, fields, catalog, reasons=[*reasons, *request.reasons], effects=effects)
    except ActionError as exc:
        return Refusal(why=str(exc))


def _people_and_policy(
    request: TriageResult, *, choices: dict[str, str], catalog: Catalog, requester: User | None, about: str
) -> tuple[list[User], EscalationPolicy | None, list[str]] | Question | Refusal:
    """The people and the escalation policy a reassign or responder request names, with reasons."""
    users: list[User] = []
    for i, words in enumerate(request.people):
        role = "assignee" if request.intent == Intent.reassign else f"responder {i + 1}"
        got = who(words, role, choices=choices, catalog=catalog, requester=requester,
                  back="propose_update", about=about)
        if not isinstance(got, User):
            return got
        users.append(got)
    reasons: list[str] = []
    policy = None
    if request.policy_words:
        found = resolve_escalation_policy(request.policy_words, catalog)
        if not isinstance(found, Resolved):
            return Refusal(why=f"{found.why}" + NOTHING)
        policy = found.value
        reasons.append(found.why)
    reasons += [f"{u.name} <{u.email}>" + (" (you)" if requester and u.id == requester.id else "")
                for u in users]
    return users, policy, reasons
