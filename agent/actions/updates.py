"""Incident updates: acknowledge, resolve, reassign, add responders, change
urgency or priority. One PUT /incidents/{id} each, except responders (POST
/incidents/{id}/responder_requests); bodies as in PagerDuty's OpenAPI spec."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from agent.actions.base import Action, ActionError, ApiCall, Fields, ref, register
from agent.pagerduty.catalog import Catalog


class IncidentFields(Fields):
    incident_id: str = Field(min_length=1)
    incident_number: int | None = None
    """Shown to the approver; not sent."""


def _label(f: IncidentFields) -> str:
    return f"incident #{f.incident_number}" if f.incident_number else f"incident {f.incident_id}"


def _put(f: IncidentFields, **changes: Any) -> ApiCall:
    return ApiCall(
        method="PUT",
        path=f"/incidents/{f.incident_id}",
        body={"incident": {"type": "incident_reference", **changes}},
    )


def _user(catalog: Catalog, user_id: str):
    user = catalog.user(user_id)
    if user is None:
        raise ActionError(f"user {user_id!r} does not exist in this account")
    return user


def _policy(catalog: Catalog, policy_id: str):
    policy = catalog.escalation_policy(policy_id)
    if policy is None:
        raise ActionError(f"escalation policy {policy_id!r} does not exist in this account")
    return policy


class Acknowledge(IncidentFields):
    pass


class Resolve(IncidentFields):
    resolution: str | None = Field(None, max_length=10_000)
    """Added by PagerDuty to the resolve log entry as a note."""


class Reassign(IncidentFields):
    assignee_id: str | None = None
    escalation_policy_id: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Reassign:
        if (self.assignee_id is None) == (self.escalation_policy_id is None):
            raise ValueError("give exactly one of assignee_id or escalation_policy_id")
        return self


class AddResponder(IncidentFields):
    requester_id: str = Field(min_length=1)
    message: str = Field(min_length=1, max_length=1_000)
    user_ids: list[str] = Field(default_factory=list)
    escalation_policy_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_target(self) -> AddResponder:
        if not self.user_ids and not self.escalation_policy_ids:
            raise ValueError("name at least one user or escalation policy to request")
        return self


class ChangeUrgency(IncidentFields):
    urgency: Literal["high", "low"]


class ChangePriority(IncidentFields):
    priority: str = Field(min_length=1)
    """A priority name ("P2") or id of this account."""


def _build_ack(f: Acknowledge, catalog: Catalog) -> ApiCall:
    return _put(f, status="acknowledged")


def _build_resolve(f: Resolve, catalog: Catalog) -> ApiCall:
    return _put(f, status="resolved", **({"resolution": f.resolution} if f.resolution else {}))


def _build_reassign(f: Reassign, catalog: Catalog) -> ApiCall:
    if f.assignee_id:
        _user(catalog, f.assignee_id)
        return _put(f, assignments=[{"assignee": ref("user", f.assignee_id)}])
    assert f.escalation_policy_id is not None
    _policy(catalog, f.escalation_policy_id)
    return _put(f, escalation_policy=ref("escalation_policy", f.escalation_policy_id))


def _build_responder(f: AddResponder, catalog: Catalog) -> ApiCall:
    _user(catalog, f.requester_id)
    targets = [ref("user", _user(catalog, u).id) for u in f.user_ids] + [
        ref("escalation_policy", _policy(catalog, p).id) for p in f.escalation_policy_ids
    ]
    return ApiCall(
        method="POST",
        path=f"/incidents/{f.incident_id}/responder_requests",
        body={
            "requester_id": f.requester_id,
            "message": f.message,
            "responder_request_targets": [{"responder_request_target": t} for t in targets],
        },
    )


def _build_urgency(f: ChangeUrgency, catalog: Catalog) -> ApiCall:
    return _put(f, urgency=f.urgency)


def _priority(catalog: Catalog, words: str):
    found = catalog.priority_by_name(words) or catalog.priority(words)
    if found is None:
        names = ", ".join(p.name for p in catalog.priorities) or "none"
        raise ActionError(f"priority {words!r} does not exist (known: {names})")
    return found


def _build_priority(f: ChangePriority, catalog: Catalog) -> ApiCall:
    return _put(f, priority=ref("priority", _priority(catalog, f.priority).id))


def _summarize_reassign(f: Reassign, catalog: Catalog) -> str:
    if f.assignee_id:
        return f"Reassign {_label(f)} to {_user(catalog, f.assignee_id).name}"
    assert f.escalation_policy_id is not None
    return f"Reassign {_label(f)} to the escalation policy {_policy(catalog, f.escalation_policy_id).name}"


def _summarize_responder(f: AddResponder, catalog: Catalog) -> str:
    names = [_user(catalog, u).name for u in f.user_ids] + [
        f"the escalation policy {_policy(catalog, p).name}" for p in f.escalation_policy_ids
    ]
    return f"Ask {' and '.join(names)} to respond to {_label(f)}: {f.message}"


_SPECS: list[tuple[str, type[IncidentFields], Any, Any, tuple[str, ...]]] = [
    ("acknowledge", Acknowledge, _build_ack, lambda f, c: f"Acknowledge {_label(f)}", ()),
    (
        "resolve",
        Resolve,
        _build_resolve,
        lambda f, c: f"Resolve {_label(f)}" + (f": {f.resolution}" if f.resolution else ""),
        ("resolution",),
    ),
    ("reassign", Reassign, _build_reassign, _summarize_reassign, ("assignee_id", "escalation_policy_id")),
    (
        "add_responder",
        AddResponder,
        _build_responder,
        _summarize_responder,
        ("message", "user_ids", "escalation_policy_ids"),
    ),
    (
        "change_urgency",
        ChangeUrgency,
        _build_urgency,
        lambda f, c: f"Set the urgency of {_label(f)} to {f.urgency}",
        ("urgency",),
    ),
    (
        "change_priority",
        ChangePriority,
        _build_priority,
        lambda f, c: f"Set the priority of {_label(f)} to {_priority(c, f.priority).name}",
        ("priority",),
    ),
]

for _name, _fields, _build, _summarize, _editable in _SPECS:
    register(Action(name=_name, fields=_fields, build=_build, summarize=_summarize, editable=_editable))
