"""The typed request triage hands to the graph, and the error for bad input.

Both the rules path and the LLM path produce a `TriageResult`; `verify.py`
checks it against the catalog before anyone else sees it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

MAX_INPUT_CHARS = 20_000
MAX_TITLE_CHARS = 255


class TriageInputError(ValueError):
    """The text cannot be triaged at all (empty, too long, not text)."""


class Intent(StrEnum):
    page = "page"
    acknowledge = "acknowledge"
    resolve = "resolve"
    reassign = "reassign"
    add_note = "add_note"
    add_responder = "add_responder"
    override = "override"
    change_urgency = "change_urgency"
    change_priority = "change_priority"
    who_is_on_call = "who_is_on_call"
    list_incidents = "list_incidents"
    postmortem = "postmortem"
    not_incident = "not_incident"


class ServiceCandidate(BaseModel):
    id: str
    name: str
    score: float
    why: str


class SimilarIncident(BaseModel):
    """A past incident of the account that reads like this alert (agent/history)."""

    id: str
    number: int | None = None
    title: str
    service_id: str
    service_name: str
    minutes_to_resolve: int | None = None
    similarity: float = Field(description="TF-IDF cosine of the two texts, 0..1.")
    html_url: str | None = None
    resolution: str | None = Field(
        default=None,
        description="The incident's notes: fetched for the top matches only, when shown.",
    )

    def phrase(self) -> str:
        """`#4711 'Duplicate charges on checkout' (Payments, resolved in 48 min)`."""
        ref = f"#{self.number}" if self.number is not None else self.id
        took = (
            f", resolved in {_duration(self.minutes_to_resolve)}"
            if self.minutes_to_resolve is not None
            else ""
        )
        return f"{ref} '{self.title}' ({self.service_name}{took})"


def _duration(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h".replace(".0 h", " h")
    return f"{minutes // (24 * 60)} days"


class TriageResult(BaseModel):
    intent: Intent
    service_words: str | None = Field(None, description="The service as the words named it.")
    service_id: str | None = Field(
        None, description="Set only when exactly one catalog service is clearly meant."
    )
    candidates: list[ServiceCandidate] = Field(
        default_factory=list, description="Ranked services for a human to pick from."
    )
    urgency: Literal["high", "low"] | None = None
    priority: str | None = Field(None, description="A priority name that exists in the catalog.")
    title: str = Field("", max_length=MAX_TITLE_CHARS)
    details: str = ""
    reasons: list[str] = Field(default_factory=list, description="Shown to the approver.")
    incident_ref: str | None = None
    people: list[str] = Field(default_factory=list)
    schedule_words: str | None = None
    time_words: str | None = None
    message: str | None = None
    leaving: str | None = None
    """Override: the person words of who hands the shift over."""
    covering: str | None = None
    """Override: the person words of who takes it."""
    policy_words: str | None = None
    """An escalation policy as the words named it (reassign, add responder)."""
    kind: str | None = None
    """Why a not_incident is one: review_request, announcement, question, office,
    over (thanks, a fix explained), instructions (to the agent), recovery, or
    no_evidence (no service, no failure)."""
    all_services: bool = False
    """who_is_on_call naming no service, schedule or person: answer for every
    service (grouped by escalation policy), never ask which one."""
    similar: list[SimilarIncident] = Field(
        default_factory=list,
        description="The account's most similar past incidents (at most three), for the approval.",
    )
    source: Literal["rules", "llm"] = "rules"
