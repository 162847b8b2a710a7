"""Turn a paused thread's HITL request into the `Ask` the message shows.

The request (the protocol every surface speaks) is the source; the graph's
proposal in the thread's values, when the caller has it, adds the structured
reasons and effects, and the catalog turns ids into names a human knows.
"""

from __future__ import annotations

from typing import Any

from agent.pagerduty.catalog import Catalog
from agent.slack.blocks import Ask
from agent.slack.refs import Ref


def action_of(request: dict[str, Any]) -> dict[str, Any]:
    return (request.get("action_requests") or [{}])[0]


def summary_of(request: dict[str, Any]) -> str:
    """The first line of the description: what will be done, in one sentence."""
    description = str(action_of(request).get("description") or "")
    return description.strip().splitlines()[0] if description.strip() else action_of(request).get("name", "")


def _reasons_from(description: str) -> list[str]:
    lines = description.splitlines()
    if "Why:" not in lines:
        return []
    out = []
    for line in lines[lines.index("Why:") + 1 :]:
        if not line.startswith("- "):
            break
        out.append(line[2:])
    return out


def _feedback_from(description: str) -> str | None:
    return next((ln for ln in description.splitlines() if ln.startswith("Edit refused")), None)


def build_ask(
    ref: Ref,
    request: dict[str, Any],
    catalog: Catalog | None,
    values: dict[str, Any] | None = None,
) -> Ask:
    action = action_of(request)
    name = str(action.get("name", ""))
    args: dict[str, Any] = dict(action.get("args") or {})
    description = str(action.get("description") or "")
    allowed = [str(d) for d in (request.get("review_configs") or [{}])[0].get("allowed_decisions", [])]
    values = values or {}
    feedback = values.get("feedback") or _feedback_from(description)
    if name == "choose_service":
        question = description.split("\n")[0]
        return Ask(ref=ref, action=name, summary=question, candidates=list(args.get("candidates") or []),
                   feedback=feedback, allowed=allowed)
    proposal = values.get("proposal") if isinstance(values.get("proposal"), dict) else None
    if proposal is not None and proposal.get("action") != name:
        proposal = None
    ask = Ask(
        ref=ref,
        action=name,
        summary=(proposal or {}).get("summary") or summary_of(request),
        reasons=list((proposal or {}).get("reasons") or _reasons_from(description)),
        effects=list((proposal or {}).get("effects") or []),
        call=args.get("api_call") or (proposal or {}).get("call"),
        feedback=feedback,
        allowed=allowed,
    )
    if name == "create_incident":
        service = catalog.service(str(args.get("service_id"))) if catalog else None
        ask.service = f"{service.name} ({service.id})" if service else str(args.get("service_id"))
        user = catalog.user(str(args["assignee_id"])) if catalog and args.get("assignee_id") else None
        ask.pages = user.name if user else ("; ".join(ask.effects) or "the escalation policy's first level")
        ask.urgency = args.get("urgency")
        ask.priority = args.get("priority")
    return ask
