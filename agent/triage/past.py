"""What the account's past incidents say about an alert's service.

History is evidence, weighed after the words and the alert's fields:

- the words name no service clearly, and the alert resembles past incidents
  of one service (top similarity >= DECIDE, every other service's best at
  least GAP below, and two words in common unless the similarity is STRONG:
  one shared word such as "dashboard" is a guess, not a resemblance): that service, with "resembles #4711 '…' (Payments,
  resolved in 48 min)" in the reasons, unless the words clearly point at
  another service (then a human picks between the two);
- the words name a service and history agrees: the resemblance is a
  supporting reason; history strongly disagrees (>= STRONG, one other
  service): a human picks, since a wrong page is worse than a question;
- the words describe no failure at all, but the text strongly resembles a
  past incident of one service (>= STRONG): it is that problem again, a page;
- nothing resembles anything: no effect.

History never makes a recognised non-incident (a review request, an FYI,
instructions to the agent) a page: triage decides those before asking it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.pagerduty.catalog import Catalog
from agent.triage.models import ServiceCandidate, SimilarIncident
from agent.triage.text import terms

if TYPE_CHECKING:
    from agent.history.index import HistoryIndex

DECIDE = 0.5
STRONG = 0.6
GAP = 0.2
SHOWN = 3
HISTORY_SCORE = 1.5
"""A history-decided candidate's score: above the scorer's floor, below a named service."""


@dataclass
class Past:
    similar: list[SimilarIncident] = field(default_factory=list)
    """The closest incidents, best first, for the approval."""
    service: ServiceCandidate | None = None
    """The one service the resemblance points at, when it clearly does."""
    best: float = 0.0
    reason: str | None = None

    @property
    def strong(self) -> bool:
        return self.service is not None and self.best >= STRONG


def consult(index: HistoryIndex | None, text: str, catalog: Catalog) -> Past:
    """Past incidents like `text`, and the service they agree on, if one."""
    if index is None or not len(index):
        return Past()
    matches = index.similar(text, catalog)
    if not matches:
        return Past()
    top = matches[0]
    past = Past(similar=matches[:SHOWN], best=top.similarity)
    others = [m.similarity for m in matches if m.service_id != top.service_id]
    if top.similarity < DECIDE or (others and others[0] > top.similarity - GAP):
        return past
    if top.similarity < STRONG and len(_stems(text) & _stems(top.title)) < 2:
        return past
    service = next((s for s in catalog.services if s.id == top.service_id), None)
    if service is None:  # a service deleted since: the history cannot name it
        return past
    same = [m for m in matches if m.service_id == top.service_id]
    why = "resembles " + top.phrase()
    if len(same) > 1:
        why += f" and {len(same) - 1} more of its past incidents"
    past.reason = f"{why} (similarity {top.similarity:.2f})"
    past.service = ServiceCandidate(
        id=service.id, name=service.name, score=HISTORY_SCORE, why=past.reason
    )
    return past


def _stems(text: str) -> set[str]:
    """Content words cut to five letters ("subscribers" meets "subscription")."""
    return {t[:5] for t in terms(text)}


def summary(similar: list[SimilarIncident]) -> str:
    """One line for the reasons: the closest past incidents."""
    return "similar past incidents: " + "; ".join(
        f"{s.phrase()} {s.similarity:.2f}" for s in similar
    )
