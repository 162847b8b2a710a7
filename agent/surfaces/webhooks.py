"""`POST /webhooks/pagerduty`: PagerDuty V3 webhooks, verified, stored, then processed.

- **Signature**: `X-PagerDuty-Signature` carries one or more comma-separated
  `v1=<hex HMAC-SHA256 of the raw body>`, one per signing secret while a secret
  rotates; we hold one or more secrets (`PAGERDUTY_WEBHOOK_SECRETS`). Any
  match (constant-time compare) is authentic; anything else is a 401 and no work.
- **Staleness**: PagerDuty signs no timestamp, so a captured request can be
  replayed verbatim. Two defences: the event id is stored durably and a
  replay is answered 200 with nothing new (idempotency), and the signed
  `event.occurred_at` older than `max_age` (a day by default, longer than
  PagerDuty's delivery retries) is refused as stale.
- **Durable first**: an event is stored (a table of event ids, beside the approvals)
  before it is acknowledged, then a background worker takes it from a
  bounded queue and calls `on_event`. If the queue is full the event waits
  in the table and the worker sweeps it up; a restart resumes events stored
  but never started. Each event starts its work at most once (the row is
  claimed before `on_event` runs).
- **Shutdown**: `stop(grace_s)` takes no new event and lets the one in progress
  finish within the grace; one cut short is put back (not started), so the next
  worker to start takes it up instead of it being lost.
- `incident.resolved` -> `on_event(kind="postmortem", incident_id=...)`;
  `incident.triggered` -> `on_event(kind="triage", incident_id=..., text=title)`;
  other event types are stored, answered 200 and ignored.

Secrets and signatures are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import json
import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Connection, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.approvals.store.database import Database, open_database
from agent.config import Settings

__all__ = ["PATH", "WebhookReceiver", "app", "routes", "sign", "verify_signature"]

log = logging.getLogger(__name__)

PATH = "/webhooks/pagerduty"
KINDS = {"incident.resolved": "postmortem", "incident.triggered": "triage"}
OnEvent = Callable[..., Any]

def sign(body: bytes, secret: str) -> str:
    """The `v1=` signature PagerDuty sends for `body` under `secret`."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secrets: list[SecretStr]) -> bool:
    """True if any `v1=` signature in the header matches any of our secrets."""
    if not header or not secrets:
        return False
    offered = [part.strip() for part in header.split(",") if part.strip().startswith("v1=")]
    matched = False
    for secret in secrets:
        expected = sign(body, secret.get_secret_value())
        for signature in offered:
            # Every pair is compared (no early exit), each in constant time.
            matched |= hmac.compare_digest(expected.encode(), signature.encode())
    return matched


def default_db_path(settings: Settings) -> Path:
    checkpoint = Path(settings.incident_agent_checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}.webhooks.sqlite")


def _now() -> datetime:
    return datetime.now(UTC)


class EventStore:
    """The processed-ids table: one row per PagerDuty event id, written before the 2xx.

    Beside the approvals (`agent.approvals.store.database`): this file, or the shared
    Postgres database, where `INSERT … ON CONFLICT DO NOTHING` lets one delivery in
    whichever worker it reaches first and the claim (`started_at IS NULL`) starts it once."""

    def __init__(self, path: Path, settings: Settings | None = None) -> None:
        self._path, self._settings = path, settings
        self._database: Database | None = None
        self._opening = threading.Lock()

    @property
    def _db(self) -> Database:
        """Opened on first use (blocking: the callers run in a worker thread)."""
        with self._opening:  # once: threads opening one SQLite file together race on its WAL pragma
            if self._database is None:
                self._database = open_database(self._settings, self._path, "webhook_events",
                                               keep_open=True)
        return self._database

    def add(self, row: dict[str, Any]) -> bool:
        """Store a new event; False if its id was already stored (a replay)."""
        return self._db.run(lambda c: c.execute(text(
            "INSERT INTO pagerduty_webhook_events (event_id, event_type, incident_id, title, kind,"
            " received_at, started_at, finished_at) VALUES (:event_id, :event_type, :incident_id,"
            " :title, :kind, :received_at, :started_at, :finished_at)"
            " ON CONFLICT (event_id) DO NOTHING"), row).rowcount == 1)

    def claim(self, event_id: str) -> dict[str, Any] | None:
        """Mark an event started; None if it was started before (at most once)."""

        def op(c: Connection) -> dict[str, Any] | None:
            row = c.execute(text(
                "UPDATE pagerduty_webhook_events SET started_at = :now WHERE event_id = :id"
                " AND started_at IS NULL RETURNING event_id, event_type, incident_id, title, kind"),
                {"now": _now().isoformat(), "id": event_id}).mappings().fetchone()
            return dict(row) if row is not None else None

        return self._db.run(op)

    def finish(self, event_id: str, error: str | None = None) -> None:
        self._db.run(lambda c: c.execute(text(
            "UPDATE pagerduty_webhook_events SET finished_at = :now, error = :error"
            " WHERE event_id = :id"), {"now": _now().isoformat(), "error": error, "id": event_id}))

    def unclaim(self, event_id: str) -> None:
        """Put a started but unfinished event back, for the next worker to start."""
        self._db.run(lambda c: c.execute(text(
            "UPDATE pagerduty_webhook_events SET started_at = NULL WHERE event_id = :id"
            " AND finished_at IS NULL"), {"id": event_id}))

    def pending(self) -> list[str]:
        rows = self._db.run(lambda c: c.execute(text(
            "SELECT event_id FROM pagerduty_webhook_events WHERE started_at IS NULL"
            " ORDER BY received_at")).fetchall())
        return [r[0] for r in rows]

    def count(self, where: str = "1=1") -> int:
        return int(self._db.run(lambda c: c.execute(text(
            f"SELECT count(*) FROM pagerduty_webhook_events WHERE {where}")).scalar_one()))

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None


class WebhookReceiver:
    """The route, its store and its worker; mount `.routes()` or use `.lifespan()`."""

    def __init__(self, settings: Settings, on_event: OnEvent, *, db_path: Path | None = None,
                 queue_size: int = 1000, max_age: timedelta | None = timedelta(days=1),
                 clock: Callable[[], datetime] = _now) -> None:
        self.settings = settings
        self.on_event = on_event
        self.store = EventStore(db_path or default_db_path(settings), settings)
        self.max_age = max_age
        self.clock = clock
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._overflow = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False

    def routes(self) -> list[Route]:
        return [Route(PATH, self.handle, methods=["POST"])]

    @asynccontextmanager
    async def lifespan(self, app: Any = None):  # noqa: ANN201 -- Starlette's lifespan shape
        self.start()
        try:
            yield
        finally:
            await self.stop()

    def start(self) -> None:
        """Start the worker (idempotent); it first resumes events stored but never started."""
        if self._worker is None or self._worker.done():
            self._stopping = False
            self._overflow.set()
            self._worker = asyncio.create_task(self._work(), name="pagerduty-webhook-worker")

    async def stop(self, grace_s: float = 0.0) -> None:
        """Take no new event; the one in progress gets `grace_s` to finish, else it is
        cancelled and put back."""
        self._stopping = True
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if grace_s > 0:
            await asyncio.wait({worker}, timeout=grace_s)
        worker.cancel()
        try:
            await worker
        except asyncio.CancelledError:
            pass

    async def drain(self, wait_s: float = 30.0) -> None:
        """Wait until every stored event has been processed (tests, shutdown)."""
        async with asyncio.timeout(wait_s):
            while self.store.count("finished_at IS NULL") or not self._queue.empty():  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        secrets = self.settings.pagerduty_webhook_secrets
        if not secrets:
            log.error("PagerDuty webhook refused: no PAGERDUTY_WEBHOOK_SECRETS configured")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if not verify_signature(body, request.headers.get("x-pagerduty-signature"), secrets):
            log.warning("PagerDuty webhook refused: missing or invalid signature")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            event = json.loads(body)["event"]
            event_id, event_type = str(event["id"]), str(event["event_type"])
        except (ValueError, KeyError, TypeError, RecursionError):  # nested past json's stack
            return JSONResponse({"error": "malformed event"}, status_code=400)
        if self._stale(event):
            log.warning("PagerDuty webhook %s refused: occurred_at is stale", event_id)
            return JSONResponse({"error": "stale event"}, status_code=401)
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        kind = KINDS.get(event_type)
        now = self.clock().isoformat()
        row = {"event_id": event_id, "event_type": event_type, "kind": kind,
               "incident_id": data.get("id") if event.get("resource_type", "incident") == "incident"
               else None, "title": data.get("title"), "received_at": now,
               "started_at": None if kind else now, "finished_at": None if kind else now}
        if kind and not row["incident_id"]:
            return JSONResponse({"error": "event has no incident id"}, status_code=400)
        if not await asyncio.to_thread(self.store.add, row):
            return JSONResponse({"status": "duplicate", "event_id": event_id})
        if kind:
            self.start()
            try:
                self._queue.put_nowait(event_id)
            except asyncio.QueueFull:
                self._overflow.set()  # stored; the worker sweeps it up from the table
        return JSONResponse({"status": "accepted" if kind else "ignored", "event_id": event_id},
                            status_code=202 if kind else 200)

    def _stale(self, event: dict[str, Any]) -> bool:
        if self.max_age is None or not event.get("occurred_at"):
            return False
        try:
            occurred = datetime.fromisoformat(str(event["occurred_at"]).replace("Z", "+00:00"))
        except ValueError:
            return True
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=UTC)
        return self.clock() - occurred > self.max_age

    async def _work(self) -> None:
        while not self._stopping:
            if self._queue.empty() and self._overflow.is_set():
                self._overflow.clear()
                for event_id in await asyncio.to_thread(self.store.pending):
                    if self._stopping:
                        break
                    await self._process(event_id)
                continue
            try:
                # Not `wait_for`: in Python 3.11 it can swallow a cancel that arrives as the
                # queue hands over an item, and this loop would never end on cancellation.
                async with asyncio.timeout(1.0):
                    event_id = await self._queue.get()
            except TimeoutError:
                continue
            if not self._stopping:
                await self._process(event_id)

    async def _process(self, event_id: str) -> None:
        row = await asyncio.to_thread(self.store.claim, event_id)
        if row is None:
            return
        kwargs: dict[str, Any] = {"kind": row["kind"], "incident_id": row["incident_id"]}
        if row["kind"] == "triage":
            kwargs["text"] = row["title"] or ""
        error = None
        try:
            result = self.on_event(**kwargs)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:  # stopped past its grace: not lost, put back
            log.warning("PagerDuty webhook %s: stopped before its work finished; put back for "
                        "the next worker to start", event_id)
            await asyncio.shield(asyncio.to_thread(self.store.unclaim, event_id))
            raise
        except Exception as exc:  # noqa: BLE001 -- one bad event must not stop the worker
            error = f"{type(exc).__name__}: {exc}"
            log.exception("PagerDuty webhook %s: %s handler failed", event_id, row["kind"])
        await asyncio.to_thread(self.store.finish, event_id, error)


def routes(settings: Settings, on_event: OnEvent, **options: Any) -> list[Route]:
    """The route for the lead's app; its worker starts with the first accepted event."""
    return WebhookReceiver(settings, on_event, **options).routes()


def app(settings: Settings, on_event: OnEvent, **options: Any) -> Starlette:
    """A small Starlette app with the route and a lifespan that starts and stops the worker."""
    receiver = WebhookReceiver(settings, on_event, **options)
    starlette = Starlette(routes=receiver.routes(), lifespan=receiver.lifespan)
    starlette.state.receiver = receiver
    return starlette
