"""Questions to a human ("which one is meant?"): the candidates with their reasons,
the request a surface shows, and checking the answer before it is used.

A question carries structure (the words asked about, each candidate and why
it is one); its text never says how to answer, because each surface offers
its own way (a menu in Slack, `--edit user_id=…` in the terminal).
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.approvals import build_request
from agent.approvals.hitl import HITLRequest
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import Reference, Schedule, User
from agent.pagerduty.models import Service as CatalogService
from agent.respond.state import Candidate, IncidentRow, Question, QuestionKind
from agent.roster import Ambiguous, Resolution, Resolved
from agent.triage import TriageResult

__all__ = [
    "answer_problem",
    "apply_choice",
    "ask_request",
    "incident_candidates",
    "person_candidates",
    "schedule_candidates",
    "service_candidates",
]

MAX_CANDIDATES = 50
SHOWN_IN_TEXT = 20


def person(u: User, *reasons: str) -> Candidate:
    return Candidate(id=u.id, name=u.name, email=u.email, reasons=[r for r in reasons if r])


def person_candidates(resolution: Resolution[User], everyone: list[User], words: str) -> list[Candidate]:
    """The people the words may mean: the equally good matches, the close spellings, or everyone."""
    if isinstance(resolution, Ambiguous):
        return [person(u, f"matches {words!r}") for u in resolution.candidates[:MAX_CANDIDATES]]
    if isinstance(resolution, Resolved):
        return [person(resolution.value, resolution.why)]
    if resolution.suggestions:
        return [person(u, f"a close spelling of {words!r}") for u in resolution.suggestions[:MAX_CANDIDATES]]
    return [person(u, "a user of this account") for u in everyone[:MAX_CANDIDATES]]


def schedule_candidates(
    resolution: Resolution[Schedule], everyone: list[Schedule], words: str | None
) -> list[Candidate]:
    named = f"matches {words!r}" if words else ""
    if isinstance(resolution, Ambiguous):
        pool, why = resolution.candidates, named or resolution.why
    elif isinstance(resolution, Resolved):
        pool, why = [resolution.value], resolution.why
    elif resolution.suggestions:
        pool, why = resolution.suggestions, f"a close spelling of {words!r}" if words else "a close match"
    else:
        pool, why = everyone, "a schedule of this account"
    return [
        Candidate(id=s.id, name=s.name, reasons=[r for r in (why, _teams(s.teams)) if r])
        for s in pool[:MAX_CANDIDATES]
    ]


def service_candidates(request: TriageResult, catalog: Catalog) -> list[Candidate]:
    """Triage's ranked services with what matched; if none, every service with what it is."""
    if request.candidates:
        return [
            Candidate(id=c.id, name=c.name, reasons=[r for r in (c.why, f"score {c.score:g}") if r])
            for c in request.candidates[:MAX_CANDIDATES]
        ]
    return [_service(s) for s in catalog.services[:MAX_CANDIDATES]]


def _service(s: CatalogService) -> Candidate:
    reasons = [_teams(s.teams), f"escalation policy {s.escalation_policy.summary}"
               if s.escalation_policy.summary else "", (s.description or "")[:120]]
    return Candidate(id=s.id, name=s.name, reasons=[r for r in reasons if r])


def _teams(teams: Iterable[Reference]) -> str:
    names = [t.summary or t.id for t in teams]
    return f"team {', '.join(names)}" if names else ""


def incident_candidates(rows: list[IncidentRow]) -> list[Candidate]:
    return [
        Candidate(
            id=r.id,
            name=f"#{r.number} {r.title}",
            reasons=[f"{r.status} on {r.service}", f"assigned to {', '.join(r.assignees) or 'nobody'}"],
        )
        for r in rows[:MAX_CANDIDATES]
    ]


def ask_request(q: Question, feedback: str | None = None) -> HITLRequest:
    """The HITL request of a question: args hold the id to set and the candidates;
    the description is the question, what it is about and the candidates, in words."""
    listed = [
        f"- {c.id}: {c.name}" + (f" <{c.email}>" if c.email else "") + (f" ({c.why})" if c.why else "")
        for c in q.candidates[:SHOWN_IN_TEXT]
    ]
    if len(q.candidates) > SHOWN_IN_TEXT:
        listed.append(f"- …and {len(q.candidates) - SHOWN_IN_TEXT} more")
    parts = [q.text]
    if q.about:
        parts.append(f"About: {q.about}")
    if feedback:
        parts.append(feedback)
    if listed:
        parts.append("Candidates:\n" + "\n".join(listed))
    return build_request(
        f"choose_{q.kind}",
        {q.arg: None, "candidates": [c.model_dump(mode="json") for c in q.candidates]},
        "\n\n".join(parts),
        allowed=["edit", "reject"],
    )


def answer_problem(q: Question, chosen: object, catalog: Catalog) -> str | None:
    """Why the chosen id cannot be used (None when it can): it must exist in the account,
    and an incident must be one of those offered."""
    known: dict[QuestionKind, bool] = {
        "service": isinstance(chosen, str) and catalog.service(chosen) is not None,
        "person": isinstance(chosen, str) and catalog.user(chosen) is not None,
        "schedule": isinstance(chosen, str) and catalog.schedule(chosen) is not None,
        "incident": any(c.id == chosen for c in q.candidates),
    }
    if known[q.kind]:
        return None
    what = "one of the incidents offered" if q.kind == "incident" else f"a {q.kind} of this account"
    return f"{chosen!r} is not {what}."


def apply_choice(request: TriageResult, q: Question, chosen: str, by: str) -> TriageResult:
    """The request once the human chose: the choice is one of its reasons (a chosen service, its service)."""
    update: dict[str, object] = {"reasons": [*request.reasons, f"{q.role} chosen by {by}: {chosen}"]}
    if q.kind == "service":
        update["service_id"] = chosen
    return request.model_copy(update=update)
