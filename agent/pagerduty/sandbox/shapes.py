"""Full object shapes: what the real API always sends, filled where a snapshot left it out.

A snapshot may hold objects trimmed to what its author cared about (a user
without `teams`, a log entry without `self`); clients written against the
real API (PagerDuty's MCP server models, the official client's `rget(obj)`)
require those fields. `complete` fills every missing field with what the API
would say, never overwriting a field the snapshot gives.

Links: every `html_url` the sandbox makes uses one web base, the account's
own (the most common scheme and host among the snapshot's `html_url`s), so
links never mix a real subdomain with a made-up one. `self` is stored as
PagerDuty's API URL and rewritten to the sandbox's own address when served
(`localize`), so a client pointed at the sandbox can follow it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .kinds import API_URL, KINDS, WEB_URL


def web_base(snapshot: dict[str, Any]) -> str:
    """The account's web address (`https://acme.pagerduty.com`), from the links it already has."""
    hosts: Counter[str] = Counter()
    stack: list[Any] = [snapshot]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            url = node.get("html_url")
            if isinstance(url, str):
                parts = urlsplit(url)
                if parts.scheme in ("http", "https") and parts.netloc:
                    hosts[f"{parts.scheme}://{parts.netloc}"] += 1
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return hosts.most_common(1)[0][0] if hosts else WEB_URL


def api_self(collection: str, oid: str) -> str:
    return f"{API_URL}/{collection}/{oid}"


def web_url(web: str, collection: str, oid: str) -> str:
    return f"{web}/{KINDS[collection].web_path}/{oid}"


def _common(collection: str, obj: dict[str, Any], web: str) -> None:
    name = obj.get("name") or obj.get("title")
    if collection == "incidents" and name is not None and obj.get("incident_number") is not None:
        name = f"[#{obj['incident_number']}] {name}"  # how PagerDuty summarises an incident
    obj.setdefault("summary", name if name is not None else obj["id"])
    obj.setdefault("self", api_self(collection, obj["id"]))
    # Priorities have no page of their own in the web app: the API says null.
    obj.setdefault("html_url", None if collection == "priorities" else web_url(web, collection, obj["id"]))


def _ref(collection: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": obj["id"], "type": f"{KINDS[collection].singular}_reference",
        "summary": obj.get("summary") or obj.get("name") or obj["id"],
        "self": obj.get("self") or api_self(collection, obj["id"]), "html_url": obj.get("html_url"),
    }


def _layer_users(schedule: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for layer in schedule.get("schedule_layers", []):
        for u in layer.get("users", []):
            uid = u["user"]["id"]
            if uid not in out:
                out.append(uid)
    return out


def derived_team_ids(objects: dict[str, dict[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Team membership a snapshot implies: a user on a schedule (or a direct target of a policy)
    that belongs to a team is a member of that team."""
    teams: dict[str, list[str]] = {}

    def add(uid: str, team_ids: Iterable[str]) -> None:
        mine = teams.setdefault(uid, [])
        mine.extend(t for t in team_ids if t not in mine and t in objects["teams"])

    for schedule in objects["schedules"].values():
        tids = [t["id"] for t in schedule.get("teams", [])]
        for uid in _layer_users(schedule):
            add(uid, tids)
    for policy in objects["escalation_policies"].values():
        tids = [t["id"] for t in policy.get("teams", [])]
        for rule in policy.get("escalation_rules", []):
            for target in rule.get("targets", []):
                if str(target.get("type", "")).startswith("user"):
                    add(target["id"], tids)
    return teams


def complete(objects: dict[str, dict[str, dict[str, Any]]], web: str) -> set[str]:
    """Fill the API's fields on every top-level object; return the ids of users whose
    `teams` were derived (not given), so they can be derived again after a change."""
    for collection, objs in objects.items():
        for obj in objs.values():
            _common(collection, obj, web)
    derived: set[str] = set()
    memberships = derived_team_ids(objects)
    for uid, user in objects["users"].items():
        if "teams" not in user:
            derived.add(uid)
        user.setdefault("role", "user")
        user.setdefault("time_zone", "UTC")
        user.setdefault("color", "purple")
        user.setdefault("avatar_url", "https://secure.gravatar.com/avatar/0?d=mm")
        user.setdefault("invitation_sent", False)
        user.setdefault("contact_methods", [])
        user.setdefault("notification_rules", [])
    refresh_user_teams(objects, derived, memberships)
    for schedule in objects["schedules"].values():
        schedule.setdefault("schedule_layers", [])
        schedule.setdefault("teams", [])
        schedule.setdefault("users", [_ref("users", objects["users"][u]) for u in _layer_users(schedule)
                                      if u in objects["users"]])
        schedule.setdefault("escalation_policies", [
            _ref("escalation_policies", p) for p in objects["escalation_policies"].values()
            if any(t.get("id") == schedule["id"] for r in p.get("escalation_rules", []) for t in r.get("targets", []))
        ])
    for policy in objects["escalation_policies"].values():
        policy.setdefault("num_loops", 0)
        policy.setdefault("on_call_handoff_notifications", "if_has_services")
        policy.setdefault("teams", [])
        policy.setdefault("services", [
            _ref("services", s) for s in objects["services"].values()
            if s.get("escalation_policy", {}).get("id") == policy["id"]
        ])
    for service in objects["services"].values():
        service.setdefault("status", "active")
        service.setdefault("teams", [])
        service.setdefault("integrations", [])
        service.setdefault("incident_urgency_rule", {"type": "constant", "urgency": "high"})
        service.setdefault("alert_creation", "create_alerts_and_incidents")
    for incident in objects["incidents"].values():
        complete_incident(incident, objects)
    return derived


def refresh_user_teams(objects: dict[str, dict[str, dict[str, Any]]], derived: set[str],
                       memberships: dict[str, list[str]] | None = None) -> None:
    """(Re)derive `teams` for the users whose snapshot did not give it."""
    memberships = derived_team_ids(objects) if memberships is None else memberships
    for uid in derived:
        user = objects["users"].get(uid)
        if user is not None:
            user["teams"] = [_ref("teams", objects["teams"][t]) for t in memberships.get(uid, [])]


def complete_incident(incident: dict[str, Any], objects: dict[str, dict[str, dict[str, Any]]]) -> None:
    incident.setdefault("description", incident.get("title") or incident["id"])
    incident.setdefault("assignments", [])
    incident.setdefault("acknowledgements", [])
    incident.setdefault("pending_actions", [])
    incident.setdefault("alert_counts", {"all": 0, "triggered": 0, "resolved": 0})
    incident.setdefault("urgency", "high")
    incident.setdefault("priority", None)
    incident.setdefault("resolved_at", None)
    incident.setdefault("assigned_via", "escalation_policy")
    if "created_at" in incident:
        incident.setdefault("updated_at", incident["created_at"])
        incident.setdefault("last_status_change_at", incident["created_at"])
    service = objects["services"].get(incident.get("service", {}).get("id", ""))
    if service is not None:
        incident.setdefault("teams", [dict(t) for t in service.get("teams", [])])
        policy = objects["escalation_policies"].get(service.get("escalation_policy", {}).get("id", ""))
        if policy is not None:
            incident.setdefault("escalation_policy", _ref("escalation_policies", policy))
    incident.setdefault("teams", [])


def complete_log_entry(entry: dict[str, Any], incidents: dict[str, dict[str, Any]], web: str) -> None:
    incident_id = (entry.get("incident") or {}).get("id")
    entry.setdefault("summary", entry.get("type", "log_entry").removesuffix("_log_entry").replace("_", " "))
    suffix = f"?incident_id={incident_id}" if incident_id else ""
    entry.setdefault("self", f"{API_URL}/log_entries/{entry['id']}{suffix}")
    entry.setdefault("html_url", f"{web}/incidents/{incident_id}/log_entries/{entry['id']}" if incident_id else None)
    entry.setdefault("channel", {"type": "api"})
    entry.setdefault("contexts", [])
    incident = incidents.get(incident_id or "")
    entry.setdefault("teams", [dict(t) for t in (incident or {}).get("teams", [])])


def localize(raw: bytes, base: str) -> bytes:
    """Point every `self` at the sandbox: `"self":"https://api.pagerduty.com/x"` -> `base/x`.

    Done on the encoded answer, not the objects, so stored state is never touched; a
    quote inside a JSON string is escaped, so the pattern only matches a real `self` key."""
    return raw.replace(b'"self":"' + API_URL.encode(), b'"self":"' + base.rstrip("/").encode())
