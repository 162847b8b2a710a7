"""Human-in-the-loop: the request shown to a human, their answer, and the durable record."""

from agent.approvals.protocol import (
    ApprovalAnswer,
    Approver,
    Decision,
    build_request,
    parse_answer,
)
from agent.approvals.store import ApprovalStore, Claim, PendingApproval

__all__ = [
    "ApprovalAnswer",
    "ApprovalStore",
    "Approver",
    "Claim",
    "Decision",
    "PendingApproval",
    "build_request",
    "parse_answer",
]
