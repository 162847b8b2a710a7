"""Human-in-the-loop: the request shown to a human, their answer, and the durable record."""

from agent.approvals.protocol import (
    ApprovalAnswer,
    Approver,
    Decision,
    build_request,
    parse_answer,
)
from agent.approvals.store import ApprovalStore, Claim, PendingApproval

RETRY_ACTION = "retry_write"
"""The pause of an approved write that did not complete: approve retries it, reject closes it."""

__all__ = [
    "RETRY_ACTION",
    "ApprovalAnswer",
    "ApprovalStore",
    "Approver",
    "Claim",
    "Decision",
    "PendingApproval",
    "build_request",
    "parse_answer",
]
