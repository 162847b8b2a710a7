"""The HTTP face of the sandbox: thin Starlette routes over SandboxState.

Every request body is capped first (agent.bodylimit: 413 before reading).
Each API request then passes, in order: injected faults (latency, 5xx, 429
storms), authentication (`Token token=` or `Bearer`), the Accept version
check, the per-token rate limit, the query check against the spec's
parameters (params.py); then the route decodes the body, calls one state
operation and encodes the answer in PagerDuty's wrapper keys, with every
`self` pointing at this server. SandboxError becomes PagerDuty's
`{"error": {...}}` body, a wrong method a 405 with `Allow`. Routes under
/_sandbox/ (state dump, clock, faults) skip faults and rate limits but need
a token the sandbox accepts, and can be switched off (`debug_endpoints`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.bodylimit import DEFAULT_MAX_BYTES, BodyLimit

from . import jsonbody
from .errors import AUTHENTICATION_FAILED, INTERNAL_ERROR, INVALID_INPUT, SandboxError, invalid
from .faults import Faults
from .paging import _bool, paginate
from .params import check_query
from .ratelimit import RateLimiter
from .shapes import localize
from .state import SandboxState, ShownEntries, encode_json
from .timefmt import iso, parse_time

DEFAULT_TOKENS: dict[str, str | None] = {"sandbox-token": None}
ACCEPTED_MEDIA = ("application/vnd.pagerduty+json;version=2", "application/json", "*/*", "application/*")


@dataclass
class Call:
    """One decoded API request: who makes it, for whom, with what."""

    request: Request
    state: SandboxState
    token: str
    token_email: str | None  # set for user-level tokens

    @property
    def acting_email(self) -> str | None:
        """A user-level token acts as its user; an account token needs `From`."""
        return self.token_email or self.request.headers.get("from")

    def q(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def many(self, name: str) -> list[str]:
        """`name[]=a&name[]=b` or `name=a&name=b`, as PagerDuty accepts both."""
        qp = self.request.query_params
        return [v for v in (*qp.getlist(f"{name}[]"), *qp.getlist(name)) if v != ""]

    def page(self, key: str, items: Sequence[Any]) -> dict[str, Any]:
        p = paginate(items, limit=self.q("limit"), offset=self.q("offset"), total=self.q("total"))
        return {key: p.pop("items"), **p}

    async def body(self) -> dict[str, Any]:
        ctype = self.request.headers.get("content-type", "")
        if not ctype.split(";")[0].strip().lower() == "application/json":
            raise invalid("Content-Type must be application/json")
        data = jsonbody.decode(await self.request.body())
        if not isinstance(data, dict):
            raise invalid("The request body must be a JSON object")
        return data

    def wrapped(self, data: dict[str, Any], key: str) -> Any:
        if key not in data:
            raise invalid(f"The request body must be wrapped as {{\"{key}\": ...}}")
        return data[key]


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]


# -- handlers ---------------------------------------------------------------------------
# Simple collections: list key == collection name, object key == KINDS singular.

SIMPLE_LISTS = {
    # collection: (filters read from the query)
    "services": ("query", "team_ids", "sort_by"),
    "users": ("query", "team_ids"),
    "teams": ("query",),
    "priorities": (),
    "escalation_policies": ("query", "team_ids", "user_ids", "sort_by"),
    "schedules": ("query", "team_ids"),
}
SIMPLE_GETS = {"services": "service", "users": "user", "teams": "team", "escalation_policies": "escalation_policy"}


def list_of(collection: str) -> Handler:
    filters = SIMPLE_LISTS[collection]

    async def handler(c: Call) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {}
        if "query" in filters:
            kwargs["query"] = c.q("query")
        for f in ("team_ids", "user_ids"):
            if f in filters:
                kwargs[f] = c.many(f)
        if "sort_by" in filters:
            kwargs["descending"] = (c.q("sort_by") or "").endswith(":desc")
        items = c.state.list(collection, **kwargs)
        if collection == "services":
            items = [_integrations_shown(c, s) for s in items]
        return 200, c.page(collection, items)

    return handler


def get_one(collection: str, key: str) -> Handler:
    async def handler(c: Call) -> tuple[int, Any]:
        obj = c.state.get(collection, c.request.path_params["id"])
        return 200, {key: _integrations_shown(c, obj) if collection == "services" else obj}

    return handler


def _integrations_shown(c: Call, service: dict[str, Any]) -> dict[str, Any]:
    """A service's integrations as references; whole (with `integration_key`, as
    PagerDuty shows an Events API integration) under `include[]=integrations`."""
    if "integrations" in c.many("include"):
        return service
    refs = []
    for i in service.get("integrations", []):
        kind = str(i.get("type", "inbound_integration")).removesuffix("_reference")
        refs.append({"id": i["id"], "type": f"{kind}_reference",
                     "summary": i.get("summary") or i.get("name") or i["id"]})
    return {**service, "integrations": refs}


async def users_me(c: Call) -> tuple[int, Any]:
    if c.token_email is None:
        raise invalid(
            "Because this request was made using an account-level access token, we were unable "
            "to determine the user's identity. Please use a user-level token."
        )
    return 200, {"user": c.state.me(c.token_email)}


async def get_schedule(c: Call) -> tuple[int, Any]:
    return 200, {"schedule": c.state.schedule(c.request.path_params["id"], c.q("since"), c.q("until"))}


async def schedule_users(c: Call) -> tuple[int, Any]:
    return 200, {"users": c.state.schedule_users(c.request.path_params["id"], c.q("since"), c.q("until"))}


async def team_members(c: Call) -> tuple[int, Any]:
    return 200, c.page("members", c.state.team_members(c.request.path_params["id"]))


async def list_overrides(c: Call) -> tuple[int, Any]:
    return 200, {"overrides": c.state.overrides(c.request.path_params["id"], c.q("since"), c.q("until"))}


async def create_overrides(c: Call) -> tuple[int, Any]:
    """Body `{"overrides": [...]}` (the spec) or `{"override": {...}}` (the older, deprecated form).

    The answer is the documented 201 with one `{"status", "override"[, "errors"]}` per item
    (state.create_overrides says which failures are per item and which refuse the request)."""
    data = await c.body()
    if "overrides" in data:
        items = data["overrides"]
    elif "override" in data:
        items = [data["override"]]
    else:
        raise invalid('The request body must be {"overrides": [...]}')
    return 201, c.state.create_overrides(c.request.path_params["id"], items)


async def delete_override(c: Call) -> tuple[int, Any]:
    c.state.delete_override(c.request.path_params["id"], c.request.path_params["override_id"])
    return 204, None


async def list_oncalls(c: Call) -> tuple[int, Any]:
    oncalls = c.state.oncalls(
        escalation_policy_ids=c.many("escalation_policy_ids"),
        schedule_ids=c.many("schedule_ids"),
        user_ids=c.many("user_ids"),
        since=c.q("since"),
        until=c.q("until"),
        earliest=_bool(c.q("earliest")),
    )
    return 200, c.page("oncalls", oncalls)


async def list_incidents(c: Call) -> tuple[int, Any]:
    sort_by = [s for v in c.many("sort_by") for s in v.split(",") if s]
    incidents = c.state.list_incidents(
        statuses=c.many("statuses"),
        service_ids=c.many("service_ids"),
        team_ids=c.many("team_ids"),
        user_ids=c.many("user_ids"),
        urgencies=c.many("urgencies"),
        incident_key=c.q("incident_key"),
        since=c.q("since"),
        until=c.q("until"),
        date_range=c.q("date_range"),
        sort_by=sort_by,
    )
    return 200, c.page("incidents", incidents)


async def create_incident(c: Call) -> tuple[int, Any]:
    data = await c.body()
    return 201, {"incident": c.state.create_incident(c.wrapped(data, "incident"), c.acting_email)}


async def get_incident(c: Call) -> tuple[int, Any]:
    return 200, {"incident": c.state.get_incident(c.request.path_params["id"])}


async def update_incident(c: Call) -> tuple[int, Any]:
    data = await c.body()
    incident = c.state.update_incident(c.request.path_params["id"], c.wrapped(data, "incident"), c.acting_email)
    return 200, {"incident": incident}


async def update_incidents(c: Call) -> tuple[int, Any]:
    data = await c.body()
    updated = c.state.update_incidents(c.wrapped(data, "incidents"), c.acting_email)
    return 200, {"incidents": updated, "limit": len(updated), "offset": 0, "more": False, "total": None}


async def list_notes(c: Call) -> tuple[int, Any]:
    return 200, {"notes": c.state.notes(c.request.path_params["id"])}


async def create_note(c: Call) -> tuple[int, Any]:
    data = await c.body()
    note = c.wrapped(data, "note")
    content = note.get("content") if isinstance(note, dict) else None
    return 200, {"note": c.state.add_note(c.request.path_params["id"], content, c.acting_email)}


async def create_responder_request(c: Call) -> tuple[int, Any]:
    data = await c.body()
    request = c.state.add_responder_request(c.request.path_params["id"], data, c.acting_email)
    return 200, {"responder_request": request}


async def incident_log_entries(c: Call) -> tuple[int, Any]:
    entries = c.state.log_entries(
        c.request.path_params["id"], since=c.q("since"), until=c.q("until"),
        is_overview=_bool(c.q("is_overview")),
    )
    return 200, c.page("log_entries", entries)


async def log_entries(c: Call) -> tuple[int, Any]:
    entries = c.state.log_entries(
        since=c.q("since"), until=c.q("until"), is_overview=_bool(c.q("is_overview")),
        team_ids=c.many("team_ids"),
    )
    return 200, c.page("log_entries", entries)


async def get_log_entry(c: Call) -> tuple[int, Any]:
    return 200, {"log_entry": c.state.log_entry(c.request.path_params["id"])}


async def incident_alerts(c: Call) -> tuple[int, Any]:
    alerts = c.state.alerts(c.request.path_params["id"], statuses=c.many("statuses"), alert_key=c.q("alert_key"))
    return 200, c.page("alerts", alerts)


# Method, path, handler: the whole API surface in one table.
API_ROUTES: list[tuple[str, str, Handler]] = [
    *[("GET", f"/{col}", list_of(col)) for col in SIMPLE_LISTS],
    ("GET", "/users/me", users_me),
    *[("GET", f"/{col}/{{id}}", get_one(col, key)) for col, key in SIMPLE_GETS.items()],
    ("GET", "/teams/{id}/members", team_members),
    ("GET", "/schedules/{id}", get_schedule),
    ("GET", "/schedules/{id}/users", schedule_users),
    ("GET", "/schedules/{id}/overrides", list_overrides),
    ("POST", "/schedules/{id}/overrides", create_overrides),
    ("DELETE", "/schedules/{id}/overrides/{override_id}", delete_override),
    ("GET", "/oncalls", list_oncalls),
    ("GET", "/incidents", list_incidents),
    ("POST", "/incidents", create_incident),
    ("PUT", "/incidents", update_incidents),
    ("GET", "/incidents/{id}", get_incident),
    ("PUT", "/incidents/{id}", update_incident),
    ("GET", "/incidents/{id}/notes", list_notes),
    ("POST", "/incidents/{id}/notes", create_note),
    ("POST", "/incidents/{id}/responder_requests", create_responder_request),
    ("GET", "/incidents/{id}/log_entries", incident_log_entries),
    ("GET", "/incidents/{id}/alerts", incident_alerts),
    ("GET", "/log_entries", log_entries),
    ("GET", "/log_entries/{id}", get_log_entry),
]


# -- the request pipeline -----------------------------------------------------------------


def _json(body: Any, status: int, headers: dict[str, str] | None = None, base: str | None = None) -> Response:
    raw = _encode(body)
    return Response(localize(raw, base) if base else raw, status_code=status, headers=headers,
                    media_type="application/json")


def _encode(body: Any) -> bytes:
    """JSON of an answer; a list of log entries (`ShownEntries`) is spliced in already rendered.

    Only a top-level value can be a view, beside numbers and booleans (a page's `limit`,
    `offset`, `more`, `total`), so a placeholder string cannot meet anything else."""
    if not isinstance(body, dict) or not any(isinstance(v, ShownEntries) for v in body.values()):
        return encode_json(body)
    views = {k: v for k, v in body.items() if isinstance(v, ShownEntries)}
    raw = encode_json({k: f"\x00{k}" if k in views else v for k, v in body.items()})
    for key, view in views.items():
        raw = raw.replace(encode_json(f"\x00{key}"), view.json())
    return raw


def _error(e: SandboxError, headers: dict[str, str] | None = None) -> Response:
    return _json(e.body(), e.status, headers)


def _not_allowed(method: str, allowed: list[str]) -> Response:
    return _error(SandboxError(405, 2001, "Method Not Allowed", [f"{method} is not supported on this path"]),
                  {"Allow": ", ".join(allowed)})


def _token(header: str) -> str | None:
    """`Token token=abc` (API keys) or `Bearer abc` (OAuth)."""
    scheme, _, rest = header.strip().partition(" ")
    rest = rest.strip()
    if scheme.lower() == "token" and rest.lower().startswith("token="):
        return rest[len("token="):].strip() or None
    if scheme.lower() == "bearer":
        return rest or None
    return None


def _unauthorized() -> Response:
    return _error(SandboxError(401, AUTHENTICATION_FAILED, "Authentication failed",
                               ["Send 'Authorization: Token token=<API key>' with a valid key"]))


def _accept_ok(header: str | None) -> bool:
    """PagerDuty serves version 2 only; any other explicit version is refused."""
    if not header:
        return True
    for part in header.split(","):
        media = part.strip().replace(" ", "").lower()
        if media.startswith("application/vnd.pagerduty+json"):
            if "version=" not in media or "version=2" in media:
                return True
        elif media.split(";")[0] in ACCEPTED_MEDIA:
            return True
    return False


class _Dispatch:
    """One path's endpoint, choosing the handler by method. An ASGI app rather than a function,
    so Starlette hands it every method (a function route would answer an unlisted one with its
    own plain-text 405); a method the path lacks gets PagerDuty's JSON 405 with `Allow`."""

    def __init__(self, methods: dict[str, Callable[[Request], Awaitable[Response]]]) -> None:
        self.methods = methods

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        handler = self.methods.get(request.method)
        response = await handler(request) if handler else _not_allowed(request.method, sorted(self.methods))
        await response(scope, receive, send)


def create_app(
    state: SandboxState,
    *,
    tokens: dict[str, str | None] | None = None,
    faults: Faults | None = None,
    rate_per_minute: int = 960,
    debug_endpoints: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BYTES,
) -> Starlette:
    """The sandbox as an ASGI app. `tokens` maps token -> user email (None = account-level).

    `debug_endpoints=False` leaves /_sandbox/* unmounted (404); otherwise they need a token."""
    tokens = dict(DEFAULT_TOKENS if tokens is None else tokens)
    faults = faults or Faults()
    limiter = RateLimiter(rate_per_minute)
    for token, email in tokens.items():
        if email is not None and state.user_by_email(email) is None:
            raise ValueError(f"user-level token {token[-4:]!r}: {email!r} is not a user in the account")

    def endpoint(method: str, path: str, handler: Handler):
        route_name = f"{method} {path}"

        async def run(request: Request) -> Response:
            token = _token(request.headers.get("authorization", ""))
            state.count_request(token, route_name)
            fault = await faults.apply()
            if fault.status == 429:
                budget_headers = {"ratelimit-limit": str(rate_per_minute), "ratelimit-remaining": "0",
                                  "ratelimit-reset": str(fault.reset_s)}
                return _error(SandboxError(429, 2020, "Rate Limit Exceeded"), budget_headers)
            if fault.status is not None:
                return _error(SandboxError(fault.status, INTERNAL_ERROR, "Internal Error (injected fault)"))
            if token is None or token not in tokens:
                return _unauthorized()
            if not _accept_ok(request.headers.get("accept")):
                return _error(invalid("Unsupported Accept header: use application/vnd.pagerduty+json;version=2"))
            budget = limiter.take(token)
            if not budget.allowed:
                return _error(SandboxError(429, 2020, "Rate Limit Exceeded"), budget.headers())
            try:
                check_query(method, path, request.query_params.multi_items())
                status, body = await handler(Call(request, state, token, tokens[token]))
            except SandboxError as e:
                return _error(e, budget.headers())
            if status == 204:
                return Response(status_code=204, headers=budget.headers())
            return _json(body, status, budget.headers(), base=str(request.base_url))

        return run

    # Starlette matches the first route by path and answers 405 if the method differs,
    # so routes that share a path are merged into one endpoint dispatching on method.
    by_path: dict[str, dict[str, Callable]] = {}
    for method, path, handler in API_ROUTES:
        by_path.setdefault(path, {})[method] = endpoint(method, path, handler)

    def debug(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            if _token(request.headers.get("authorization", "")) not in tokens:
                return _unauthorized()
            try:
                return await fn(request)
            except SandboxError as e:
                return _error(e)

        return guarded

    routes = [Route(path, _Dispatch(methods)) for path, methods in by_path.items()]
    if debug_endpoints:
        routes[:0] = [
            Route("/_sandbox/state", _Dispatch({"GET": debug(debug_state)})),
            Route("/_sandbox/clock", _Dispatch({"GET": debug(debug_clock), "POST": debug(debug_clock)})),
            Route("/_sandbox/faults", _Dispatch({"POST": debug(debug_faults)})),
        ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(SandboxError(404, 2100, "Not Found", [f"No such API path: {request.url.path}"]))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(SandboxError(exc.status_code, INVALID_INPUT, str(exc.detail)))

    async def crashed(request: Request, exc: Exception) -> Response:
        return _error(SandboxError(500, INTERNAL_ERROR, "Internal Error", [f"{type(exc).__name__}: {exc}"]))

    too_large = SandboxError(413, INVALID_INPUT, "Request Entity Too Large",
                             [f"The request body must be at most {max_body_bytes} bytes"])
    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found, HTTPException: http_error, 500: crashed},
        middleware=[Middleware(BodyLimit, max_bytes=max_body_bytes, error_body=too_large.body())],
    )
    app.state.sandbox = state
    app.state.faults = faults
    return app


# -- /_sandbox/*: for tests and demos, never faulted or rate limited ---------------------------

MAX_CLOCK_STEP_S = 100 * 365 * 86400  # a century; the clock must stay inside timefmt's range
MAX_FAULT_COUNT = 100_000


async def debug_state(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    return _json({"now": iso(state.now()), **state.dump()}, 200)


async def _debug_body(request: Request) -> dict[str, Any]:
    data = jsonbody.decode(await request.body() or b"{}")
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object")
    return data


async def debug_clock(request: Request) -> Response:
    """POST {"now": iso} or {"advance_s": n} moves the sandbox clock; GET reads it."""
    state: SandboxState = request.app.state.sandbox
    if request.method == "POST":
        data = await _debug_body(request)
        if "now" in data:
            if not isinstance(data["now"], str):
                raise invalid("now must be an ISO 8601 date-time string")
            state.clock.set(parse_time(data["now"], "now"))
        elif "advance_s" in data:
            step = data["advance_s"]
            if isinstance(step, bool) or not isinstance(step, int | float) or not 0 <= step <= MAX_CLOCK_STEP_S:
                raise invalid(f"advance_s must be a number of seconds between 0 and {MAX_CLOCK_STEP_S}")
            state.clock.advance(float(step))
        else:
            raise invalid('send {"now": "<iso>"} or {"advance_s": <seconds>}')
    return _json({"now": iso(state.now())}, 200)


def _count(spec: dict[str, Any], field: str, low: int, high: int, default: int | None = None) -> int:
    value = spec.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{field} must be an integer between {low} and {high}, got {value!r}")
    return value


async def debug_faults(request: Request) -> Response:
    """POST {"storm_429": {"count", "reset_s"}}, {"burst_5xx": {"count", "status"}} and/or
    {"clear": true}. Every setting is checked before any is applied: a bad request changes nothing."""
    faults: Faults = request.app.state.faults
    data = await _debug_body(request)
    unknown = sorted(set(data) - {"storm_429", "burst_5xx", "clear"})
    if unknown or not data:
        raise invalid(f"unknown fault setting(s) {unknown}; use storm_429, burst_5xx, clear")
    plan: list[Callable[[], None]] = []
    if data.get("clear"):
        plan.append(faults.clear)
    for name, extra, low, high, default in (("storm_429", "reset_s", 1, 3600, 1),
                                            ("burst_5xx", "status", 500, 599, 503)):
        if name not in data:
            continue
        spec = data[name]
        if not isinstance(spec, dict) or set(spec) - {"count", extra}:
            raise invalid(f'{name} must be {{"count": n, "{extra}": m}}')
        count = _count(spec, "count", 0, MAX_FAULT_COUNT)
        value = _count(spec, extra, low, high, default)
        method = faults.storm_429 if name == "storm_429" else faults.burst_5xx
        plan.append(functools.partial(method, count, value))
    for step in plan:
        step()
    return _json({"ok": True}, 200)
