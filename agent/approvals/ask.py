"""The only place a graph pauses for a human."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from langgraph.errors import GraphInterrupt
from langgraph.types import interrupt

from agent.actions import ACTIONS, Proposal
from agent.approvals.hitl import HITLRequest
from agent.approvals.protocol import AnswerSchema, Decision, build_request, parse_answer

if TYPE_CHECKING:
    from agent.approvals.store import ApprovalStore


def ask(request: HITLRequest) -> Decision:
    """Pause until a human answers; returns their (validated) decision.

    The node calling this re-runs from its first line on resume, so it must
    have no side effect before this call. A malformed answer never reaches
    here: `response_schema` makes LangGraph refuse it before it is saved.
    """
    answer: AnswerSchema = interrupt(request, response_schema=AnswerSchema)
    allowed = [str(d) for d in request["review_configs"][0]["allowed_decisions"]]
    return parse_answer(answer.as_answer(), allowed)


def describe_proposal(proposal: Proposal, feedback: str | None = None) -> str:
    """A proposed write in words: what it does, why, and the exact API call."""
    lines = [proposal.summary, ""]
    if proposal.effects:
        lines.append("Effect: " + "; ".join(proposal.effects))
    if proposal.reasons:
        lines += ["Why:", *[f"- {r}" for r in proposal.reasons]]
    call = proposal.call
    lines += ["", f"API call: {call.method} {call.path}", json.dumps(call.body, indent=2)]
    if feedback:
        lines += ["", feedback]
    return "\n".join(lines)


def review(proposal: Proposal, feedback: str | None = None) -> Decision:
    """Ask a human to approve, edit or reject one write, exactly as it will run."""
    action = ACTIONS[proposal.action]
    return ask(
        build_request(
            proposal.action,
            {**proposal.fields, "api_call": proposal.call.model_dump()},
            describe_proposal(proposal, feedback),
            allowed=["approve", "edit", "reject"],
            args_schema=action.args_schema,
        )
    )


@asynccontextmanager
async def recorded(
    store: ApprovalStore, *, thread_id: str, graph: str, prompt: str, error: str | None = None
) -> AsyncIterator[None]:
    """Record a pause in the approvals store from inside the graph, whoever drives it.

    The runner records pauses too, but a thread run by LangGraph's server
    (Studio, `langgraph dev`) never passes through it: without this its pause
    would be invisible to `incident-agent approvals` and Slack.
    """
    from agent.approvals import pause_kind

    try:
        yield
    except GraphInterrupt as exc:
        for pause in exc.args[0]:
            await store.record_pause(thread_id, graph=graph, interrupt_id=pause.id,
                                     kind=pause_kind(pause.value), prompt=prompt,
                                     request=pause.value, error=error)
        raise
