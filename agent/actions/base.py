"""The action registry and the proposal shape shared by every surface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.writes import ApiCall


class ActionError(ValueError):
    """A proposal or an edit that the live account does not allow."""


class Proposal(BaseModel):
    """One write, ready to run: shown to the approver, executed as is."""

    action: str
    fields: dict[str, Any]
    call: ApiCall
    summary: str
    reasons: list[str] = Field(default_factory=list)
    effects: list[str] = Field(default_factory=list)


class Fields(BaseModel):
    """Editable fields of an action; unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True)
class Action:
    name: str
    fields: type[Fields]
    build: Callable[[Any, Catalog], ApiCall]
    summarize: Callable[[Any, Catalog], str]
    editable: tuple[str, ...]

    @cached_property
    def args_schema(self) -> dict[str, Any]:
        """The fields' JSON schema, shown with every pause: made once, not on every ask and
        every resume (1-3 ms each). Read only, like the requests that carry it."""
        return self.fields.model_json_schema()


ACTIONS: dict[str, Action] = {}


def register(action: Action) -> Action:
    ACTIONS[action.name] = action
    return action


def _validated(action: Action, fields: dict[str, Any]) -> Fields:
    try:
        return action.fields.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "fields"
        raise ActionError(f"{action.name}: {where}: {err['msg']}") from None


def build_proposal(
    name: str,
    fields: dict[str, Any],
    catalog: Catalog,
    *,
    reasons: list[str] | None = None,
    effects: list[str] | None = None,
) -> Proposal:
    action = ACTIONS[name]
    model = _validated(action, fields)
    call = action.build(model, catalog)
    return Proposal(
        action=name,
        fields=model.model_dump(mode="json"),
        call=call,
        summary=action.summarize(model, catalog),
        reasons=reasons or [],
        effects=effects or [],
    )


def rebuild_proposal(proposal: Proposal, edits: dict[str, Any], catalog: Catalog) -> Proposal:
    """Apply a human's edit: only editable fields change, then the same checks run."""
    action = ACTIONS[proposal.action]
    locked = sorted(k for k, v in edits.items() if k not in action.editable and proposal.fields.get(k) != v)
    if locked:
        raise ActionError(f"{action.name}: field(s) {', '.join(locked)} cannot be edited")
    merged = {**proposal.fields, **edits}
    return build_proposal(
        proposal.action,
        merged,
        catalog,
        reasons=[*proposal.reasons, "edited by the approver: " + ", ".join(sorted(edits))],
        effects=proposal.effects,
    )


def ref(kind: str, id: str) -> dict[str, str]:
    """A PagerDuty reference object; the API refuses flat names."""
    return {"id": id, "type": f"{kind}_reference"}
