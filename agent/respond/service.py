"""Which service a request is about: the one triage found, or a question, never a guess."""

from __future__ import annotations

from agent.pagerduty.catalog import Catalog
from agent.respond.questions import service_candidates
from agent.respond.state import Question, Service
from agent.triage import Intent, TriageResult

NEEDS_SERVICE = {Intent.page, Intent.who_is_on_call}


def choose_service(request: TriageResult, catalog: Catalog, *, about: str) -> Service | Question | None:
    """The service, a question (none or several plausible), or None when the request
    needs none ("who's on call?" for every policy, open incidents anywhere)."""
    found = catalog.service(request.service_id) if request.service_id else None
    if found is not None:
        return Service(id=found.id, name=found.name, escalation_policy_id=found.escalation_policy.id,
                       html_url=found.html_url)
    if request.intent == Intent.who_is_on_call and request.all_services:
        return None
    if request.intent not in NEEDS_SERVICE and not request.service_words:
        return None
    candidates = service_candidates(request, catalog)
    words = request.service_words
    if request.candidates:
        named = f" by {words!r}" if words else ""
        text = f"Which service is meant{named}? The closest matches come first."
    elif words:
        text = f"No service of this account matched {words!r}; which one is meant?"
    else:
        text = "No service was named or recognised; which service is this about?"
    return Question(kind="service", role="service", text=text, candidates=candidates,
                    back="lookup_service", about=about)
