"""Which past incidents read like this alert: TF-IDF over their titles.

An alert that names no service often describes a symptom the account has
seen before ("customers charged twice" after "Duplicate charges on
checkout"). Titles and alerts are normalised by triage's own tokeniser
(stems, no stopwords, no alert-ese such as "critical" or "firing"), then
compared by TF-IDF over character n-grams within words (`tfidf.py`):
rare words weigh more than common ones, and "charged" still meets
"charges". The cosine of two vectors is 0..1 whatever the account's size,
so one threshold holds across accounts.

The index is built once per copy of the history (`History.index`), never
per alert; a query is one sparse product.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.history.tfidf import TfidfIndex
from agent.pagerduty.models import Incident
from agent.triage.models import SimilarIncident
from agent.triage.text import terms

if TYPE_CHECKING:
    from agent.pagerduty.catalog import Catalog

MIN_SIMILARITY = 0.3
"""Below this, two texts share little more than a common word part."""
MAX_QUERY_CHARS = 2_000


@dataclass(frozen=True)
class PastIncident:
    id: str
    number: int | None
    title: str
    service_id: str
    service_name: str
    minutes_to_resolve: int | None
    html_url: str | None = None

    @classmethod
    def of(cls, incident: Incident) -> PastIncident:
        minutes = None
        # Older API versions have no resolved_at: a resolved incident's last change is it.
        extra = incident.model_extra or {}
        resolved = incident.resolved_at or _time(extra.get("last_status_change_at"))
        if resolved is not None:
            seconds = (resolved - incident.created_at).total_seconds()
            minutes = max(0, round(seconds / 60))
        return cls(
            id=incident.id,
            number=incident.incident_number,
            title=incident.title,
            service_id=incident.service.id,
            service_name=incident.service.summary or incident.service.id,
            minutes_to_resolve=minutes,
            html_url=incident.html_url,
        )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def normalise(text: str) -> str:
    """The words that can tell one problem from another, stemmed, in order."""
    return " ".join(terms(text[:MAX_QUERY_CHARS]))


class HistoryIndex:
    """Past incidents, vectorised; `similar(text)` ranks them against an alert."""

    def __init__(self, past: Iterable[PastIncident]) -> None:
        docs = [(p, normalise(p.title)) for p in past]
        docs = [(p, d) for p, d in docs if d]
        self.past = [p for p, _ in docs]
        self._index = TfidfIndex([d for _, d in docs]) if docs else None

    @classmethod
    def of(cls, incidents: Iterable[Incident]) -> HistoryIndex:
        return cls(PastIncident.of(i) for i in incidents if i.status == "resolved")

    def __len__(self) -> int:
        return len(self.past)

    def similar(
        self,
        text: str,
        catalog: Catalog | None = None,
        *,
        k: int = 5,
        min_similarity: float = MIN_SIMILARITY,
    ) -> list[SimilarIncident]:
        """The `k` past incidents most like `text`, most similar first; service
        names as the catalog has them now (as recorded when it no longer does)."""
        query = normalise(text)
        if self._index is None or not query:
            return []
        scores = self._index.scores(query)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], -(self.past[i].number or 0)))
        names = {s.id: s.name for s in catalog.services} if catalog is not None else {}
        out: list[SimilarIncident] = []
        for i in order[:k]:
            if scores[i] < min_similarity:
                break
            p = self.past[i]
            out.append(
                SimilarIncident(
                    id=p.id,
                    number=p.number,
                    title=p.title,
                    service_id=p.service_id,
                    service_name=names.get(p.service_id, p.service_name),
                    minutes_to_resolve=p.minutes_to_resolve,
                    similarity=round(float(scores[i]), 3),
                    html_url=p.html_url,
                )
            )
        return out
