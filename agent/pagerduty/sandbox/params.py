"""Query parameters of every operation the sandbox serves, as the published spec declares them.

One table, one check: every route refuses a bad value the same way (400 / 2001,
naming the parameter and what it accepts) instead of each route parsing its own.
The table is the spec's data, transcribed: `tests/sandbox/test_params.py`
derives it again from `rest-openapiv3.json` and fails if the two ever differ.

A rule is a type name (`integer`, `boolean`, `date-time`, `tzinfo`, `string`)
or the tuple of values the spec's enum allows. Array parameters are keyed
without their `[]`; PagerDuty accepts `name[]=a&name[]=b` and `name=a` alike.
Parameters the spec does not list are ignored, as PagerDuty ignores them.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from .errors import SandboxError, invalid
from .timefmt import parse_time

Rule = str | tuple[str, ...]

_PAGE: dict[str, Rule] = {"limit": "integer", "offset": "integer", "total": "boolean"}
_LOG_INCLUDES = ("incidents", "services", "channels", "teams")
_USER_INCLUDES = ("contact_methods", "notification_rules", "teams", "subdomains", "calendar_urls")
_POLICY_INCLUDES = ("services", "teams", "targets", "escalation_rule_assignment_strategies")
_INCIDENT_INCLUDES = ("acknowledgers", "agents", "assignees", "conference_bridge", "escalation_policies",
                      "first_trigger_log_entries", "priorities", "services", "teams", "users")

QUERY: dict[tuple[str, str], dict[str, Rule]] = {
    ("GET", "/services"): {
        "query": "string", **_PAGE, "team_ids": "string", "time_zone": "tzinfo",
        "sort_by": ("name", "name:asc", "name:desc"),
        "include": ("escalation_policies", "teams", "integrations", "auto_pause_notifications_parameters"),
        "name": "string",
    },
    ("GET", "/services/{id}"): {
        "include": ("escalation_policies", "teams", "auto_pause_notifications_parameters", "integrations"),
    },
    ("GET", "/users"): {
        "query": "string", "team_ids": "string", **_PAGE, "include": _USER_INCLUDES[:4],
    },
    ("GET", "/users/me"): {"include": _USER_INCLUDES},
    ("GET", "/users/{id}"): {"include": _USER_INCLUDES},
    ("GET", "/teams"): {**_PAGE, "query": "string"},
    ("GET", "/teams/{id}"): {"include": ("privileges",)},
    ("GET", "/teams/{id}/members"): {**_PAGE, "include": ("users",)},
    ("GET", "/priorities"): {**_PAGE},
    ("GET", "/escalation_policies"): {
        **_PAGE, "query": "string", "user_ids": "string", "team_ids": "string",
        "include": _POLICY_INCLUDES, "sort_by": ("name", "name:asc", "name:desc"),
    },
    ("GET", "/escalation_policies/{id}"): {"include": _POLICY_INCLUDES},
    ("GET", "/schedules"): {
        **_PAGE, "query": "string",
        "include": ("schedule_layers", "overrides_subschedule", "final_schedule"),
        "time_zone": "tzinfo", "include_next_oncall_for_user": "string",
        "since": "date-time", "until": "date-time", "team_ids": "string",
    },
    ("GET", "/schedules/{id}"): {
        "time_zone": "tzinfo", "since": "date-time", "until": "date-time", "overflow": "boolean",
        "include_next_oncall_for_user": "string",
    },
    ("GET", "/schedules/{id}/users"): {"since": "date-time", "until": "date-time"},
    ("GET", "/schedules/{id}/overrides"): {
        "since": "date-time", "until": "date-time", "editable": "boolean", "overflow": "boolean",
    },
    ("GET", "/oncalls"): {
        "time_zone": "tzinfo", **_PAGE, "include": ("escalation_policies", "users", "schedules"),
        "user_ids": "string", "escalation_policy_ids": "string", "schedule_ids": "string",
        "since": "date-time", "until": "date-time", "earliest": "boolean",
    },
    ("GET", "/incidents"): {
        **_PAGE, "date_range": ("all",), "incident_key": "string", "service_ids": "string",
        "team_ids": "string", "user_ids": "string", "urgencies": ("high", "low"), "time_zone": "tzinfo",
        "statuses": ("triggered", "acknowledged", "resolved"), "sort_by": "string",
        "include": _INCIDENT_INCLUDES, "since": "string", "until": "string",
    },
    ("GET", "/incidents/{id}"): {
        "include": _INCIDENT_INCLUDES[:4] + ("custom_fields",) + _INCIDENT_INCLUDES[4:],
    },
    ("GET", "/incidents/{id}/notes"): {},
    ("GET", "/incidents/{id}/log_entries"): {
        **_PAGE, "time_zone": "tzinfo", "since": "date-time", "until": "date-time",
        "is_overview": "boolean", "include": _LOG_INCLUDES,
    },
    ("GET", "/incidents/{id}/alerts"): {
        **_PAGE, "alert_key": "string", "statuses": ("triggered", "resolved"),
        "sort_by": ("created_at", "resolved_at", "created_at:asc", "created_at:desc",
                    "resolved_at:asc", "resolved_at:desc"),
        "include": ("services", "first_trigger_log_entries", "incidents"),
    },
    ("GET", "/log_entries"): {
        **_PAGE, "time_zone": "tzinfo", "since": "date-time", "until": "date-time",
        "is_overview": "boolean", "include": _LOG_INCLUDES, "team_ids": "string",
    },
    ("GET", "/log_entries/{id}"): {"time_zone": "tzinfo", "include": _LOG_INCLUDES},
}

BOOLEANS = ("true", "false")
# PagerDuty's own wording where it is known (its answers to a bad `statuses[]`/`urgencies[]`).
ENUM_MESSAGES = {
    "statuses": "Status must be a list of {choices}.",
    "urgencies": "Urgency must be a list of {choices}.",
}


def check_query(method: str, path: str, items: Iterable[tuple[str, str]]) -> None:
    """Refuse the first query value the operation's spec does not allow (400 / 2001)."""
    rules = QUERY.get((method, path), {})
    for raw_name, value in items:
        name = raw_name.removesuffix("[]")
        rule = rules.get(name)
        if rule is None or (value == "" and rule != "string"):
            continue  # unknown parameters and empty values are ignored, as PagerDuty does
        problem = _problem(raw_name, name, rule, value)
        if problem:
            raise invalid(problem)


def _problem(shown: str, name: str, rule: Rule, value: str) -> str | None:
    """What is wrong with `value` for the parameter `name` (spelled `shown` in the request)."""
    if isinstance(rule, tuple):
        # A comma-separated list is one value per item for sort_by (`name:asc,created_at`).
        values = value.split(",") if name == "sort_by" else [value]
        bad = [v for v in values if v not in rule]
        if not bad:
            return None
        if name in ENUM_MESSAGES:
            choices = ", ".join(rule[:-1]) + ("," if len(rule) > 2 else "") + f" or {rule[-1]}"
            return ENUM_MESSAGES[name].format(choices=choices)
        return f"{shown} must be one of {', '.join(rule)}; got {bad[0][:64]!r}"
    if rule == "integer":
        return None if value.lstrip("-").isdigit() and len(value) <= 18 else f"{shown} must be an integer"
    if rule == "boolean":
        return None if value.lower() in BOOLEANS else f"{shown} must be true or false"
    if rule == "tzinfo":
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError):
            return f"{shown} must be an IANA time zone name, got {value[:64]!r}"
        return None
    if rule == "date-time":
        try:
            parse_time(value, shown)
        except SandboxError as e:
            return e.errors[0] if e.errors else e.message
    return None
