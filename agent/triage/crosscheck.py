"""The model's answer checked against the rules' evidence: a model never
makes triage worse than the rules alone.

A small model's answer parses and still may be wrong: it calls real alerts
"not an incident", picks a plausible but wrong service when the words are
unsure, pages a printer. The rules' reading is evidence it must agree with:

| model \\ rules                 | result                                          |
| ---                           | ---                                             |
| same intent                   | the model's, after the service check below       |
| not_incident \\ page           | the rules' page (never silence a real alert)     |
| page \\ a recognised non-incident (review, FYI, question, office, instructions, recovery) | not_incident |
| page \\ not_incident, no evidence either way | a page with no service: a human is asked |
| a read (who is on call, list) \\ page or not_incident | the model's read (nothing is written) |
| anything else that differs    | the rules' answer (their verbs were explicit)    |

Service, when both say page: rules clear and the model agrees or is unsure
-> the rules' service; rules clear and the model names another -> a human
picks; rules unsure -> the model's choice only if it is at the top of the
rules' candidates, else a human picks. Every disagreement is in the reasons.
"""

from __future__ import annotations

from agent.pagerduty.catalog import Catalog
from agent.triage.models import Intent, ServiceCandidate, TriageResult
from agent.triage.scoring import FLOOR

READS = {Intent.who_is_on_call, Intent.list_incidents}
TIE = 0.8  # a model pick within this fraction of the top candidate's score is a tie-break


def cross_check(
    model: TriageResult, rules: TriageResult, catalog: Catalog, text: str
) -> TriageResult:
    """The answer to use, from the model's and the rules' readings of `text`."""
    if model.intent != rules.intent:
        r = _intents_differ(model, rules)
    else:
        r = _fill_gaps(model, rules)
        if r.intent == Intent.page:
            _check_service(r, rules, catalog)
    # The past incidents are the rules' evidence, whoever answered.
    r.similar = list(rules.similar) if r.intent == Intent.page else []
    return r


def _fill_gaps(model: TriageResult, rules: TriageResult) -> TriageResult:
    r = model.model_copy(deep=True)
    if r.intent == Intent.page and r.urgency is None:
        r.urgency = rules.urgency
    if r.intent == Intent.page and r.priority is None:
        r.priority = rules.priority
    for name in ("leaving", "covering", "policy_words", "schedule_words", "time_words"):
        if getattr(r, name) is None:
            setattr(r, name, getattr(rules, name))
    r.all_services = rules.all_services and r.service_id is None
    r.kind = r.kind or rules.kind
    return r


def _rules_answer(model: TriageResult, rules: TriageResult, why: str) -> TriageResult:
    r = rules.model_copy(deep=True)
    r.reasons = [*r.reasons, f"the model said {model.intent.value}: {why}"]
    r.reasons += [x for x in model.reasons[:2]]
    return r


def _intents_differ(model: TriageResult, rules: TriageResult) -> TriageResult:
    if model.intent == Intent.not_incident and rules.intent == Intent.page:
        return _rules_answer(
            model, rules, "the rules' evidence reads a page, so theirs stands (a human approves)"
        )
    if model.intent == Intent.page and rules.intent == Intent.not_incident:
        if rules.kind != "no_evidence":
            return _rules_answer(
                model,
                rules,
                f"but the message is {rules.kind or 'not an incident'}; nobody is paged",
            )
        r = _fill_gaps(model, rules)
        r.service_id = None
        r.candidates = [c for c in model.candidates if c.score >= FLOOR / 2][:5]
        r.reasons.append(
            "the model reads a page, but the words name no service and describe no failure:"
            " a human decides"
        )
        return r
    if model.intent in READS and rules.intent in (Intent.page, Intent.not_incident):
        r = _fill_gaps(model, rules)
        r.reasons.append(f"the rules read {rules.intent.value}; a read writes nothing")
        return r
    return _rules_answer(
        model, rules, f"the rules read {rules.intent.value} from explicit words; theirs stands"
    )


def _check_service(r: TriageResult, rules: TriageResult, catalog: Catalog) -> None:
    chosen = r.service_id if r.service_id and catalog.service(r.service_id) else None
    if r.service_id and chosen is None:
        r.reasons.append(f"model named unknown service id {r.service_id}; not used")
    if rules.service_id:
        if chosen in (None, rules.service_id):
            if chosen is None:
                r.reasons.append(
                    f"the model named no service; the words clearly name {rules.service_id}"
                )
            r.service_id, r.candidates = rules.service_id, rules.candidates
            return
        r.reasons.append(
            f"the model chose {chosen} but the words clearly name {rules.service_id}; a human decides"
        )
        r.service_id, r.candidates = None, _with(rules.candidates, chosen, catalog)
        return
    if chosen is None:
        r.candidates = rules.candidates or r.candidates
        return
    top = rules.candidates[0].score if rules.candidates else 0.0
    mine = next((c.score for c in rules.candidates if c.id == chosen), 0.0)
    if top and mine >= FLOOR / 2 and mine >= TIE * top:
        r.reasons.append(
            f"the rules were unsure; the model chose {chosen}, one of their top candidates"
        )
        return
    r.reasons.append(
        f"the model chose {chosen}, which the words do not point at (score {mine}); a human decides"
    )
    r.service_id, r.candidates = None, _with(rules.candidates, chosen, catalog)


def _with(
    candidates: list[ServiceCandidate], sid: str | None, catalog: Catalog
) -> list[ServiceCandidate]:
    """The rules' candidates, plus the model's pick so the human can still choose it."""
    out = list(candidates[:5])
    service = catalog.service(sid) if sid else None
    if service is not None and all(c.id != service.id for c in out):
        out.append(
            ServiceCandidate(id=service.id, name=service.name, score=0.0, why="the model's pick")
        )
    return out
