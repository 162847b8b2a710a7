"""One protocol for every surface: LangChain's human-in-the-loop schema.

The CLI, Studio and Slack all see an `HITLRequest` and answer with
`{"decisions": [{"type": "approve" | "edit" | "reject", ...}]}`. We add one
optional key, `approver`, which a plain HITL client may leave out.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent.approvals.hitl import HITLDecision, HITLRequest, HITLResponse


class Approver(BaseModel):
    """Who answered, as the surface that authenticated them knows them."""

    name: str
    source: Literal["cli", "slack", "studio", "api"] = "api"
    email: str | None = None
    pagerduty_user_id: str | None = None
    slack_user_id: str | None = None


class ApprovalAnswer(HITLResponse):
    approver: NotRequired[dict[str, Any]]


# `ApprovalAnswer` as a model: the `response_schema` every pause gives LangGraph.
# `interrupt` makes a `TypeAdapter` of its response schema on every call, every resume
# included: of a TypedDict that builds a validator (2.8 ms of each resume), of a model
# it takes the one the model built once. The same JSON schema (no docstring: it would
# be the schema's description) and the same answers (tests/approvals/test_hitl_schema.py).
class AnswerSchema(BaseModel):
    model_config = ConfigDict(title="ApprovalAnswer", defer_build=True)  # built on first pause

    decisions: list[HITLDecision]
    approver: dict[str, Any] = Field(default_factory=dict)

    def as_answer(self) -> ApprovalAnswer:
        return self.model_dump(exclude_unset=True)  # type: ignore[return-value]


class Decision(BaseModel):
    """The one decision we act on (we ask about one action at a time)."""

    type: Literal["approve", "edit", "reject", "respond"]
    edited_args: dict[str, Any] | None = None
    message: str | None = None
    approver: Approver


@cache
def _answer() -> TypeAdapter[ApprovalAnswer]:
    """Built on first use: a TypeAdapter costs ~0.1 s of every CLI start otherwise."""
    return TypeAdapter(ApprovalAnswer)


def build_request(
    action: str,
    args: dict[str, Any],
    description: str,
    allowed: list[Literal["approve", "edit", "reject", "respond"]],
    args_schema: dict[str, Any] | None = None,
) -> HITLRequest:
    config: dict[str, Any] = {"action_name": action, "allowed_decisions": allowed}
    if args_schema is not None:
        config["args_schema"] = args_schema
    return {
        "action_requests": [{"name": action, "args": args, "description": description}],
        "review_configs": [config],  # type: ignore[list-item]
    }


def parse_answer(answer: Any, allowed: list[str]) -> Decision:
    """Validate a resume value; a malformed or disallowed answer is a ValueError."""
    try:
        data = _answer().validate_python(answer)
    except ValidationError as exc:
        raise ValueError(f"malformed answer: {exc.errors()[0]['msg']}") from None
    decisions = data["decisions"]
    if len(decisions) != 1:
        raise ValueError(f"expected exactly one decision, got {len(decisions)}")
    d: dict[str, Any] = dict(decisions[0])
    if d["type"] not in allowed:
        raise ValueError(f"decision {d['type']!r} is not allowed here (allowed: {allowed})")
    approver = Approver.model_validate(data.get("approver") or {"name": "studio", "source": "studio"})
    edited = d.get("edited_action", {}).get("args") if d["type"] == "edit" else None
    return Decision(type=d["type"], edited_args=edited, message=d.get("message"), approver=approver)
