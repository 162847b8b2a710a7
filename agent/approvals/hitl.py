"""LangChain's human-in-the-loop schema, as plain TypedDicts of our own.

The shapes (and key names) are those of
`langchain.agents.middleware.human_in_the_loop` (`HITLRequest`,
`HITLResponse` and the decisions), so Studio and any HITL client read our
interrupts unchanged. We define them here rather than import them because
importing that module pulls in LangChain's whole agent stack (chat models,
LangSmith tracing): over a second on every `incident-agent` start.
`tests/approvals/test_hitl_schema.py` checks the two stay the same.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

# pydantic validates these (LangGraph's `response_schema`); on Python 3.11 it
# needs typing_extensions' TypedDict, not typing's.
from typing_extensions import TypedDict

DecisionType = Literal["approve", "edit", "reject", "respond"]


class Action(TypedDict):
    name: str
    args: dict[str, Any]


class ActionRequest(TypedDict):
    name: str
    args: dict[str, Any]
    description: NotRequired[str]


class ReviewConfig(TypedDict):
    action_name: str
    allowed_decisions: list[DecisionType]
    args_schema: NotRequired[dict[str, Any]]


class HITLRequest(TypedDict):
    """What a paused graph shows a human: the actions and what they may decide."""

    action_requests: list[ActionRequest]
    review_configs: list[ReviewConfig]


class ApproveDecision(TypedDict):
    type: Literal["approve"]


class EditDecision(TypedDict):
    type: Literal["edit"]
    edited_action: Action


class RejectDecision(TypedDict):
    type: Literal["reject"]
    message: NotRequired[str]


class RespondDecision(TypedDict):
    type: Literal["respond"]
    message: str


HITLDecision = ApproveDecision | EditDecision | RejectDecision | RespondDecision


class HITLResponse(TypedDict):
    """A human's answer: one decision per action request."""

    decisions: list[HITLDecision]
