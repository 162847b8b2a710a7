"""Turn a paused thread's HITL request into the `Ask` the message shows.

The request (the protocol every surface speaks) is the source: its action
name, args and `args_schema`; the thread's values, when the caller has them,
add the prompt, the question's own words and the proposal's reasons and
effects; the catalog turns ids into names a person knows.
"""

from __future__ import annotations

from typing import Any

from agent.actions import ACTIONS
from agent.pagerduty.catalog import Catalog
from agent.surfaces.slack.blocks import Ask
from agent.surfaces.slack.fields import label_of, shown_value
from agent.surfaces.slack.questions import chosen_arg, is_question, kind_of
from agent.surfaces.slack.refs import Ref

RETRY_WRITE = "retry_write"
HIDDEN_ARGS = ("api_call", "candidates", "incident_key")
"""Args that are never a field of the form: the call (derived), the candidates, the idempotency key."""


def action_of(request: dict[str, Any]) -> dict[str, Any]:
    return (request.get("action_requests") or [{}])[0]


def schema_of(request: dict[str, Any]) -> dict[str, Any]:
    return (request.get("review_configs") or [{}])[0].get("args_schema") or {}


def editable_of(name: str) -> tuple[str, ...]:
    action = ACTIONS.get(name)
    return action.editable if action else ()


def summary_of(request: dict[str, Any]) -> str:
    """The first line of the description: what will be done, in one sentence."""
    description = str(action_of(request).get("description") or "").strip()
    return description.splitlines()[0] if description else str(action_of(request).get("name", ""))


def fields_of(request: dict[str, Any]) -> dict[str, Any]:
    """The write's fields as the request shows them (no call, no candidates)."""
    return {k: v for k, v in (action_of(request).get("args") or {}).items() if k not in HIDDEN_ARGS}


def facts(
    name: str, fields: dict[str, Any], schema: dict[str, Any], catalog: Catalog | None
) -> list[tuple[str, str]]:
    """(label, value) of each field worth showing, ids as names; editable ones even when empty."""
    editable = editable_of(name)
    out = []
    for key, value in fields.items():
        if key in HIDDEN_ARGS or (value in (None, "", []) and key not in editable):
            continue
        out.append((label_of(key), shown_value(key, value, schema, catalog)))
    return out


def _question_text(request: dict[str, Any], values: dict[str, Any]) -> str:
    question = values.get("question")
    if isinstance(question, dict) and question.get("text"):
        return str(question["text"])
    # A thread read from the approval store alone has no values: its description's first sentence.
    first = summary_of(request)
    return first.split(" Answer with", 1)[0]


def _landed(landed: dict[str, Any]) -> list[tuple[str, str]]:
    if not landed:
        return []
    out = []
    if landed.get("incident_number"):
        out.append(("Incident", f"#{landed['incident_number']}"))
    for key in ("title", "status", "urgency", "start", "end", "html_url", "note"):
        if landed.get(key):
            out.append((label_of(key), str(landed[key])))
    return out or [(label_of(k), str(v)) for k, v in landed.items() if v not in (None, "", [], {})]


def build_ask(
    ref: Ref,
    request: dict[str, Any],
    catalog: Catalog | None,
    values: dict[str, Any] | None = None,
) -> Ask:
    action = action_of(request)
    name = str(action.get("name", ""))
    args: dict[str, Any] = dict(action.get("args") or {})
    allowed = [
        str(d) for d in (request.get("review_configs") or [{}])[0].get("allowed_decisions", [])
    ]
    values = values or {}
    prompt = str(values.get("prompt") or "")
    feedback = values.get("feedback")
    if is_question(request):
        return Ask(
            ref=ref,
            action=name,
            summary=_question_text(request, values),
            prompt=prompt,
            question=_question_text(request, values),
            arg=chosen_arg(args),
            candidates=list(args.get("candidates") or []),
            feedback=feedback,
            allowed=allowed,
        )
    proposal = values.get("proposal") if isinstance(values.get("proposal"), dict) else None
    if name == RETRY_WRITE:
        summary = (proposal or {}).get(
            "summary"
        ) or f"{args.get('action') or 'the write'} did not complete"
        return Ask(
            ref=ref,
            action=name,
            summary=str(summary),
            prompt=prompt,
            error=str(args.get("error") or "the write failed"),
            landed=_landed(args.get("landed") or {}),
            allowed=allowed,
        )
    if proposal is not None and proposal.get("action") != name:
        proposal = None
    return Ask(
        ref=ref,
        action=name,
        summary=(proposal or {}).get("summary") or summary_of(request),
        prompt=prompt,
        facts=facts(name, fields_of(request), schema_of(request), catalog),
        reasons=list((proposal or {}).get("reasons") or []),
        effects=list((proposal or {}).get("effects") or []),
        call=args.get("api_call") or (proposal or {}).get("call"),
        feedback=feedback,
        allowed=allowed,
        editable=bool(editable_of(name)),
    )


__all__ = [
    "RETRY_WRITE",
    "action_of",
    "build_ask",
    "facts",
    "fields_of",
    "kind_of",
    "schema_of",
    "summary_of",
]
