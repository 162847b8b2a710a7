"""Triage with a chat model and structured output (OpenAI json_schema).

The model is built per call from Settings, never at import. It sees the
catalog's services and answers with a service id from that list or null;
`verify.py` checks whatever comes back. Any failure here (HTTP, timeout,
malformed JSON, a schema violation) raises, and the caller falls back to
rules.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field

from agent.config import Settings
from agent.llm import chat_model
from agent.pagerduty.catalog import Catalog
from agent.triage.models import Intent, TriageResult
from agent.triage.scoring import rank_services
from agent.triage.text import make_details, make_title

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
MAX_SERVICES_IN_PROMPT = 150
MAX_OUTPUT_TOKENS = 800
TIMEOUT_S = 30.0

_INTENT_HELP = {
    Intent.page: "an alert or problem report: open an incident",
    Intent.acknowledge: "acknowledge an existing incident",
    Intent.resolve: "resolve an existing incident",
    Intent.reassign: "reassign an incident to someone",
    Intent.add_note: "add a note to an incident",
    Intent.add_responder: "add a responder to an incident",
    Intent.override: "change who is on call on a schedule (swap, cover, override)",
    Intent.change_urgency: "change an incident's urgency",
    Intent.change_priority: "change an incident's priority",
    Intent.who_is_on_call: "ask who is on call",
    Intent.list_incidents: "list incidents",
    Intent.postmortem: "write a post-mortem for an incident",
    Intent.not_incident: "not about production: nothing to do",
}


class LLMTriage(BaseModel):
    """What the model fills in; every field present, nullable where optional
    (strict structured output wants them all required)."""

    model_config = ConfigDict(extra="forbid")

    intent: Intent
    service_id: str | None = Field(description="An id from the service list, or null.")
    service_words: str | None
    urgency: Literal["high", "low"] | None
    priority: str | None
    title: str
    incident_ref: str | None
    people: list[str]
    schedule_words: str | None
    time_words: str | None
    message: str | None
    reasons: list[str]


@cache
def load_prompt(name: str) -> str:
    return (PROMPTS / f"{name}.md").read_text(encoding="utf-8")


def build_system_prompt(catalog: Catalog, text: str) -> str:
    services = catalog.services
    if len(services) > MAX_SERVICES_IN_PROMPT:
        # A huge account: show the services the words point at first.
        keep = {c.id for c in rank_services(text, catalog)[:MAX_SERVICES_IN_PROMPT]}
        services = [s for s in services if s.id in keep] or services[:MAX_SERVICES_IN_PROMPT]
    teams = {t.id: t.name for t in catalog.teams}

    def line(s) -> str:
        team = ", ".join(teams.get(t.id) or t.summary or t.id for t in s.teams)
        return f"- {s.id} | {s.name} | {(s.description or '').strip()} | {team}"

    priorities = (
        "\n".join(f"- {p.name}: {p.description or ''}".rstrip(": ") for p in catalog.priorities)
        or "(none: always null)"
    )
    intents = "\n".join(f"- `{i.value}`: {help}" for i, help in _INTENT_HELP.items())
    return (
        load_prompt("triage")
        .replace("{intents}", intents)
        .replace("{services}", "\n".join(line(s) for s in services))
        .replace("{priorities}", priorities)
    )


def build_model(settings: Settings) -> BaseChatModel:
    return chat_model(settings, max_tokens=MAX_OUTPUT_TOKENS, timeout_s=TIMEOUT_S)


async def triage_llm(
    text: str, catalog: Catalog, settings: Settings, model: BaseChatModel | None = None
) -> TriageResult:
    """One structured-output call; unverified result (the caller verifies)."""
    chat = model or build_model(settings)
    structured = chat.with_structured_output(LLMTriage, method="json_schema", strict=True)
    answer = await structured.ainvoke(
        [SystemMessage(build_system_prompt(catalog, text)), HumanMessage(text)]
    )
    if not isinstance(answer, LLMTriage):
        answer = LLMTriage.model_validate(answer)
    candidates = (
        rank_services(answer.service_words or text, catalog)[:5]
        if answer.service_id is None
        else []
    )
    return TriageResult(
        intent=answer.intent,
        service_words=answer.service_words,
        service_id=answer.service_id,
        candidates=candidates,
        urgency=answer.urgency,
        priority=answer.priority,
        title=make_title(answer.title or text),
        details=make_details(text),
        reasons=[f"model: {r}" for r in answer.reasons],
        incident_ref=answer.incident_ref,
        people=answer.people,
        schedule_words=answer.schedule_words,
        time_words=answer.time_words,
        message=answer.message,
        source="llm",
    )
