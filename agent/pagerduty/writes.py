"""Approved writes as data, and how to tell whether one already landed.

A human approves an `ApiCall` (method, path, body). Between that "yes" and
PagerDuty's answer anything can happen: the process is killed, the answer is
lost to a 502, a retry runs in another process. So before any repeat, and
whenever the answer is unknown, the write is first looked for in PagerDuty:

- a create by its `incident_key` (any status, any age);
- a note, or a responder request, by the reference the agent puts in its text;
- an override by schedule, user and window;
- an incident update by reading the incident's current state.

The table `LANDING` maps each write endpoint to its check, as data: a new kind
of write is one function and one row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from agent.pagerduty.endpoints import template_of

if TYPE_CHECKING:
    from agent.pagerduty.client import PagerDutyClient

__all__ = ["LANDING", "ApiCall", "find_landed", "with_ref"]


class ApiCall(BaseModel):
    """One write exactly as the approver saw it."""

    method: Literal["POST", "PUT", "DELETE"]
    path: str
    body: dict[str, Any] = Field(default_factory=dict)


def with_ref(call: ApiCall, ref: str) -> ApiCall:
    """Mark a note or responder request with a short reference, so a repeat can find it.

    PagerDuty has no idempotency key for these; the reference in the text is
    the only thing a later look-up can match on.
    """
    body = dict(call.body)
    mark = f"[incident-agent ref {ref}]"
    if "note" in body and mark not in body["note"].get("content", ""):
        body["note"] = {**body["note"], "content": f"{body['note']['content']}\n\n{mark}"}
    elif "responder_request_targets" in body and mark not in body.get("message", ""):
        body["message"] = f"{body['message']} {mark}"
    return call.model_copy(update={"body": body})


def _segment(path: str, index: int) -> str:
    return path.strip("/").split("/")[index]


async def _created_incident(pd: PagerDutyClient, call: ApiCall) -> Any:
    incident = call.body.get("incident", {})
    key = incident.get("incident_key")
    if not key:
        return None  # without a key a create cannot be told from another: never repeated blind
    params: dict[str, Any] = {"incident_key": key, "date_range": "all"}
    service = (incident.get("service") or {}).get("id")
    if service:
        params["service_ids[]"] = [service]
    found = await pd.list_all("/incidents", params)
    match = next((i for i in found if i.get("incident_key") == key), None)
    return {"incident": match} if match else None


async def _note(pd: PagerDutyClient, call: ApiCall) -> Any:
    content = call.body.get("note", {}).get("content", "")
    body = await pd.request("GET", f"/incidents/{_segment(call.path, 1)}/notes")
    match = next((n for n in body.get("notes", []) if n.get("content") == content), None)
    return {"note": match} if match else None


def _same_instant(a: Any, b: Any) -> bool:
    """PagerDuty keeps whole seconds: 03:49:56.33 is sent, 03:49:56 comes back."""
    try:
        delta = datetime.fromisoformat(str(a)) - datetime.fromisoformat(str(b))
    except (ValueError, TypeError):
        return False
    return abs(delta.total_seconds()) < 1


async def _override(pd: PagerDutyClient, call: ApiCall) -> Any:
    wanted = call.body.get("overrides") or [call.body.get("override", {})]
    schedule = _segment(call.path, 1)
    found: list[dict[str, Any]] = []
    for item in wanted:
        body = await pd.request(
            "GET",
            f"/schedules/{schedule}/overrides",
            params={"since": item["start"], "until": item["end"]},
        )
        match = next(
            (
                o
                for o in body.get("overrides", [])
                if o.get("user", {}).get("id") == item["user"]["id"]
                and _same_instant(o.get("start"), item["start"])
                and _same_instant(o.get("end"), item["end"])
            ),
            None,
        )
        if match is None:
            return None
        found.append({"status": 201, "override": match})
    return found


_STATUS_ORDER = {"triggered": 0, "acknowledged": 1, "resolved": 2}


def _incident_has(current: dict[str, Any], change: dict[str, Any]) -> bool:
    """True when the incident already shows every change the PUT asks for."""
    for key, value in change.items():
        if key in ("type", "resolution"):
            continue
        have = current.get(key)
        if key == "status":
            if _STATUS_ORDER.get(have or "", -1) < _STATUS_ORDER.get(value, 99):
                return False
        elif key == "assignments":
            assigned = {a.get("assignee", {}).get("id") for a in have or []}
            if not {a["assignee"]["id"] for a in value} <= assigned:
                return False
        elif isinstance(value, dict) and "id" in value:
            if (have or {}).get("id") != value["id"]:
                return False
        elif have != value:
            return False
    return True


async def _incident_update(pd: PagerDutyClient, call: ApiCall) -> Any:
    body = await pd.request("GET", f"/incidents/{_segment(call.path, 1)}")
    current = body.get("incident", {})
    return body if _incident_has(current, call.body.get("incident", {})) else None


async def _responders(pd: PagerDutyClient, call: ApiCall) -> Any:
    body = await pd.request("GET", f"/incidents/{_segment(call.path, 1)}")
    message = call.body.get("message")
    responders = [r for r in body.get("incident", {}).get("incident_responders", [])
                  if r.get("message") == message]
    if not responders:
        return None
    users = {r.get("user", {}).get("id") for r in responders}
    wanted = {
        t["responder_request_target"]["id"]
        for t in call.body.get("responder_request_targets", [])
        if t["responder_request_target"].get("type", "").startswith("user")
    }
    return {"responder_request": {"incident_responders": responders}} if wanted <= users else None


Check = Callable[["PagerDutyClient", ApiCall], Awaitable[Any]]

LANDING: dict[tuple[str, str], Check] = {
    ("POST", "/incidents"): _created_incident,
    ("POST", "/incidents/{id}/notes"): _note,
    ("POST", "/schedules/{id}/overrides"): _override,
    ("PUT", "/incidents/{id}"): _incident_update,
    ("POST", "/incidents/{id}/responder_requests"): _responders,
}


async def find_landed(pd: PagerDutyClient, call: ApiCall) -> Any:
    """The answer PagerDuty would have given, if this write already landed; else None."""
    check = LANDING.get((call.method, template_of(call.path)))
    return None if check is None else await check(pd, call)
