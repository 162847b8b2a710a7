"""`triage()`: validate, pick the path (model or rules), verify, return.

The model is used when Settings configure one (API key or base URL) or a
model is passed in. Hostile text never reaches the model, and a model
failure of any kind falls back to rules with the reason shown.

With `history` (the account's past incidents, agent/history), both paths
weigh the incidents the alert resembles, and a page carries the closest
ones with their resolution notes (read for those few only) to the approval.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, cast

from agent.config import Settings
from agent.llm import llm_configured
from agent.pagerduty.catalog import Catalog
from agent.triage.alert import AlertFields
from agent.triage.crosscheck import cross_check
from agent.triage.models import Intent, TriageResult
from agent.triage.rules import looks_hostile, triage_rules
from agent.triage.text import validate_input
from agent.triage.verify import verify

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.history.index import HistoryIndex
    from agent.triage.models import SimilarIncident

log = logging.getLogger(__name__)


class HistorySource(Protocol):
    """Where past incidents come from: `agent.history.HistoryCache`."""

    async def index(self) -> HistoryIndex: ...

    async def resolutions(self, similar: list[SimilarIncident]) -> list[SimilarIncident]: ...


HISTORY_INTENTS = frozenset({Intent.page, Intent.not_incident})
"""What past incidents can change: which service an alert is about, and whether it is one."""


async def triage(
    text: str,
    catalog: Catalog,
    settings: Settings,
    *,
    model: BaseChatModel | None = None,
    alert: AlertFields | None = None,
    history: HistorySource | HistoryIndex | None = None,
) -> TriageResult:
    """Free text (and an alert's structured fields, when it came from a
    monitoring system) -> a typed request whose ids all exist in `catalog`.
    `history`: a `HistoryCache` (notes are read for the shown incidents), or
    a bare `HistoryIndex` (no notes)."""
    text = validate_input(text)
    source: HistorySource | None = None
    index: HistoryIndex | None = None
    if history is not None and triage_rules(text, catalog, alert).intent not in HISTORY_INTENTS:
        history = None  # an override, an update of #N, a read: the words decide, no fetch
    if history is not None and hasattr(history, "resolutions"):
        source = cast("HistorySource", history)
        try:
            index = await source.index()
        except Exception as exc:  # history is evidence, never a reason to fail triage
            log.warning("triage: past incidents unavailable: %s", type(exc).__name__)
    elif history is not None:
        index = cast("HistoryIndex", history)
    result = await _triage(text, catalog, settings, model, alert, index)
    if source is not None and result.similar and result.intent == Intent.page:
        result.similar = await source.resolutions(result.similar)
        # Reasons travel to the approval: the approver sees how these were resolved.
        result.reasons += [
            f"past incident {s.phrase()}: {s.resolution}" for s in result.similar if s.resolution
        ]
    return result


async def _triage(
    text: str,
    catalog: Catalog,
    settings: Settings,
    model: BaseChatModel | None,
    alert: AlertFields | None,
    history: HistoryIndex | None,
) -> TriageResult:
    rules = triage_rules(text, catalog, alert, history)
    if model is None and not llm_configured(settings):
        return verify(rules, catalog, text)
    if looks_hostile(text):
        rules.reasons.append("the model was not consulted: the text tries to instruct the agent")
        return verify(rules, catalog, text)
    from agent.triage.llm import triage_llm  # LangChain loads only when a model is used

    try:
        result = await triage_llm(text, catalog, settings, model, rules=rules, alert=alert)
    except Exception as exc:  # any model failure: rules still answer
        log.warning("triage: model failed, using rules: %s", type(exc).__name__)
        rules.reasons.append(f"the model failed ({type(exc).__name__}); rules were used")
        return verify(rules, catalog, text)
    checked = cross_check(result, rules, catalog, text)
    return verify(checked, catalog, text)
