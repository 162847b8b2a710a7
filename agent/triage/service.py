"""`triage()`: validate, pick the path (model or rules), verify, return.

The model is used when Settings configure one (API key or base URL) or a
model is passed in. Hostile text never reaches the model, and a model
failure of any kind falls back to rules with the reason shown.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agent.config import Settings
from agent.llm import llm_configured
from agent.pagerduty.catalog import Catalog
from agent.triage.models import Intent, TriageResult
from agent.triage.rules import looks_hostile, triage_rules
from agent.triage.scoring import FLOOR, rank_services
from agent.triage.text import validate_input
from agent.triage.verify import verify

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)


async def triage(
    text: str, catalog: Catalog, settings: Settings, *, model: BaseChatModel | None = None
) -> TriageResult:
    """Free text -> a typed request whose ids all exist in `catalog`."""
    text = validate_input(text)
    rules = triage_rules(text, catalog)
    if model is None and not llm_configured(settings):
        return verify(rules, catalog, text)
    if looks_hostile(text):
        rules.reasons.append("the model was not consulted: the text tries to instruct the agent")
        return verify(rules, catalog, text)
    from agent.triage.llm import triage_llm  # LangChain loads only when a model is used

    try:
        result = await triage_llm(text, catalog, settings, model)
    except Exception as exc:  # any model failure: rules still answer
        log.warning("triage: model failed, using rules: %s", type(exc).__name__)
        rules.reasons.append(f"the model failed ({type(exc).__name__}); rules were used")
        return verify(rules, catalog, text)
    return verify(_cross_check(result, rules, catalog, text), catalog, text)


def _cross_check(
    result: TriageResult, rules: TriageResult, catalog: Catalog, text: str
) -> TriageResult:
    """Where the model and the catalog's own words disagree about the
    service, a human decides; gaps the model left are filled from rules."""
    r = result.model_copy(deep=True)
    if r.intent == Intent.page and r.urgency is None:
        r.urgency = rules.urgency
    if r.intent == Intent.page and r.priority is None:
        r.priority = rules.priority
    for name in ("leaving", "covering", "policy_words"):
        if getattr(r, name) is None:
            setattr(r, name, getattr(rules, name))
    chosen = r.service_id
    if (
        chosen
        and catalog.service(chosen) is not None
        and rules.service_id
        and rules.service_id != chosen
    ):
        scores = {c.id: c.score for c in rank_services(text, catalog)}
        if scores.get(chosen, 0.0) < FLOOR:
            r.reasons.append(
                f"the model chose {chosen} but the words clearly name {rules.service_id}; a human decides"
            )
            r.service_id = None
            r.candidates = rules.candidates
    return r
