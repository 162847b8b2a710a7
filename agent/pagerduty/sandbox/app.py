"""The HTTP face of the sandbox: thin Starlette routes over SandboxState.

Each API request passes, in order: injected faults (latency, 5xx, 429
storms), authentication (`Token token=` or `Bearer`), the Accept version
check, the per-token rate limit; then the route decodes the query or body,
calls one state operation and encodes the answer in PagerDuty's wrapper keys.
SandboxError becomes PagerDuty's `{"error": {...}}` body. Routes under
/_sandbox/ (state dump, clock, faults) skip all of that: they are for tests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import AUTHENTICATION_FAILED, INTERNAL_ERROR, SandboxError, invalid
from .faults import Faults
from .paging import _bool, paginate
from .ratelimit import RateLimiter
from .state import SandboxState
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

    def page(self, key: str, items: list[Any]) -> dict[str, Any]:
        p = paginate(items, limit=self.q("limit"), offset=self.q("offset"), total=self.q("total"))
        return {key: p.pop("items"), **p}

    async def body(self) -> dict[str, Any]:
        ctype = self.request.headers.get("content-type", "")
        if not ctype.split(";")[0].strip().lower() == "application/json":
            raise invalid("Content-Type must be application/json")
        raw = await self.request.body()
        try:
            data = json.loads(raw or b"null")
        except ValueError:
            raise invalid("The request body is not valid JSON") from None
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
    "services": ("query", "team_ids"),
    "users": ("query", "team_ids"),
    "teams": ("query",),
    "priorities": (),
    "escalation_policies": ("query", "team_ids", "user_ids"),
    "schedules": ("query",),
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
        return 200, c.page(collection, c.state.list(collection, **kwargs))

    return handler


def get_one(collection: str, key: str) -> Handler:
    async def handler(c: Call) -> tuple[int, Any]:
        return 200, {key: c.state.get(collection, c.request.path_params["id"])}

    return handler


async def users_me(c: Call) -> tuple[int, Any]:
    if c.token_email is None:
        raise invalid(
            "Because this request was made using an account-level access token, we were unable "
            "to determine the user's identity. Please use a user-level token."
        )
    return 200, {"user": c.state.me(c.token_email)}


async def get_schedule(c: Call) -> tuple[int, Any]:
    return 200, {"schedule": c.state.schedule(c.request.path_params["id"], c.q("since"), c.q("until"))}


async def list_overrides(c: Call) -> tuple[int, Any]:
    return 200, {"overrides": c.state.overrides(c.request.path_params["id"], c.q("since"), c.q("until"))}


async def create_overrides(c: Call) -> tuple[int, Any]:
    """Body `{"overrides": [...]}` (the spec) or `{"override": {...}}` (the older form); the
    answer is always the spec's list of `{"status", "override"[, "errors"]}`, one per item."""
    data = await c.body()
    if "overrides" in data:
        items = data["overrides"]
    elif "override" in data:
        items = [data["override"]]
    else:
        raise invalid('The request body must be {"overrides": [...]}')
    if not isinstance(items, list) or not items:
        raise invalid("overrides must be a non-empty list")
    out = []
    for item in items:
        try:
            out.append({"status": 201, "override": c.state.create_override(c.request.path_params["id"], item)})
        except SandboxError as e:
            if e.status == 404:
                raise
            echo = item if isinstance(item, dict) else {}
            out.append({"status": e.status, "errors": e.errors or [e.message], "override": echo})
    return 201, out


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


async def incident_alerts(c: Call) -> tuple[int, Any]:
    alerts = c.state.alerts(c.request.path_params["id"], statuses=c.many("statuses"), alert_key=c.q("alert_key"))
    return 200, c.page("alerts", alerts)


# Method, path, handler: the whole API surface in one table.
API_ROUTES: list[tuple[str, str, Handler]] = [
    *[("GET", f"/{col}", list_of(col)) for col in SIMPLE_LISTS],
    ("GET", "/users/me", users_me),
    *[("GET", f"/{col}/{{id}}", get_one(col, key)) for col, key in SIMPLE_GETS.items()],
    ("GET", "/schedules/{id}", get_schedule),
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
]


# -- the request pipeline -----------------------------------------------------------------


def _error(e: SandboxError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=headers)


def _token(header: str) -> str | None:
    """`Token token=abc` (API keys) or `Bearer abc` (OAuth)."""
    scheme, _, rest = header.strip().partition(" ")
    rest = rest.strip()
    if scheme.lower() == "token" and rest.lower().startswith("token="):
        return rest[len("token="):].strip() or None
    if scheme.lower() == "bearer":
        return rest or None
    return None


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


def create_app(
    state: SandboxState,
    *,
    tokens: dict[str, str | None] | None = None,
    faults: Faults | None = None,
    rate_per_minute: int = 960,
) -> Starlette:
    """The sandbox as an ASGI app. `tokens` maps token -> user email (None = account-level)."""
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
                return _error(SandboxError(401, AUTHENTICATION_FAILED, "Authentication failed",
                                           ["Send 'Authorization: Token token=<API key>' with a valid key"]))
            if not _accept_ok(request.headers.get("accept")):
                return _error(invalid("Unsupported Accept header: use application/vnd.pagerduty+json;version=2"))
            budget = limiter.take(token)
            if not budget.allowed:
                return _error(SandboxError(429, 2020, "Rate Limit Exceeded"), budget.headers())
            try:
                status, body = await handler(Call(request, state, token, tokens[token]))
            except SandboxError as e:
                return _error(e, budget.headers())
            if status == 204:
                return Response(status_code=204, headers=budget.headers())
            return JSONResponse(body, status_code=status, headers=budget.headers())

        return Route(path, run, methods=[method], name=route_name)

    # Starlette matches the first route by path and answers 405 if the method differs,
    # so routes that share a path are merged into one endpoint dispatching on method.
    by_path: dict[str, dict[str, Callable]] = {}
    for method, path, handler in API_ROUTES:
        by_path.setdefault(path, {})[method] = endpoint(method, path, handler).endpoint

    def dispatcher(methods: dict[str, Callable]):
        async def dispatch(request: Request) -> Response:
            fn = methods.get(request.method)
            if fn is None:
                return _error(SandboxError(405, 2001, "Method Not Allowed",
                                           [f"{request.method} is not supported on this path"]))
            return await fn(request)

        return dispatch

    routes = [
        Route("/_sandbox/state", debug_state, methods=["GET"]),
        Route("/_sandbox/clock", debug_clock, methods=["GET", "POST"]),
        Route("/_sandbox/faults", debug_faults, methods=["POST"]),
        *[
            Route(path, dispatcher(methods), methods=["GET", "POST", "PUT", "DELETE"])
            for path, methods in by_path.items()
        ],
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(SandboxError(404, 2100, "Not Found", [f"No such API path: {request.url.path}"]))

    async def crashed(request: Request, exc: Exception) -> Response:
        return _error(SandboxError(500, INTERNAL_ERROR, "Internal Error", [f"{type(exc).__name__}: {exc}"]))

    app = Starlette(routes=routes, exception_handlers={404: not_found, 500: crashed})
    app.state.sandbox = state
    app.state.faults = faults
    return app


# -- /_sandbox/*: for tests and demos, never faulted or rate limited ---------------------------


async def debug_state(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    return JSONResponse({"now": iso(state.now()), **state.dump()})


async def debug_clock(request: Request) -> Response:
    """POST {"now": iso} or {"advance_s": n} moves the sandbox clock; GET reads it."""
    state: SandboxState = request.app.state.sandbox
    if request.method == "POST":
        try:
            data = json.loads(await request.body() or b"{}")
            if "now" in data:
                state.clock.set(parse_time(str(data["now"]), "now"))
            elif "advance_s" in data:
                state.clock.advance(float(data["advance_s"]))
            else:
                raise invalid('send {"now": "<iso>"} or {"advance_s": <seconds>}')
        except SandboxError as e:
            return _error(e)
        except (ValueError, TypeError) as e:
            return _error(invalid(str(e)))
    return JSONResponse({"now": iso(state.now())})


async def debug_faults(request: Request) -> Response:
    """POST {"storm_429": {"count", "reset_s"}} and/or {"burst_5xx": {"count", "status"}}."""
    faults: Faults = request.app.state.faults
    try:
        data = json.loads(await request.body() or b"{}")
        if "storm_429" in data:
            faults.storm_429(int(data["storm_429"]["count"]), int(data["storm_429"].get("reset_s", 1)))
        if "burst_5xx" in data:
            faults.burst_5xx(int(data["burst_5xx"]["count"]), int(data["burst_5xx"].get("status", 503)))
        if data.get("clear"):
            faults.clear()
    except (ValueError, TypeError, KeyError) as e:
        return _error(invalid(f"bad fault request: {e}"))
    return JSONResponse({"ok": True})
