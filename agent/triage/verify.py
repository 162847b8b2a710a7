"""The catalog check every triage result passes before anyone sees it.

Whatever produced the result (rules or a model), ids must exist in the live
account, priorities must be the account's, urgency is high/low or nothing,
and text fields are clean. A refused value becomes None with a reason, and a
page without a service always comes with candidates for a human to pick.
"""

from __future__ import annotations

from agent.pagerduty.catalog import Catalog
from agent.triage.models import MAX_TITLE_CHARS, Intent, TriageResult
from agent.triage.scoring import rank_services
from agent.triage.severity import priority_named
from agent.triage.text import make_details, make_title, sanitise

_SERVICE_INTENTS = {Intent.page, Intent.who_is_on_call, Intent.list_incidents}


def verify(result: TriageResult, catalog: Catalog, text: str) -> TriageResult:
    """A copy of `result` with everything the catalog does not allow removed."""
    r = result.model_copy(deep=True)
    reasons = list(r.reasons)

    if r.service_id is not None and catalog.service(r.service_id) is None:
        reasons.append(f"model named unknown service id {r.service_id}; not used")
        r.service_id = None
    r.candidates = [c for c in r.candidates if catalog.service(c.id) is not None]
    if r.service_id is None and r.intent in _SERVICE_INTENTS and not r.candidates:
        words = r.service_words or (text if r.intent == Intent.page else None)
        if words:
            r.candidates = rank_services(words, catalog)[:5]

    if r.priority is not None:
        found = priority_named(r.priority, catalog)
        if found is None:
            reasons.append(
                f"priority '{r.priority}' is not one of the account's priorities; dropped"
            )
        r.priority = found.name if found else None

    if isinstance(r.urgency, str):
        said = r.urgency.strip().lower()
        r.urgency = "high" if said == "high" else "low" if said == "low" else None

    if r.intent == Intent.not_incident:
        r.service_id = None
        r.urgency = None
        r.priority = None
    if r.intent == Intent.page and r.urgency is None:
        r.urgency = "high"
        reasons.append("urgency high: none given, so the safe default")

    r.title = make_title(r.title or text)[:MAX_TITLE_CHARS] or make_title(text)
    r.details = make_details(text)
    for name in (
        "service_words",
        "schedule_words",
        "time_words",
        "message",
        "incident_ref",
        "leaving",
        "covering",
        "policy_words",
    ):
        value = getattr(r, name)
        if value is not None:
            value = sanitise(value).strip()
            setattr(r, name, value[:2_000] or None)
    r.people = [p for p in (sanitise(p).strip()[:200] for p in r.people) if p]
    r.reasons = [sanitise(x).strip()[:500] for x in reasons if x and x.strip()]
    return r
