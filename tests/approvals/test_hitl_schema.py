"""Our HITL TypedDicts are LangChain's schema: same keys, same required-ness, same literals."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest
from langchain.agents.middleware import human_in_the_loop as lc
from pydantic import TypeAdapter, ValidationError

from agent.approvals import hitl, protocol

PAIRS = ["Action", "ActionRequest", "ReviewConfig", "HITLRequest", "ApproveDecision",
         "EditDecision", "RejectDecision", "RespondDecision", "HITLResponse"]


@pytest.mark.parametrize("name", PAIRS)
def test_same_keys_and_required_keys(name: str) -> None:
    ours, theirs = getattr(hitl, name), getattr(lc, name)
    assert ours.__required_keys__ == theirs.__required_keys__
    assert ours.__optional_keys__ == theirs.__optional_keys__


@pytest.mark.parametrize("name", ["ApproveDecision", "EditDecision", "RejectDecision", "RespondDecision"])
def test_decision_type_literals_match(name: str) -> None:
    ours = typing.get_type_hints(getattr(hitl, name))["type"]
    theirs = typing.get_type_hints(getattr(lc, name))["type"]
    assert typing.get_args(ours) == typing.get_args(theirs)


def test_decision_kinds_match() -> None:
    assert typing.get_args(hitl.DecisionType) == typing.get_args(lc.DecisionType)


ANSWERS = [
    {"decisions": [{"type": "approve"}]},
    {"decisions": [{"type": "reject", "message": "maintenance window"}]},
    {"decisions": [{"type": "edit", "edited_action": {"name": "page", "args": {"urgency": "low"}}}]},
    {"decisions": [{"type": "respond", "message": "PSVC01"}]},
]
BAD = [
    {"decisions": [{"type": "maybe"}]},
    {"decisions": [{"type": "edit"}]},
    {"decisions": [{"type": "respond"}]},
    {},
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_answers_langchain_accepts_we_accept(answer: dict) -> None:
    TypeAdapter(lc.HITLResponse).validate_python(answer)
    TypeAdapter(hitl.HITLResponse).validate_python(answer)
    TypeAdapter(protocol.ApprovalAnswer).validate_python({**answer, "approver": {"name": "a"}})
    given = {**answer, "approver": {"name": "a"}}
    assert protocol.AnswerSchema.model_validate(given).as_answer() == given
    assert protocol.AnswerSchema.model_validate(answer).as_answer() == answer  # no approver added


@pytest.mark.parametrize("answer", BAD)
def test_answers_langchain_refuses_we_refuse(answer: dict) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(lc.HITLResponse).validate_python(answer)
    with pytest.raises(ValidationError):
        TypeAdapter(hitl.HITLResponse).validate_python(answer)
    with pytest.raises(ValidationError):
        protocol.AnswerSchema.model_validate(answer)


def test_the_pause_schema_is_the_answer_schema() -> None:
    """Studio shows (and LangGraph validates with) the model; clients see the same schema."""
    assert (TypeAdapter(protocol.AnswerSchema).json_schema()
            == TypeAdapter(protocol.ApprovalAnswer).json_schema())


def test_our_request_is_a_langchain_request() -> None:
    request = protocol.build_request("page", {"urgency": "high"}, "Open an incident",
                                     allowed=["approve", "edit", "reject"],
                                     args_schema={"type": "object"})
    assert TypeAdapter(lc.HITLRequest).validate_python(request) == request


def test_cli_import_does_not_load_langchain_agents() -> None:
    """`incident-agent --help` and `triage` must not pay for LangChain's agent stack."""
    code = ("import sys, agent.surfaces.cli; "
            "print(sorted(m for m in sys.modules if m.startswith('langchain.agents')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
