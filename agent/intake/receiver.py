"""The intake routes, and what each alert does: start a run, join a storm,
or propose the update a resolve or acknowledge asks for.

- trigger: an open row with the same key (dedup_key / groupKey), or the same
  service hint and a similar summary within `INTAKE_STORM_WINDOW_S`, whose
  run still waits for a human (or is running, or paged within the window):
  the alert joins it (count + latest details), nobody is asked again.
  Otherwise a new run starts through `Runner.start` with the alert in words
  (`prompt`) and its structured fields (`alert`).
- acknowledge / resolve for a key whose run created (or noted) an incident:
  a new run with "resolve #N: …", which the graph proposes for approval.
  If the first run still waits for approval, the row notes that the sender
  resolved it (the approver sees it) and nothing more is asked.

Whether an alert opens a problem or joins one is decided by the database
(`agent/intake/store.py`): a unique index allows one open row per problem,
and a worker whose row was refused joins the one that won, so a storm
spread over many workers sharing one database still gives one run per
problem. A row another worker opened a moment ago (its run not yet
checkpointed) counts as running and is joined. Within a process the
decisions also take one lock, so the store sees one alert at a time. Runs
go on in background tasks; the sender gets its answer at once (202), as
from PagerDuty.

An accepted alert survives a crash: its row keeps the run's inputs, and on
the next start `recover()` starts again, once, every open row whose run
never reached a pause or an end (nothing is written before a human
approves, so a fresh start of the same inputs repeats no write).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.approvals import pause_kind
from agent.config import Settings
from agent.intake.auth import TooLarge, bearer_ok, hmac_ok, read_body, routing_service
from agent.intake.events import (
    AlertEvent,
    InvalidEvent,
    parse_alertmanager,
    parse_events_v2,
    parse_generic,
    render_prompt,
)
from agent.intake.routing import RoutingKeys, RoutingKeysCache
from agent.intake.store import AlertRow, AlertStore, default_db_path

log = logging.getLogger(__name__)

EVENTS_PATH = "/v2/enqueue"
ALERTMANAGER_PATH = "/intake/alertmanager"
GENERIC_PATH = "/intake/generic"
ALERTS_PATH = "/intake/alerts"
WAITING = {"awaiting_approval", "needs_input"}
WROTE = {"done"}
STATUS_TTL_S = 1.0
RECOVER_GRACE_S = 30.0
"""A row younger than this may be another live worker's run in flight: looked at once it is older."""
STALLED_S = 300.0
"""A run that has neither paused nor ended, nor taken a step, this long is taken for dead (its
worker died): the next alert about its problem starts a new run. Until then, alerts join it,
whichever worker runs it."""
DECIDE_TRIES = 5
"""Rows an alert looks at (closing ended ones) before it joins whatever holds its problem."""
MAX_RESUMES = 1
RECOUNT_S = 2.0
"""A storm redraws its approval (Slack) at most this often: the count, not every alert."""


def _invalid(errors: list[str], status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status_code=status,
    )


def service_hint(event: AlertEvent) -> str | None:
    """The service as the sender names it, before triage: enough to group a storm."""
    f = event.fields
    for value in (
        event.routing_service,
        f.labels.get("service"),
        f.labels.get("app"),
        f.labels.get("job"),
        f.component,
        f.source,
    ):
        if value:
            return str(value).lower()
    return None


class IntakeReceiver:
    def __init__(
        self,
        settings: Settings,
        runner: Callable[[], Any],
        *,
        db_path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._runner = runner
        self._db_path = db_path or default_db_path(settings)
        self._store: AlertStore | None = None
        self.clock = clock
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[str] = set()  # threads whose first run is in flight
        self._seen: dict[str, tuple[str, float]] = {}  # thread -> (status, when)
        self._recovering: set[asyncio.Task[None]] = set()  # recover(): waiting or re-driving
        self.on_join: Callable[[str], Awaitable[None]] | None = None
        """Told a thread's id when alerts joined its run (serve redraws its Slack message)."""
        self._recounts: set[str] = set()
        self._routing: RoutingKeysCache | None = None

    def routes(self) -> list[Route]:
        return [
            Route(EVENTS_PATH, self.events_v2, methods=["POST"]),
            Route(ALERTMANAGER_PATH, self.alertmanager, methods=["POST"]),
            Route(GENERIC_PATH, self.generic, methods=["POST"]),
            Route(ALERTS_PATH, self.list_alerts, methods=["GET"]),
        ]

    @property
    def store(self) -> AlertStore:
        """Opened on first use, so building the app touches no disk."""
        if self._store is None:
            self._store = AlertStore(self._db_path, self.settings)
        return self._store

    @property
    def runner(self) -> Any:
        runner = self._runner()
        if runner is None:
            raise RuntimeError("the server is not started")
        return runner

    # -- routes ---------------------------------------------------------------

    async def _json(self, request: Request) -> tuple[bytes, Any] | JSONResponse:
        try:
            raw = await read_body(request, self.settings.intake_max_body_bytes)
        except TooLarge:
            limit = self.settings.intake_max_body_bytes
            return JSONResponse({"status": "invalid event", "message": f"body over {limit} bytes"},
                                status_code=413)  # fmt: skip
        try:
            return raw, json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested past json's stack
            return _invalid(["the body is not JSON"])

    async def events_v2(self, request: Request) -> JSONResponse:
        keys = self.settings.intake_routing_keys
        account = None if keys else await self._account_keys()
        if not keys and account is None:
            log.error("Events API intake refused: no INTAKE_ROUTING_KEYS configured, and the "
                      "account has no Events API v2 integration")  # fmt: skip
            return JSONResponse({"status": "unauthorized", "message": "no routing keys configured"},
                                status_code=401)  # fmt: skip
        got = await self._json(request)
        if isinstance(got, JSONResponse):
            return got
        _, body = got
        try:
            event = parse_events_v2(body)
        except InvalidEvent as exc:
            return _invalid(exc.errors)
        routing_key = str(body["routing_key"])
        event.routing_service = routing_service(routing_key, keys)
        if event.routing_service is None and (account := account or await self._account_keys()):
            event.routing_service = await account.service_for(routing_key)
        if event.routing_service is None:
            return _invalid(["Invalid routing key"])
        outcome = await self.accept(event)
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": event.key,
             "intake": outcome},
            status_code=202,
        )  # fmt: skip

    async def alertmanager(self, request: Request) -> JSONResponse:
        if not self.settings.intake_tokens:
            log.error("Alertmanager intake refused: no INTAKE_TOKENS configured")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if not bearer_ok(request, self.settings.intake_tokens):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        got = await self._json(request)
        if isinstance(got, JSONResponse):
            return got
        try:
            event = parse_alertmanager(got[1])
        except InvalidEvent as exc:
            return _invalid(exc.errors)
        return JSONResponse(await self.accept(event), status_code=202)

    async def generic(self, request: Request) -> JSONResponse:
        tokens, secrets = self.settings.intake_tokens, self.settings.intake_hmac_secrets
        if not (tokens or secrets):
            log.error("generic intake refused: no INTAKE_TOKENS or INTAKE_HMAC_SECRETS configured")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        got = await self._json(request)
        if isinstance(got, JSONResponse):
            return got
        raw, body = got
        signature = request.headers.get("x-signature") or request.headers.get(
            "x-grafana-alerting-signature"
        )
        if not (bearer_ok(request, tokens) or hmac_ok(raw, signature, secrets)):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            event = parse_generic(body, self.settings.intake_generic_mapping)
        except InvalidEvent as exc:
            return _invalid(exc.errors)
        return JSONResponse(await self.accept(event), status_code=202)

    async def list_alerts(self, request: Request) -> JSONResponse:
        """The rows (count, latest, thread) for surfaces and operators; Bearer-protected."""
        if not bearer_ok(request, self.settings.intake_tokens):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        rows = await asyncio.to_thread(self.store.all)
        return JSONResponse({"alerts": [r.as_json() for r in rows]})

    # -- decisions ------------------------------------------------------------

    async def accept(self, event: AlertEvent) -> dict[str, Any]:
        """What this alert does; the run itself goes on in the background."""
        async with self._lock:
            if event.action == "trigger":
                return await self._trigger(event)
            return await self._update(event)

    def _latest(self, event: AlertEvent) -> dict[str, Any]:
        return {
            "summary": event.fields.summary,
            "severity": event.fields.severity,
            "sender": event.sender,
            "action": event.action,
            "custom_details": event.fields.custom_details,
            "at": self.clock(),
        }

    async def _status(self, row: AlertRow) -> str:
        """running, waiting, wrote or ended: where the row's run is now.

        A storm asks this hundreds of times a second: a run in flight here is
        known in memory, and an answer from the checkpoint is kept a second.
        A run another worker started (no checkpoint yet, only its input, or
        steps still to take) is running until STALLED_S pass without a step."""
        if row.thread_id in self._running:
            return "running"
        cached = self._seen.get(row.thread_id)
        if cached is not None and self.clock() - cached[1] < STATUS_TTL_S:
            return cached[0]
        try:
            snapshot = await self.runner.graph.aget_state({"configurable": {"thread_id": row.thread_id}})
        except Exception as exc:  # an unreadable checkpoint: as if the run had ended
            log.warning("intake: the checkpoint of run %s is unreadable: %s", row.thread_id,
                        type(exc).__name__)
            snapshot = None
        values = dict(snapshot.values) if snapshot is not None and snapshot.values else {}
        stepped = row.started_at if row.started_at is not None else row.first_at
        if snapshot is not None and snapshot.created_at:  # the run's latest checkpoint
            stepped = datetime.fromisoformat(snapshot.created_at).timestamp()
        if snapshot is None:
            status = "ended"
        elif snapshot.interrupts:
            status = "waiting" if pause_kind(snapshot.interrupts[0].value) in WAITING else "ended"
        elif not values or snapshot.next or (snapshot.metadata or {}).get("source") == "input":
            status = "running" if self.clock() - stepped < STALLED_S else "ended"
        elif values.get("status", "done") in WROTE and (values.get("result") or {}).get("action"):
            status = "wrote"
        else:
            status = "ended"
        self._seen[row.thread_id] = (status, self.clock())
        return status

    async def _trigger(self, event: AlertEvent) -> dict[str, Any]:
        """Join the open row of this alert's problem if its run is still of use, else close
        that row and open one (the database refuses a second open row for a problem: the
        loser of a race across workers is handed the winner, and joins it)."""
        now = self.clock()
        since = now - self.settings.intake_storm_window_s
        hint = service_hint(event)
        row = await asyncio.to_thread(self.store.find, event.key, hint, event.fields.summary, since)
        inputs: dict[str, Any] | None = None
        thread_id = uuid.uuid4().hex[:12]
        for tries in range(DECIDE_TRIES):
            if row is not None:
                status = await self._status(row)
                if tries == DECIDE_TRIES - 1 or status in ("running", "waiting") or (
                    status == "wrote" and now - row.last_at <= self.settings.intake_storm_window_s
                ):
                    joined = await asyncio.to_thread(
                        self.store.join, row.id, event.count, now, self._latest(event)
                    )
                    if joined is not None:
                        self._recount_soon(joined.thread_id)
                        return {"status": "joined", "thread_id": joined.thread_id,
                                "count": joined.count}  # fmt: skip
                else:
                    await asyncio.to_thread(
                        self.store.close, row.id, f"run {status}; a new alert started a new run"
                    )
            if inputs is None:
                routed = await self._service_name(event.routing_service)
                event.fields.routed_service = routed
                inputs = {
                    "prompt": render_prompt(event, routed),
                    "alert": event.fields.model_dump(mode="json", by_alias=True,
                                                     exclude_defaults=True),
                }  # fmt: skip
            held, created = await asyncio.to_thread(
                self.store.create, key=event.key, sender=event.sender, service_hint=hint,
                summary=event.fields.summary, thread_id=thread_id, count=event.count, now=now,
                latest=self._latest(event), inputs=inputs, similar_since=since,
            )  # fmt: skip
            if created:
                self._running.add(thread_id)
                self._spawn(self._run(inputs, thread_id, held.id))
                return {"status": "started", "thread_id": thread_id, "count": held.count}
            row = held  # the problem's open row (maybe another worker's, made a moment ago)
        raise RuntimeError(f"intake: alert {event.key!r} found no row to join or open")

    async def _account_keys(self) -> RoutingKeysCache | None:
        """The account's Events API v2 integration keys (None when it has none, or
        when the account cannot be read: settings' keys still work)."""
        if self._routing is None:
            try:
                self._routing = RoutingKeysCache(
                    self.runner.services.pd, ttl_s=self.settings.catalog_ttl_s
                )
            except RuntimeError:  # not started
                return None
        try:
            keys = await self._routing.get()
        except Exception as exc:
            log.warning("intake: the account's integration keys are unavailable: %s",
                        type(exc).__name__)  # fmt: skip
            return None
        return self._routing if isinstance(keys, RoutingKeys) and keys.keys else None

    async def _service_name(self, words: str | None) -> str | None:
        """The catalog name of a routing key's service (settings may give an id)."""
        if not words:
            return None
        try:
            catalog = await self.runner.services.catalog.get()
        except Exception:  # the catalog is unreachable: the words as configured
            return words
        service = catalog.service(words)
        return service.name if service is not None else words

    async def _update(self, event: AlertEvent) -> dict[str, Any]:
        row = await asyncio.to_thread(self.store.open_by_key, event.key)
        if row is None:
            return {"status": "ignored", "reason": f"no open alert with key {event.key!r}"}
        past = "resolved" if event.action == "resolve" else "acknowledged"
        try:
            outcome = await self.runner.outcome(row.thread_id)
        except Exception:
            outcome = None
        values = outcome.values if outcome is not None else {}
        result = values.get("result") or {}
        number = (
            result.get("incident_number") if result.get("action") == "create_incident" else None
        )
        number = number or (values.get("duplicate_of") or {}).get("number")
        if number is None:
            note = f"the sender {past} the alert before anyone approved a page"
            await asyncio.to_thread(self.store.annotate, row.id, note)
            if event.action == "resolve" and outcome is not None and outcome.status not in WAITING:
                await asyncio.to_thread(self.store.close, row.id, note)
            return {"status": "noted", "thread_id": row.thread_id, "note": note}
        verb = "resolve" if event.action == "resolve" else "acknowledge"
        prompt = f"{verb} #{number}: {event.sender} reports the alert {past} ({row.summary[:200]})"
        thread_id = uuid.uuid4().hex[:12]
        if event.action == "resolve":
            await asyncio.to_thread(
                self.store.close, row.id, f"{past}; proposed in run {thread_id}"
            )
        self._spawn(self._run({"prompt": prompt}, thread_id, None))
        return {"status": "update", "thread_id": thread_id, "incident": f"#{number}"}

    def _recount_soon(self, thread_id: str) -> None:
        """Tell `on_join` about the thread once the storm's next RECOUNT_S have passed."""
        if self.on_join is None or thread_id in self._recounts:
            return
        self._recounts.add(thread_id)
        hook = self.on_join

        async def later() -> None:
            await asyncio.sleep(RECOUNT_S)
            self._recounts.discard(thread_id)  # alerts from now on ask for the next redraw
            try:
                await hook(thread_id)
            except Exception as exc:  # the count is a courtesy; the approval stands
                log.warning("intake: redrawing %s's approval failed: %s", thread_id,
                            type(exc).__name__)  # fmt: skip

        self._spawn(later())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, inputs: dict[str, Any], thread_id: str, row_id: int | None) -> None:
        try:
            outcome = await self.runner.start(inputs, thread_id=thread_id)
            log.info("intake run %s is %s", thread_id, outcome.status)
            if row_id is not None and outcome.status not in WAITING and outcome.status != "done":
                await asyncio.to_thread(self.store.close, row_id, f"run ended: {outcome.status}")
        except Exception as exc:  # one bad alert must not stop the others
            log.exception("intake run %s failed", thread_id)
            if row_id is not None:
                await asyncio.to_thread(
                    self.store.close, row_id, f"run failed: {type(exc).__name__}"
                )
        finally:
            self._running.discard(thread_id)

    # -- after a crash --------------------------------------------------------

    async def recover(self, grace_s: float = RECOVER_GRACE_S) -> None:
        """On start: every accepted alert whose run had not reached a pause or an
        end when its process died is started again, once (in the background)."""
        rows = await asyncio.to_thread(self.store.open_with_inputs)
        for row in rows:
            if row.thread_id not in self._running:
                task = asyncio.create_task(self._recover_row(row, grace_s))
                self._recovering.add(task)
                task.add_done_callback(self._recovering.discard)

    async def _recover_row(self, row: AlertRow, grace_s: float) -> None:
        wait = row.last_at + grace_s - self.clock()
        if wait > 0:
            await asyncio.sleep(wait)
        if await self._reached_a_stop(row.thread_id):
            return
        if row.resumes >= MAX_RESUMES:
            note = "the run stopped before a pause again after a restart; not started a third time"
            await asyncio.to_thread(self.store.close, row.id, note)
            log.error("intake run %s: %s", row.thread_id, note)
            return
        # A fresh thread: the dead run's partial checkpoint (reads only) is left behind.
        thread_id = uuid.uuid4().hex[:12]
        if not await asyncio.to_thread(self.store.claim_resume, row.id, row.resumes, thread_id,
                                       self.clock()):
            return  # another worker took it
        log.warning("intake: alert %r had not reached a pause; started again as run %s",
                    row.key, thread_id)  # fmt: skip
        self._running.add(thread_id)
        assert row.inputs is not None
        self._spawn(self._run(row.inputs, thread_id, row.id))  # drained on stop like any run

    async def _reached_a_stop(self, thread_id: str) -> bool:
        """True when the thread paused for a human or ran to its end."""
        snapshot = await self.runner.graph.aget_state({"configurable": {"thread_id": thread_id}})
        if not snapshot.values:
            return False  # no checkpoint: the process died before the first step
        return bool(snapshot.interrupts) or not snapshot.next

    async def drain(self, wait_s: float = 60.0) -> None:
        """Wait for the runs started so far (tests, shutdown)."""
        async with asyncio.timeout(wait_s):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._recovering):
            task.cancel()  # a stopping server starts nothing; the next start looks again
        await asyncio.gather(*self._recovering, return_exceptions=True)
        try:
            await self.drain(10.0)
        except TimeoutError:
            log.warning("intake: stopping with runs still in flight")
        if self._store is not None:
            await asyncio.to_thread(self._store.close_db)
            self._store = None
