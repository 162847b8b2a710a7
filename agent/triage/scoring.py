"""Rank catalog services against words, with no model and no special cases.

Each service becomes a small document: its name, its description, the
component identifiers in the description (`pg-main`, `(billing-api)`,
`BigQuery`), its teams and escalation policy. A text term scores by how rare
it is across the catalog (IDF, normalised so a term unique to one service is
worth 1.0 whatever the catalog's size) times the weight of the field it hits.
Terms that name a concept (`safari` -> frontend) add half weight. A component
identifier also matches as the prefix of a longer host-like token, so
`pg-main` is found in `pg-main-replica-1`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import Service
from agent.triage.models import ServiceCandidate
from agent.triage.text import expand, is_content, tokens

W_NAME = 1.6
W_COMPONENT = 2.0
W_DESCRIPTION = 1.0
W_OWNER = 0.5  # team and escalation-policy names: shared by many services
W_CONCEPT = 0.5  # multiplier for a match made through CONCEPTS
W_HOST = 0.5  # multiplier for a term inside a host name
NAME_PHRASE_BONUS = 1.0

# "Exactly one service" needs a score of at least FLOOR and a clear gap to
# the runner-up: top >= RATIO * second and top - second >= GAP.
FLOOR = 1.0
RATIO = 1.4
GAP = 0.5

_IDENT = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+|\b[A-Za-z]*[0-9][A-Za-z0-9]*\b")
_INNER_CAPS = re.compile(r"^[A-Za-z][a-z0-9]*[A-Z0-9][A-Za-z0-9]*$|^[A-Z]{2,}[0-9]*$")


@dataclass
class ServiceDoc:
    service: Service
    weights: dict[str, float] = field(default_factory=dict)  # term -> best field weight
    compounds: set[str] = field(default_factory=set)  # hyphenated component identifiers
    name_terms: list[str] = field(default_factory=list)

    def add(self, term: str, weight: float) -> None:
        if is_content(term) and weight > self.weights.get(term, 0.0):
            self.weights[term] = weight


def _components(description: str) -> set[str]:
    """Identifier-like words of a description: `(billing-api)`, `pg-main`,
    `prod-1`, `S3`, `BigQuery`, `GKE`, capitalised words after the first."""
    found: set[str] = set()
    for inner in re.findall(r"\(([^)]*)\)", description):
        found.update(w.lower() for w in re.findall(r"[A-Za-z0-9][\w.-]*", inner))
    found.update(m.group(0).lower() for m in _IDENT.finditer(description))
    for i, word in enumerate(re.findall(r"[A-Za-z][A-Za-z0-9]*", description)):
        if _INNER_CAPS.match(word) or (i > 0 and word[0].isupper()):
            found.add(word.lower())
    return found


def build_docs(catalog: Catalog) -> list[ServiceDoc]:
    teams = {t.id: t.name for t in catalog.teams}
    policies = {p.id: p.name for p in catalog.escalation_policies}
    docs: list[ServiceDoc] = []
    for service in catalog.services:
        doc = ServiceDoc(service)
        description = service.description or ""
        components = _components(description)
        doc.compounds = {c for c in components if "-" in c or "_" in c}
        owners = [teams.get(t.id) or t.summary or "" for t in service.teams]
        owners.append(
            policies.get(service.escalation_policy.id) or service.escalation_policy.summary or ""
        )
        fields = [(service.name, W_NAME), (description, W_DESCRIPTION)] + [
            (o, W_OWNER) for o in owners
        ]
        for text, weight in fields:
            for tok in tokens(text):
                w = weight
                if weight == W_DESCRIPTION and (
                    tok.term in components or tok.raw.lower() in components
                ):
                    w = W_COMPONENT
                doc.add(tok.term, w)
                for concept in expand(tok.term):
                    doc.add(concept, w * W_CONCEPT)
        doc.name_terms = [t.term for t in tokens(service.name) if is_content(t.term)]
        docs.append(doc)
    return docs


def _idf(docs: list[ServiceDoc]) -> dict[str, float]:
    """BM25's IDF, divided by its value for a term unique to one service."""
    df: dict[str, int] = defaultdict(int)
    for doc in docs:
        for term in doc.weights:
            df[term] += 1
    n = len(docs)

    def raw(k: int) -> float:
        return math.log(1 + (n - k + 0.5) / (k + 0.5))

    top = raw(1) or 1.0
    return {term: raw(k) / top for term, k in df.items()}


def _contains_phrase(haystack: list[str], needle: list[str]) -> bool:
    k = len(needle)
    return k > 1 and any(haystack[i : i + k] == needle for i in range(len(haystack) - k + 1))


def rank_services(words: str, catalog: Catalog) -> list[ServiceCandidate]:
    """Services that `words` may mean, best first, each with why; only
    services with some evidence are listed."""
    return [candidate for candidate, _ in rank_with_words(words, catalog)]


def rank_with_words(words: str, catalog: Catalog) -> list[tuple[ServiceCandidate, list[str]]]:
    """Like `rank_services`, plus the words of the text (as written, in order)
    that each service matched."""
    docs = build_docs(catalog)
    if not docs:
        return []
    idf = _idf(docs)
    toks = [t for t in tokens(words) if is_content(t.term)]
    seq = [t.term for t in toks]
    ranked: list[tuple[ServiceCandidate, list[str]]] = []
    raw_of: dict[str, str] = {}
    for tok in toks:
        raw_of.setdefault(tok.term, tok.raw)
    for doc in docs:
        best: dict[str, tuple[float, str]] = {}  # text term -> (score, evidence)

        def hit(key: str, score: float, evidence: str, best=best) -> None:
            if score > best.get(key, (0.0, ""))[0]:
                best[key] = (score, evidence)

        for tok in toks:
            host = W_HOST if tok.in_host else 1.0
            if tok.compound:
                for comp in doc.compounds:
                    if tok.term == comp or tok.term.startswith(comp + "-"):
                        hit(tok.term, W_COMPONENT * idf.get(comp, 1.0) * host, f"'{comp}'")
                continue
            # A word scores for itself and, at lower weight, for the concepts
            # it names ("password" is also evidence for "account").
            score, found = 0.0, []
            weight = doc.weights.get(tok.term)
            if weight:
                score += weight * idf[tok.term]
                found.append(f"'{tok.raw}'")
            for concept in expand(tok.term):
                weight = doc.weights.get(concept)
                if weight:
                    score += weight * idf[concept] * W_CONCEPT
                    found.append(f"'{tok.raw}'~{concept}")
            if found:
                hit(
                    tok.term,
                    min(score, W_COMPONENT) * host,
                    found[0] if len(found) == 1 else found[-1],
                )
        score = sum(s for s, _ in best.values())
        evidence = [e for _, e in sorted(best.values(), reverse=True)]
        if _contains_phrase(seq, doc.name_terms):
            score += NAME_PHRASE_BONUS
            evidence.insert(0, f"name '{doc.service.name}'")
        if score > 0:
            why = "matched " + ", ".join(dict.fromkeys(evidence))
            candidate = ServiceCandidate(
                id=doc.service.id, name=doc.service.name, score=round(score, 3), why=why
            )
            matched = [raw_of[t] for t in dict.fromkeys(seq) if t in best]
            ranked.append((candidate, list(dict.fromkeys(matched))))
    ranked.sort(key=lambda pair: (-pair[0].score, pair[0].name))
    return ranked


def clear_winner(ranked: list[ServiceCandidate]) -> ServiceCandidate | None:
    """The top candidate if it is above the floor and clearly ahead, else None."""
    if not ranked or ranked[0].score < FLOOR:
        return None
    top = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    if top >= RATIO * second and top - second >= GAP:
        return ranked[0]
    return None
