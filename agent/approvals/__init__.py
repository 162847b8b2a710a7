"""Human-in-the-loop: the request shown to a human, their answer, and the durable record."""

from agent.approvals.protocol import (
    ApprovalAnswer,
    Approver,
    Decision,
    build_request,
    parse_answer,
)
from agent.approvals.questions import ASKS_FOR_INPUT
from agent.approvals.store import ApprovalStore, Claim, PendingApproval, UnknownApproval


class RefusedAnswer(ValueError):
    """An answer that does not fit the pending request; nothing was changed."""


class NothingToRetry(UnknownApproval):
    """The thread has no write that failed or stopped midway."""


RETRY_ACTION = "retry_write"
"""The pause of an approved write that did not complete: approve retries it, reject closes it."""



def pause_kind(request: dict) -> str:
    """What a paused thread waits for: needs_input, failed or awaiting_approval."""
    name = request["action_requests"][0]["name"]
    return ("needs_input" if name in ASKS_FOR_INPUT
            else "failed" if name == RETRY_ACTION else "awaiting_approval")

__all__ = [
    "ASKS_FOR_INPUT",
    "RETRY_ACTION",
    "NothingToRetry",
    "RefusedAnswer",
    "pause_kind",
    "ApprovalAnswer",
    "ApprovalStore",
    "Approver",
    "Claim",
    "Decision",
    "PendingApproval",
    "build_request",
    "parse_answer",
]
