"""The one PagerDuty REST client: nothing else in the product builds a URL or a header.

Three layers, as in PagerDuty's own client:

1. transport (`request`): headers, the rate limiter, the retry loop, typed errors;
2. REST (`iter_all`, `list_all`): complete lists, see `pagination.py`;
3. endpoints (`list_incidents`, `oncalls`, ...): answers parsed into the
   models of `models.py`; and `write`, the one way an approved write runs.

Retries: 429 waits exactly `ratelimit-reset` seconds (backoff only if the
header is missing); 5xx and network errors back off exponentially with full
jitter, capped. A POST is never repeated blind: after a 5xx or a lost answer
`write` first looks for it in PagerDuty (`writes.py`), since it may have landed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import SecretStr

from agent.pagerduty._http import httpx
from agent.pagerduty.counter import RequestCounter
from agent.pagerduty.endpoints import template_of
from agent.pagerduty.errors import (
    InvalidInput,
    PagerDutyError,
    RateLimited,
    ServerError,
    TransportError,
    error_from_response,
)
from agent.pagerduty.models import (
    EscalationPolicy,
    Incident,
    LogEntry,
    Note,
    OnCall,
    Priority,
    Reference,
    Schedule,
    Service,
    Team,
    User,
)
from agent.pagerduty.pagination import Paginator, TimeLike, format_time
from agent.pagerduty.ratelimit import RequestLimiter, WindowLimiter
from agent.pagerduty.shared_limit import limiter_for
from agent.pagerduty.transport import asyncio_transport, session_resuming
from agent.pagerduty.writes import ApiCall, find_landed

if TYPE_CHECKING:
    from agent.config import Settings

__all__ = ["PagerDutyClient"]

log = logging.getLogger(__name__)

ACCEPT = "application/vnd.pagerduty+json;version=2"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Methods whose repetition cannot do the thing twice: retried after 5xx or a lost answer.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures where the request provably never reached the server: retried for every method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
OPEN_STATUSES = ("triggered", "acknowledged")
# Requests in flight per client (pages, catalog loads, bursts), and so connections. The
# paginator spreads a listing over as few rounds as this allows and no more connections
# than those rounds need: 2,400 log entries are the first page, then 23 at once. Measured
# on the TLS sandbox: at 100 ms one round of 23 takes 349 ms against 461 ms for two of 12;
# at 20 ms the 11 more handshakes cost 7 % (227 ms against 212 ms). Spreading the 23 over
# two or three rounds by the first page's round trip was tried (issue 16): under a load
# of 4-6 on 2 cores it won two A/Bs at 20 ms (192-211 ms against 244, 592-659 against
# 898) and lost two (403 against 366, 450 against 359), the same at 100 ms: no gain
# beyond the machine's noise, so the simpler one round stays.
MAX_CONCURRENCY = 24

Sleep = Callable[[float], Awaitable[None]]


class PagerDutyClient:
    """Async PagerDuty REST v2 client. Use as `async with PagerDutyClient(...) as pd:`."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr | str,
        *,
        token_type: Literal["token", "bearer"] = "token",
        default_from: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 10.0,
        max_retries: int = 5,
        rate_per_minute: float = 960,
        sleep: Sleep = asyncio.sleep,
        page_concurrency: int | None = None,
        limiter: RequestLimiter | None = None,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        if token_type not in ("token", "bearer"):
            raise ValueError("token_type must be 'token' or 'bearer'")
        self.base_url = base_url.rstrip("/")
        self.token_type = token_type
        self.default_from = default_from
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self._rng = random.Random()
        # The budget PagerDuty enforces (a window); a shared limiter can be handed in.
        self.limiter: RequestLimiter = limiter or WindowLimiter(rate_per_minute)
        self.counter = RequestCounter()
        self.rate_remaining: str | None = None
        """The last `ratelimit-remaining` PagerDuty sent (for `doctor`)."""
        # A modest pool: the window admits hundreds at once, but httpcore's pool scans
        # every connection per request, so hundreds of sockets cost more than they bring.
        concurrency = page_concurrency or MAX_CONCURRENCY
        # Requests wait here, not in httpcore's pool: the pool scans its whole queue for
        # every request it hands out, and 960 queued there (a burst the window admits at
        # once) kept the first answer 6 s away.
        self._sending = asyncio.Semaphore(concurrency)
        self.paginator = Paginator(
            self._get, fetch_raw=self._get_raw, concurrency=concurrency, now=now
        )
        if isinstance(verify, str):  # a CA bundle path, e.g. the TLS sandbox's certificate
            # A context made here resumes TLS sessions (see transport.py); one passed in is
            # the caller's, and is used as it is.
            verify = session_resuming(ssl.create_default_context(cafile=verify))
        secret = self._token.get_secret_value()
        auth = f"Token token={secret}" if token_type == "token" else f"Bearer {secret}"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        if transport is None and not _proxied():
            transport = asyncio_transport(verify=verify, limits=limits)  # see transport.py
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": ACCEPT, "Content-Type": "application/json", "Authorization": auth},
            transport=transport,
            verify=verify,
            # Waiting for one of our own pooled connections is queueing, not a network fault.
            timeout=httpx.Timeout(timeout, pool=None),
            limits=limits,
        )

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str | None = None, **kwargs: Any) -> Self:
        """A client for `settings`; `base_url` overrides `PAGERDUTY_API_URL`.

        With neither, there is no PagerDuty to talk to: the embedded sandbox is
        `agent.pagerduty.embedded.connect(settings)`.
        """
        url = base_url or settings.pagerduty_api_url
        if not url:
            raise ValueError(
                "PAGERDUTY_API_URL is not set; use agent.pagerduty.embedded.connect() "
                "for the embedded sandbox"
            )
        options: dict[str, Any] = {
            "token_type": settings.pagerduty_token_type,
            "default_from": settings.pagerduty_from,
            "timeout": settings.pagerduty_timeout_s,
            "max_retries": settings.pagerduty_max_retries,
            "rate_per_minute": settings.pagerduty_rate_per_minute,
            "limiter": limiter_for(settings),  # None: this process's own window
        }
        options.update(kwargs)
        return cls(url, settings.pagerduty_api_token, **options)

    def __repr__(self) -> str:
        from agent.config import mask  # settings (pydantic-settings) only when shown

        return (
            f"PagerDutyClient(base_url={self.base_url!r}, token={mask(self._token)!r}, "
            f"token_type={self.token_type!r}, default_from={self.default_from!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        return self._rng.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2**attempt))

    @staticmethod
    def _reset_after(response: httpx.Response) -> float | None:
        """Seconds the server asked us to wait: `ratelimit-reset`, else `Retry-After`."""
        for name in ("ratelimit-reset", "retry-after"):
            value = response.headers.get(name)
            if value is None:
                continue
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
        return None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        from_: str | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One API call with retries; the decoded JSON body (`{}` for an empty answer).

        `idempotent` marks a POST safe to repeat after a 5xx or a lost answer.
        Raises a `PagerDutyError` subclass once retries are spent.
        """
        response = await self._send(
            method, path, params=params, json=json, from_=from_, idempotent=idempotent
        )
        if response.status_code == 204 or not response.content:
            return {}
        return response.json()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        from_: str | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """`request` without decoding: the successful response (a 2xx), after retries."""
        method = method.upper()
        template = template_of(path)
        headers: dict[str, str] = {}
        sender = from_ or self.default_from
        if method in WRITE_METHODS and sender:
            headers["From"] = sender
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = f"{self.base_url}{path}"
        attempt = 0
        while True:
            self.counter.record(method, template)
            if attempt:
                self.counter.retries += 1
            started = time.perf_counter()
            try:
                response = await self._attempt(method, path, params, json, headers)
            except httpx.TransportError as exc:
                retry = repeatable or isinstance(exc, NOT_SENT)
                if not retry or attempt >= self.max_retries:
                    raise TransportError(
                        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                        method=method,
                        url=url,
                        request=_request_of(exc),
                    ) from exc
                delay = self._backoff(attempt)
                log.info(
                    "%s %s: %s, retry %d/%d in %.2f s",
                    method,
                    path,
                    type(exc).__name__,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                await self._sleep(delay)
                attempt += 1
                continue
            status = response.status_code
            self.rate_remaining = response.headers.get("ratelimit-remaining", self.rate_remaining)
            log.debug(
                "%s %s -> %d in %.1f ms",
                method,
                response.request.url,
                status,
                (time.perf_counter() - started) * 1000,
            )
            if status == 429:
                self.counter.rate_limited += 1
                if attempt >= self.max_retries:
                    raise _as(RateLimited, error_from_response(response))
                reset = self._reset_after(response)
                hold = getattr(self.limiter, "hold", None)  # a limiter shared by workers
                if reset is not None and hold is not None:
                    await hold(reset)  # every worker waits out PagerDuty's reset, not only this one
                delay = reset if reset is not None else self._backoff(attempt)
                log.info(
                    "%s %s: 429 rate limited, retry %d/%d in %.2f s (%s)",
                    method,
                    path,
                    attempt + 1,
                    self.max_retries,
                    delay,
                    "ratelimit-reset" if reset is not None else "backoff",
                )
                await self._sleep(delay)
                attempt += 1
                continue
            if status >= 500 and repeatable and attempt < self.max_retries:
                delay = self._backoff(attempt)
                log.info(
                    "%s %s: %d, retry %d/%d in %.2f s",
                    method,
                    path,
                    status,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                await self._sleep(delay)
                attempt += 1
                continue
            if status >= 400:
                error = error_from_response(response)
                raise _as(ServerError, error) if status >= 500 else error
            return response

    async def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        headers: dict[str, str],
    ) -> httpx.Response:
        """One attempt within the budget: a slot before it is sent, counted again once it is
        over (a window limiter counts each request from its answer, see ratelimit.py; a
        shared one also from PagerDuty's ratelimit headers, see shared_limit.py)."""
        await self.limiter.acquire()
        admitted = time.monotonic()
        settle = getattr(self.limiter, "settle", None)
        try:
            async with self._sending:
                url, query = self._url(path, params)
                response = await self._http.request(
                    method, url, params=query, json=json, headers=headers
                )
            # httpx's response and its stream refer to each other, so a response, and the
            # body it holds, outlives its use until the cyclic collector runs: a 24-page
            # fetch of log entries ended with 1.6 MiB of pages held so (peak RSS +1.1 MiB).
            # The stream is spent (`request` has read the body and closed it); unbound from
            # it, the response is freed with the last reference to it.
            response.stream = httpx.ByteStream(b"")
        except httpx.TransportError:
            if settle is not None:  # it may have reached PagerDuty: counted from now too
                await settle(time.monotonic() - admitted, None)
            raise
        finally:
            done = getattr(self.limiter, "done", None)
            if done is not None:
                done()
        if settle is not None:
            await settle(time.monotonic() - admitted, response.headers)
        return response

    def _url(self, path: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
        """The request's absolute URL, its query encoded by httpx (`QueryParams`) as before.

        Given the base URL, a path and params, httpx parses a URL three times (the path,
        the merge with the base, the merge with the params), each time checking it a
        character at a time: 290 us a request with a page's params, 180 us for the same
        URL built here (2026-11-28), the same URL either way. A path with a query of its
        own is left to httpx, which merges the two."""
        if "?" in path:
            return path, params
        query = str(httpx.QueryParams(params)) if params else ""
        return (f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"), None

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        return await self.request("GET", path, params=params)

    async def _get_raw(self, path: str, params: dict[str, Any]) -> bytes:
        return (await self._send("GET", path, params=params)).content

    # ------------------------------------------------------------------ REST layer

    def iter_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
    ) -> AsyncIterator[Any]:
        """Every item of a list endpoint: all pages, all windows, past the offset cap."""
        return self.paginator.iter_all(path, params, since=since, until=until)

    async def list_all(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        sort_by: str | None = None,
        model: type | None = None,
    ) -> list[Any]:
        """`iter_all` as a list, sorted by `sort_by` (e.g. "created_at") when given;
        with a `model` (a model, or a dataclass such as `LogEntry`), every item validated
        into it once, straight from the page's bytes."""
        return await self.paginator.list_all(
            path, params, since=since, until=until, sort_by=sort_by, model=model
        )

    # ------------------------------------------------------------------ catalog reads

    async def list_services(self, *, query: str | None = None) -> list[Service]:
        return await self.list_all("/services", _q(query=query), model=Service)

    async def list_users(self, *, query: str | None = None) -> list[User]:
        return await self.list_all("/users", _q(query=query), model=User)

    async def list_schedules(self, *, query: str | None = None) -> list[Schedule]:
        return await self.list_all("/schedules", _q(query=query), model=Schedule)

    async def get_schedule(
        self, schedule_id: str, *, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> Schedule:
        params = _q(
            since=format_time(since) if since is not None else None,
            until=format_time(until) if until is not None else None,
        )
        body = await self.request("GET", f"/schedules/{schedule_id}", params=params)
        return Schedule.model_validate(body["schedule"])

    async def list_escalation_policies(self, *, query: str | None = None) -> list[EscalationPolicy]:
        return await self.list_all("/escalation_policies", _q(query=query), model=EscalationPolicy)

    async def list_priorities(self) -> list[Priority]:
        return await self.list_all("/priorities", model=Priority)

    async def list_teams(self, *, query: str | None = None) -> list[Team]:
        return await self.list_all("/teams", _q(query=query), model=Team)

    async def oncalls(
        self,
        escalation_policy_ids: Sequence[str] | None = None,
        schedule_ids: Sequence[str] | None = None,
        user_ids: Sequence[str] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        earliest: bool = False,
    ) -> list[OnCall]:
        """Who is on call (now, when no window is given); windows over 90 days are split."""
        params = _q(
            **{
                "escalation_policy_ids[]": _list(escalation_policy_ids),
                "schedule_ids[]": _list(schedule_ids),
                "user_ids[]": _list(user_ids),
                "earliest": "true" if earliest else None,
            }
        )
        return await self.list_all("/oncalls", params, since=since, until=until, model=OnCall)

    # ------------------------------------------------------------------ incidents

    async def list_incidents(
        self,
        statuses: Sequence[str] | None = None,
        service_ids: Sequence[str] | None = None,
        incident_key: str | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        urgencies: Sequence[str] | None = None,
        date_range: Literal["all"] | None = None,
    ) -> list[Incident]:
        """Incidents in the window (6-month windows, complete), oldest first."""
        params = _q(
            **{
                "statuses[]": _list(statuses),
                "service_ids[]": _list(service_ids),
                "urgencies[]": _list(urgencies),
                "incident_key": incident_key,
                "date_range": date_range,
            }
        )
        return await self.list_all(
            "/incidents", params, since=since, until=until, sort_by="created_at", model=Incident
        )

    async def get_incident(self, incident_id: str) -> Incident:
        body = await self.request("GET", f"/incidents/{incident_id}")
        return Incident.model_validate(body["incident"])

    async def find_incident_by_number(self, number: int) -> Incident | None:
        """The incident numbered `number`, or None. PagerDuty has no lookup by number,
        so this lists `date_range=all` (windows past the cap) until it meets it."""
        pages = self.iter_all("/incidents", {"date_range": "all"})
        try:
            async for item in pages:
                if item.get("incident_number") == number:
                    return Incident.model_validate(item)
        finally:
            await pages.aclose()  # type: ignore[attr-defined]
        return None

    async def create_incident(
        self,
        service_id: str,
        title: str,
        *,
        urgency: str | None = None,
        incident_key: str | None = None,
        from_: str | None = None,
    ) -> Incident:
        """Open an incident; with an `incident_key`, a repeat returns the one that landed."""
        incident: dict[str, Any] = {
            "type": "incident",
            "title": title,
            "service": Reference.to("service", service_id),
        }
        if urgency is not None:
            incident["urgency"] = urgency
        if incident_key is not None:
            incident["incident_key"] = incident_key
        call = ApiCall(method="POST", path="/incidents", body={"incident": incident})
        written = await self.write(call, from_=from_)
        return Incident.model_validate(written.body["incident"])

    async def add_note(self, incident_id: str, content: str, from_: str | None = None) -> Note:
        call = ApiCall(
            method="POST",
            path=f"/incidents/{incident_id}/notes",
            body={"note": {"content": content}},
        )
        return Note.model_validate((await self.write(call, from_=from_)).body["note"])

    # ------------------------------------------------------------------ approved writes

    async def write(
        self, call: ApiCall, *, from_: str | None = None, look_first: bool = False
    ) -> Written:
        """Run one approved write so that it lands at most once.

        `look_first` (a resume, a retry, a repeat after a crash): look for an
        earlier landing in PagerDuty before sending. After an answer that leaves
        the outcome unknown (a 5xx, a lost connection, a refused duplicate), look
        again before deciding: a write that landed is a success, never repeated.
        Rate limits and connections that never reached the server are retried by
        `request`; a refused write raises its `PagerDutyError`.
        """
        if look_first:
            found = await find_landed(self, call)
            if found is not None:
                return Written(found, found_earlier=True)
        attempt = 0
        while True:
            try:
                body = await self.request(
                    call.method, call.path, json=call.body, from_=from_, idempotent=False
                )
                return Written(_checked_batch(body, call, self.base_url))
            except (ServerError, TransportError, InvalidInput) as exc:
                if isinstance(exc, TransportError) and isinstance(exc.__cause__, NOT_SENT):
                    raise  # never reached PagerDuty, and `request` already retried it
                try:
                    found = await find_landed(self, call)
                except PagerDutyError:
                    found = None  # cannot tell now; the caller records the write as unknown
                if found is not None:
                    log.info("%s %s: the write had landed; not sent again", call.method, call.path)
                    return Written(found, found_earlier=True)
                if isinstance(exc, InvalidInput) or attempt >= self.max_retries:
                    raise
                delay = self._backoff(attempt)
                log.info(
                    "%s %s: %s, checked: not landed; retry in %.2f s",
                    call.method,
                    call.path,
                    type(exc).__name__,
                    delay,
                )
                await self._sleep(delay)
                attempt += 1

    # ------------------------------------------------------------------ log entries

    async def incident_log_entries(
        self, incident_id: str, since: TimeLike | None = None, until: TimeLike | None = None
    ) -> list[LogEntry]:
        """Every log entry of the incident (not the overview), oldest first."""
        return await self.list_all(
            f"/incidents/{incident_id}/log_entries",
            {"is_overview": "false"},
            since=since,
            until=until,
            sort_by="created_at",
            model=LogEntry,
        )

    async def list_log_entries(self, since: TimeLike, until: TimeLike) -> list[LogEntry]:
        """Every log entry in the account in [since, until), oldest first."""
        return await self.list_all(
            "/log_entries",
            {"is_overview": "false"},
            since=since,
            until=until,
            sort_by="created_at",
            model=LogEntry,
        )


@dataclass(frozen=True)
class Written:
    """PagerDuty's answer to an approved write, and whether an earlier attempt had made it."""

    body: Any
    found_earlier: bool = False


def _checked_batch(body: Any, call: ApiCall, base_url: str) -> Any:
    """The override endpoint answers 201 with one status per item: a refused item is an error."""
    if not isinstance(body, list):
        return body
    refused = [i for i in body if isinstance(i, dict) and int(i.get("status", 201)) >= 400]
    if refused:
        errors = [str(e) for i in refused for e in i.get("errors", [])] or ["refused"]
        raise InvalidInput(
            "; ".join(errors),
            method=call.method,
            url=f"{base_url}{call.path}",
            status_code=int(refused[0].get("status", 400)),
            errors=errors,
        )
    return body


def _as(cls: type[PagerDutyError], error: PagerDutyError) -> PagerDutyError:
    """The same error re-typed (a 429 or 5xx that outlived its retries)."""
    if isinstance(error, cls):
        return error
    return cls(
        error.message,
        method=error.method,
        url=error.url,
        status_code=error.status_code,
        code=error.code,
        errors=error.errors,
        request=error.request,
        response=error.response,
    )


def _request_of(exc: httpx.TransportError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


def _proxied() -> bool:
    """A proxy set in the environment (HTTPS_PROXY, ALL_PROXY): httpx's own transport, which
    honours it, rather than ours (httpx reads the environment only when it builds the transport)."""
    proxies = urllib.request.getproxies()
    return bool(proxies.get("https") or proxies.get("all"))


def _q(**params: Any) -> dict[str, Any]:
    """Query parameters without the unset ones."""
    return {k: v for k, v in params.items() if v is not None}


def _list(values: Sequence[str] | None) -> list[str] | None:
    return list(values) if values else None
