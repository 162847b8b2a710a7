"""The ASGI app behind `incident-agent serve`: `/healthz`, `/slack/events`, `/webhooks/pagerduty`.

`create_app(settings)` builds nothing until its lifespan runs; the lifespan
opens the PagerDuty services, the checkpointer and the runners, starts Slack
(HTTP events, and Socket Mode when `SLACK_SOCKET_MODE` and an app token are
set) and the webhook worker, and closes them in reverse order after letting
clicks being answered finish. Everything a click needs is in the SQLite
file, so a restarted server answers buttons posted by the one before.

On SIGTERM uvicorn stops accepting connections, then `stop_work` takes no new
answer or webhook event and gives writes in progress the grace
(`INCIDENT_AGENT_SHUTDOWN_GRACE_S`); what cannot finish is released as failed,
for another worker's `retry`, and `serve` exits 0.

Slack requests are verified by bolt (signature and a 5-minute timestamp
window); secrets leave their SecretStr only when handed to bolt and
slack-sdk, and are never logged.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import math
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.bodylimit import LimitedStarlette as Starlette  # request bodies capped (413)
from agent.checkpoint import open_checkpointer
from agent.config import Settings
from agent.readiness import readyz
from agent.runner import Runner
from agent.runtime import Services, open_services

__all__ = ["create_app", "serve"]

log = logging.getLogger(__name__)


def slack_configured(settings: Settings) -> bool:
    return settings.slack_bot_token is not None


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def slack_events(request: Request) -> Response:
    handler = getattr(request.app.state, "slack_handler", None)
    if handler is None:
        return JSONResponse({"error": "Slack is not configured on this server"}, status_code=404)
    return await handler.handle(request)


class Events:
    """What PagerDuty webhooks start: triage of a triggered incident, a post-mortem of a resolved one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runner: Runner | None = None
        self.postmortems: Runner | None = None
        self.services: Services | None = None

    async def __call__(self, kind: str, incident_id: str, text: str = "") -> None:
        if self.runner is None or self.postmortems is None:
            raise RuntimeError("the server is not started")
        if kind == "triage":
            outcome = await self.runner.start({"prompt": text or f"PagerDuty incident {incident_id}"})
            log.info("webhook triage of %s: thread %s is %s", incident_id, outcome.thread_id, outcome.status)
        elif kind == "postmortem":
            await self._postmortem(incident_id)

    async def _postmortem(self, incident_id: str) -> None:
        """Through the runner like every thread: its note's pause is in `approvals` and Slack."""
        import uuid

        from graphs.postmortem import prompt_for

        assert self.postmortems is not None
        outcome = await self.postmortems.start(
            {"incident": incident_id}, f"postmortem-{incident_id}-{uuid.uuid4().hex[:12]}",
            prompt=prompt_for(incident_id), durability="exit")
        post = outcome.values.get("proposed_slack_post")
        if post and slack_configured(self.settings):
            from agent.surfaces.slack.notify import web_client

            await web_client(self.settings).chat_postMessage(channel=post["channel"], text=post["text"])
        log.info("webhook post-mortem of %s: thread %s is %s", incident_id, outcome.thread_id,
                 outcome.status)


def _webhook_routes(settings: Settings, events: Events, *, unverifiable: bool) -> tuple[list[Route], Any]:
    """The PagerDuty webhook route, when `agent.surfaces.webhooks` is installed (and, unless
    `unverifiable`, only with a secret to verify deliveries by)."""
    if importlib.util.find_spec("agent.surfaces.webhooks") is None:
        return [], None
    if not unverifiable and not settings.pagerduty_webhook_secrets:
        return [], None
    from agent.surfaces.webhooks import WebhookReceiver

    receiver = WebhookReceiver(settings, events)
    return receiver.routes(), receiver


def create_app(settings: Settings, *, unverifiable_endpoints: bool = True) -> Starlette:
    """The server; nothing opens until the lifespan starts. `serve` passes
    `unverifiable_endpoints=False`: no webhook route without a secret to check it by."""
    events = Events(settings)
    webhook_routes, receiver = _webhook_routes(settings, events, unverifiable=unverifiable_endpoints)
    from agent.intake import IntakeReceiver  # alerts from monitoring: /v2/enqueue, /intake/*

    intake = IntakeReceiver(settings, lambda: events.runner)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from agent.runtime import Context
        from graphs.incident_response import build_graph
        from graphs.postmortem import GRAPH as POSTMORTEM
        from graphs.postmortem import build_graph as build_postmortem

        async with AsyncExitStack() as stack:
            services = await stack.enter_async_context(open_services(settings))
            saver = await stack.enter_async_context(open_checkpointer(settings))
            on_pause = None
            if slack_configured(settings) and settings.slack_channel:
                from agent.surfaces.slack.notify import announcer, web_client

                on_pause = announcer(settings, services, client=web_client(settings))
            # The webhook's post-mortems propose their summary as a note, for a human to approve.
            notes = Context(propose_note=True, slack_channel=settings.slack_channel)
            runners = {"incident_response": Runner(build_graph(), services, saver, surface="slack",
                                                   on_pause=on_pause),
                       POSTMORTEM: Runner(build_postmortem(), services, saver, graph_name=POSTMORTEM,
                                          surface="slack", context=notes, on_pause=on_pause)}
            events.runner = Runner(build_graph(), services, saver, surface="webhook", on_pause=on_pause)
            events.postmortems = Runner(build_postmortem(), services, saver, graph_name=POSTMORTEM,
                                        surface="webhook", context=notes, on_pause=on_pause)
            events.services = services
            app.state.services, app.state.runners = services, runners
            app.state.slack = app.state.slack_handler = None
            if slack_configured(settings):
                await _start_slack(app, settings, services, runners, stack)
            if on_pause is not None:
                from agent.surfaces.slack.notify import announce_pending

                await announce_pending(services, on_pause)
            if receiver is not None:
                receiver.start()
                stack.push_async_callback(receiver.stop)
            stack.push_async_callback(intake.stop)
            app.state.intake = intake
            if on_pause is not None:  # a storm's count shows on its Slack approval
                from agent.surfaces.slack.notify import show_alert_count, web_client

                slack_client = web_client(settings)

                async def recount(thread: str, runner: Runner = events.runner) -> None:
                    await show_alert_count(settings, services, await runner.outcome(thread),
                                           client=slack_client)
                intake.on_join = recount
            await intake.recover()  # accepted alerts whose runs died before a pause
            stack.push_async_callback(  # last in, so first out on shutdown
                stop_work, [*runners.values(), events.runner, events.postmortems], receiver,
                settings.incident_agent_shutdown_grace_s)
            log.info("incident-agent server ready (Slack: %s, webhooks: %s)",
                     "on" if app.state.slack else "off", "on" if receiver else "off")
            yield

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/slack/events", slack_events, methods=["POST"]),
            *webhook_routes,
            *intake.routes(),
        ],
        lifespan=lifespan,
    )


async def _start_slack(
    app: Starlette, settings: Settings, services: Services, runners: dict[str, Runner], stack: AsyncExitStack
) -> None:
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

    from agent.surfaces.slack.app import SlackApprovals, build_slack_app
    from agent.surfaces.slack.notify import web_client
    from agent.surfaces.slack.posts import PostStore

    approvals = SlackApprovals(settings, services, runners, client=web_client(settings),
                               posts=PostStore(settings))
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    socket_mode = settings.slack_socket_mode and settings.slack_app_token is not None
    if secret is None and not socket_mode:
        log.warning("SLACK_SIGNING_SECRET is not set: /slack/events refuses every request")
        return
    bolt = build_slack_app(approvals, secret)
    app.state.slack = approvals
    stack.push_async_callback(_drain, approvals)
    if secret is not None:
        app.state.slack_handler = AsyncSlackRequestHandler(bolt)
    if socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert settings.slack_app_token is not None
        handler = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
        await handler.connect_async()
        stack.push_async_callback(handler.close_async)
        log.info("Slack Socket Mode connected")
    elif settings.slack_socket_mode:
        log.warning("SLACK_SOCKET_MODE is set but SLACK_APP_TOKEN is not: using HTTP events only")


async def stop_work(runners: list[Runner], receiver: Any, grace_s: float) -> None:
    """Shutdown, before anything closes: every runner and the webhook worker stop taking
    work at once, and share one grace for what they have in progress."""
    stopping = [runner.stop(grace_s) for runner in runners]
    if receiver is not None:
        stopping.append(receiver.stop(grace_s))
    await asyncio.gather(*stopping)


async def _drain(approvals: Any) -> None:
    try:
        await approvals.drain()
    except TimeoutError:
        log.warning("shutting down with Slack answers still in flight")


def refusals(settings: Settings) -> list[str]:
    """Why `serve` must not start: an endpoint whose secret is missing, named by its setting.

    An endpoint without its secret can only refuse every request (401/404), which
    looks like a working server from the outside; better to say so at start.
    """
    problems: list[str] = []
    socket_mode = settings.slack_socket_mode and settings.slack_app_token is not None
    if settings.slack_bot_token is not None and settings.slack_signing_secret is None and not socket_mode:
        problems.append("SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: /slack/events cannot "
                        "verify Slack's requests (copy the Signing Secret from the Slack app's Basic "
                        "Information page, or use Socket Mode: SLACK_SOCKET_MODE=true and SLACK_APP_TOKEN)")
    if settings.slack_socket_mode and settings.slack_app_token is None:
        problems.append("SLACK_SOCKET_MODE=true needs SLACK_APP_TOKEN (an xapp- app-level token "
                        "with connections:write)")
    if settings.slack_bot_token is None and (settings.slack_signing_secret or settings.slack_app_token):
        problems.append("SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not: "
                        "approvals cannot be posted (the xoxb- Bot User OAuth Token)")
    intake = any(getattr(settings, name, None) for name in
                 ("intake_routing_keys", "intake_tokens", "intake_hmac_secrets"))
    if not (settings.slack_bot_token or settings.pagerduty_webhook_secrets or intake or problems):
        problems.append("nothing to serve: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (approvals in "
                        "Slack) and/or PAGERDUTY_WEBHOOK_SECRETS (PagerDuty V3 webhooks); see "
                        "docs/pagerduty.md and docs/slack.md")
    return problems


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the server until interrupted (what `incident-agent serve` calls); refuse to
    start (exit 2) an endpoint whose secret is missing, or (exit 1) a database it cannot use."""
    import sys

    import uvicorn

    problems = refusals(settings)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    from agent.surfaces.connecting import database_problem

    unusable = database_problem(settings)  # one line, not the lifespan's traceback
    if unusable is not None:
        print(f"error: {unusable}", file=sys.stderr)
        raise SystemExit(1)
    if not settings.pagerduty_webhook_secrets:
        log.warning("PAGERDUTY_WEBHOOK_SECRETS is not set: /webhooks/pagerduty is not served")
    # uvicorn sets up only its own loggers: the agent's lines (ready, answers, released
    # writes) go to stderr beside them; other libraries speak at warnings only.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:     %(name)s: %(message)s")
    logging.getLogger("agent").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _exit_after_stopping)
    uvicorn.run(create_app(settings, unverifiable_endpoints=False), host=host, port=port,
                log_level="info",
                # Open HTTP requests (acks, 202s) are short: the grace is for writes (stop_work).
                timeout_graceful_shutdown=min(math.ceil(settings.incident_agent_shutdown_grace_s), 5))


def _exit_after_stopping(signum: int, frame: Any) -> None:
    """uvicorn stops gracefully on SIGTERM, then raises it again under the handler it found:
    this one, so an orderly stop exits 0 instead of dying by the signal."""
    raise SystemExit(0)
