"""What an action's field is to a person: its label, what it refers to, how its value reads.

Read from the action's JSON schema (the HITL request's `args_schema`, i.e.
`Fields.model_json_schema()`), so a new action or field needs nothing here.
A schema says "string" for an id; which catalog it names (a service, a user,
…) is told by an `x-ref` key in the field's schema when the action gives one,
and otherwise read from the field's name by the small table below, the one
place Slack knows PagerDuty's id naming.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from agent.pagerduty.catalog import Catalog

Ref = Literal["service", "user", "schedule", "escalation_policy", "priority"]
Shape = Literal["text", "multiline", "choice", "ref", "refs", "number"]

# Field name -> the catalog it names, when the schema does not say (`x-ref`).
_REF_BY_NAME: dict[str, Ref] = {
    "service_id": "service",
    "user_id": "user",
    "assignee_id": "user",
    "requester_id": "user",
    "replaces_user_id": "user",
    "schedule_id": "schedule",
    "escalation_policy_id": "escalation_policy",
    "priority": "priority",
    "user_ids": "user",
    "escalation_policy_ids": "escalation_policy",
}
_LABELS = {
    "assignee_id": "Assignee (who is paged)",
    "user_id": "Who is on call",
    "user_ids": "Users asked to respond",
    "escalation_policy_ids": "Escalation policies asked",
}
HINTS = {
    "start": "ISO 8601 with a UTC offset, e.g. 2026-11-20T13:00:00+01:00",
    "end": "ISO 8601 with a UTC offset, e.g. 2026-11-20T21:00:00+01:00",
}
LONG_TEXT = 300
"""A string that may be longer than this gets a multi-line input."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    shape: Shape
    optional: bool
    ref: Ref | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 3000


def _variants(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The non-null part of a property and whether null is allowed."""
    options = prop.get("anyOf") or prop.get("oneOf")
    if not options:
        return prop, False
    real = [o for o in options if o.get("type") != "null"]
    return ({**prop, **real[0]} if real else prop), len(real) < len(options)


def label_of(name: str) -> str:
    if name in _LABELS:
        return _LABELS[name]
    words = name.removesuffix("_ids").removesuffix("_id").replace("_", " ")
    return words[:1].upper() + words[1:]


def field_of(name: str, schema: dict[str, Any]) -> Field:
    prop, nullable = _variants((schema.get("properties") or {}).get(name) or {})
    optional = nullable or name not in (schema.get("required") or []) and "default" in prop
    if prop.get("type") == "string" and prop.get("default") == "":
        optional = True
    ref: Ref | None = prop.get("x-ref") or _REF_BY_NAME.get(name)
    label = label_of(name)
    if prop.get("enum"):
        return Field(name, label, "choice", optional, choices=tuple(str(v) for v in prop["enum"]))
    if prop.get("type") == "array":
        return Field(name, label, "refs" if ref else "text", True, ref=ref)
    if ref:
        return Field(name, label, "ref", optional, ref=ref)
    if prop.get("type") in ("integer", "number"):
        return Field(name, label, "number", optional)
    cap = min(int(prop.get("maxLength") or 3000), 3000)
    shape: Shape = "multiline" if cap > LONG_TEXT else "text"
    return Field(name, label, shape, optional, max_length=cap)


def editable_fields(schema: dict[str, Any] | None, editable: tuple[str, ...]) -> list[Field]:
    """The fields a person may edit, in the action's order."""
    return [field_of(name, schema or {}) for name in editable]


def catalog_items(ref: Ref, catalog: Catalog) -> list[tuple[str, str]]:
    """(label, id) of everything of that kind in the account, sorted by label."""
    if ref == "service":
        items = [(f"{s.name} ({s.id})", s.id) for s in catalog.services]
    elif ref == "user":
        items = [(f"{u.name} ({u.email})", u.id) for u in catalog.users]
    elif ref == "schedule":
        items = [(f"{s.name} ({s.id})", s.id) for s in catalog.schedules]
    elif ref == "escalation_policy":
        items = [(f"{p.name} ({p.id})", p.id) for p in catalog.escalation_policies]
    else:
        return [(p.name, p.name) for p in catalog.priorities]  # in the account's order, P1 first
    return sorted(items, key=lambda item: item[0].lower())


def name_of(ref: Ref | None, value: Any, catalog: Catalog | None) -> str:
    """An id as a person knows it: "Public API (PAPI001)"; unknown ids stay as they are."""
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(name_of(ref, v, catalog) for v in value)
    text = str(value)
    if ref is None or catalog is None:
        return text
    found: Any = {
        "service": catalog.service,
        "user": catalog.user,
        "schedule": catalog.schedule,
        "escalation_policy": catalog.escalation_policy,
        "priority": lambda v: catalog.priority(v) or catalog.priority_by_name(v),
    }[ref](text)
    if found is None:
        return text
    return found.name if ref == "priority" else f"{found.name} ({found.id})"


def shown_value(
    name: str, value: Any, schema: dict[str, Any] | None, catalog: Catalog | None
) -> str:
    return name_of(field_of(name, schema or {}).ref, value, catalog)
