"""Endpoint quirks as data: each collection's wrapper keys, object type, model,
web path, the references it holds and the fields `query=` matches.

Routes, snapshot loading and reference checks all read these tables instead
of branching on collection names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.pagerduty.models import (
    APIObject,
    EscalationPolicy,
    Incident,
    LogEntry,
    Note,
    Override,
    Priority,
    Schedule,
    Service,
    Team,
    User,
)

API_URL = "https://api.pagerduty.com"
WEB_URL = "https://sandbox.pagerduty.example"  # only for an account whose snapshot has no links


@dataclass(frozen=True)
class Kind:
    collection: str  # list wrapper key and URL segment: "services"
    singular: str  # object wrapper key and `type`: "service"
    model: type  # a model, or a pydantic-validated dataclass (`LogEntry`)
    web_path: str  # html_url segment
    # reference paths inside an object -> expected collection (None = any known kind)
    refs: dict[str, str | None] = field(default_factory=dict)
    query_fields: tuple[str, ...] = ()
    # objects whose `type` is not simply `singular` (log entries: "<verb>_log_entry")
    type_suffix: str | None = None

    def type_ok(self, type_: object) -> bool:
        if self.type_suffix:
            return isinstance(type_, str) and type_.endswith(self.type_suffix)
        return type_ == self.singular


KINDS: dict[str, Kind] = {
    k.collection: k
    for k in (
        Kind("users", "user", User, "users", {"teams[]": "teams"}, ("name", "email")),
        Kind("teams", "team", Team, "teams", {}, ("name",)),
        Kind("priorities", "priority", Priority, "priorities"),
        Kind(
            "escalation_policies",
            "escalation_policy",
            EscalationPolicy,
            "escalation_policies",
            {"escalation_rules[].targets[]": None, "services[]": "services", "teams[]": "teams"},
            ("name",),
        ),
        Kind(
            "schedules",
            "schedule",
            Schedule,
            "schedules",
            {
                "schedule_layers[].users[].user": "users",
                "users[]": "users",
                "teams[]": "teams",
                "escalation_policies[]": "escalation_policies",
            },
            ("name",),
        ),
        Kind(
            "services",
            "service",
            Service,
            "service-directory",
            {"escalation_policy": "escalation_policies", "teams[]": "teams"},
            ("name",),
        ),
        Kind(
            "incidents",
            "incident",
            Incident,
            "incidents",
            {
                "service": "services",
                "escalation_policy": "escalation_policies",
                "priority": "priorities",
                "assignments[].assignee": "users",
                "acknowledgements[].acknowledger": None,
                "teams[]": "teams",
            },
        ),
        Kind(
            "log_entries",
            "log_entry",
            LogEntry,
            "log_entries",
            {
                "incident": "incidents",
                "service": "services",
                "agent": None,
                "user": "users",
                "assignees[]": "users",
            },
            type_suffix="_log_entry",
        ),
        # Sub-collections: stored flat in a snapshot with a reference to their parent.
        Kind("notes", "note", Note, "notes", {"incident": "incidents", "user": "users"}),
        Kind(
            "overrides", "override", Override, "overrides", {"schedule": "schedules", "user": "users"}
        ),
        Kind("alerts", "alert", APIObject, "alerts", {"incident": "incidents", "service": "services"}),
    )
}

# Sub-collection objects carry no `type` of their own in every API answer.
UNTYPED = {"notes", "overrides"}

# `<kind>_reference` -> collection, for checking any reference by its type.
BY_REFERENCE_TYPE: dict[str, str] = {f"{k.singular}_reference": c for c, k in KINDS.items()}
BY_REFERENCE_TYPE["bot_user_reference"] = "users"

# Load order: a collection's references point only at collections loaded before it.
LOAD_ORDER = (
    "users",
    "teams",
    "priorities",
    "schedules",
    "escalation_policies",
    "services",
    "incidents",
    "log_entries",
    "notes",
    "overrides",
    "alerts",
)


def reference(collection: str, obj: dict) -> dict:
    """The reference PagerDuty embeds for `obj`: id, type, summary, self, html_url."""
    kind = KINDS[collection]
    ref = {
        "id": obj["id"],
        "type": f"{kind.singular}_reference",
        "summary": obj.get("summary") or obj.get("name") or obj.get("title") or obj["id"],
        "self": f"{API_URL}/{collection}/{obj['id']}",
    }
    # Every stored object has its html_url (shapes.complete); priorities' is null, as in the API.
    ref["html_url"] = obj.get("html_url")
    return ref
