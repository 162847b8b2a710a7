"""Keep a thread's Slack message in step with the thread, from whichever process moves it.

- `announcer(settings, services)`: the runner's `on_pause`. It posts one
  message per thread to `settings.slack_channel` and records it by interrupt
  id in the checkpoint's SQLite file, so announcing the same pause again
  posts nothing. A later pause of the same thread (an edit refused, a service
  chosen, a write that failed) updates that message in place, with fresh
  buttons for the new interrupt.
- `show_alert_count(...)`: a storm of alerts joined a thread's run (intake):
  its waiting message is drawn again with the count and the latest alert.
- `decided(settings, services, thread_id, outcome)`: after any decision, from
  any surface (CLI, Studio, Slack), the message shows who decided, from
  where, what was written and what the edit changed, and loses its buttons.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from agent.config import Settings
from agent.surfaces.slack.asks import build_ask
from agent.surfaces.slack.blocks import fallback_text, request_blocks
from agent.surfaces.slack.posts import PostStore
from agent.surfaces.slack.refs import Ref
from agent.surfaces.slack.verdict import decided_blocks, decided_text, verdict_of

if TYPE_CHECKING:
    from agent.runner import Outcome
    from agent.runtime import Services

__all__ = [
    "announce_pending",
    "announcer",
    "decided",
    "show_alert_count",
    "show_decision",
    "web_client",
]

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client; the bot token leaves its SecretStr only here."""
    if settings.slack_bot_token is None:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
    )
    # Slack's 429 carries Retry-After; slack-sdk's own handler honours it (twice at most).
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def announcer(
    settings: Settings,
    services: Services,
    *,
    client: AsyncWebClient | None = None,
    posts: PostStore | None = None,
) -> Callable[[Outcome], Awaitable[None]]:
    if not settings.slack_channel:
        raise ValueError("SLACK_CHANNEL is not set")
    channel = settings.slack_channel
    slack = client or web_client(settings)
    store = posts or PostStore(settings)

    async def announce(outcome: Outcome) -> None:
        if outcome.interrupt_id is None or outcome.request is None:
            return
        if not await store.reserve(outcome.interrupt_id, outcome.thread_id):
            log.debug(
                "interrupt %s of thread %s was already announced",
                outcome.interrupt_id,
                outcome.thread_id,
            )
            return
        try:
            ref = Ref(outcome.thread_id, outcome.interrupt_id)
            catalog = await services.catalog.get()
            ask = build_ask(ref, outcome.request, catalog, outcome.values)
            blocks, text = request_blocks(ask), fallback_text(ask)
            await _with_alert_count(blocks, settings, outcome.thread_id)
            earlier = await store.message_of(outcome.thread_id)
            if earlier is not None:
                await slack.chat_update(
                    channel=earlier.channel, ts=earlier.ts, text=text, blocks=blocks
                )
                where = (earlier.channel, earlier.ts)
            else:
                resp = await slack.chat_postMessage(channel=channel, text=text, blocks=blocks)
                where = (str(resp["channel"]), str(resp["ts"]))
            await store.record(outcome.interrupt_id, *where, request=outcome.request)
            log.info(
                "thread %s: approval request %s shown in Slack (%s %s)",
                outcome.thread_id,
                "updated" if earlier else "posted",
                *where,
            )
        except BaseException:
            await store.forget(outcome.interrupt_id)
            raise

    return announce


async def _with_alert_count(blocks: list, settings: Settings, thread_id: str) -> None:
    """Add `200 alerts about this; latest: …` under the summary, when a storm joined."""
    from slack_sdk.models.blocks import ContextBlock

    from agent.intake.store import rows_for_threads, storm_line
    from agent.surfaces.slack.blocks import escape, md

    rows = await asyncio.to_thread(rows_for_threads, settings, [thread_id])
    line = storm_line(rows.get(thread_id))
    if line:
        note = ContextBlock(elements=[md(f":rotating_light: {escape(line)}")])
        blocks.insert(min(2, len(blocks)), note)


async def show_alert_count(
    settings: Settings,
    services: Services,
    outcome: Outcome,
    *,
    client: AsyncWebClient | None = None,
    posts: PostStore | None = None,
) -> bool:
    """Draw a waiting thread's message again with its alert count; False when the
    thread has no message or no longer waits (a decided message keeps its verdict)."""
    if outcome.interrupt_id is None or outcome.request is None:
        return False
    earlier = await (posts or PostStore(settings)).message_of(outcome.thread_id)
    if earlier is None:
        return False
    ask = build_ask(Ref(outcome.thread_id, outcome.interrupt_id), outcome.request,
                    await services.catalog.get(), outcome.values)  # fmt: skip
    blocks = request_blocks(ask)
    await _with_alert_count(blocks, settings, outcome.thread_id)
    await (client or web_client(settings)).chat_update(
        channel=earlier.channel, ts=earlier.ts, text=fallback_text(ask), blocks=blocks
    )
    return True


async def announce_pending(
    services: Services, announce: Callable[[Outcome], Awaitable[None]]
) -> int:
    """Show every thread still waiting whose post never happened (Slack was down, say).

    Run at server start; threads already shown are skipped by the announcer's
    reservation, so this posts nothing twice. Returns how many were tried.
    """
    from agent.runner import Outcome

    tried = 0
    for pending in await services.store.pending():
        outcome = Outcome(
            pending.thread_id,
            pending.kind,
            pending.request["action_requests"][0].get("description", ""),
            pending.interrupt_id,
            pending.request,
            {"prompt": pending.prompt},
        )
        try:
            await announce(outcome)
            tried += 1
        except Exception as exc:  # one failed post must not stop the server or the others
            log.warning("could not show pending thread %s in Slack: %s", pending.thread_id, exc)
    return tried


async def show_decision(
    slack: AsyncWebClient,
    posts: PostStore,
    services: Services,
    thread_id: str,
    outcome: Outcome,
    approver: dict[str, object] | None = None,
) -> bool:
    """Replace the thread's message by its decision, once; False when there was nothing to do.

    A thread that paused again (a refused edit, a failed write) is shown by the
    announcer instead. `approver` names who answered when the thread's values
    do not (a question answered, then the run ended without a write).
    """
    if outcome.interrupt_id is not None:
        return False
    found = await posts.latest(thread_id)
    if found is None:
        return False
    post, shown, closed = found
    if closed or not await posts.close(post.interrupt_id):
        return False
    catalog = await services.catalog.get()
    verdict = verdict_of(outcome.status, outcome.values, outcome.report, shown, catalog, approver)
    await slack.chat_update(
        channel=post.channel, ts=post.ts, text=decided_text(verdict), blocks=decided_blocks(verdict)
    )
    log.info("thread %s: decision shown in Slack (%s %s)", thread_id, post.channel, post.ts)
    return True


async def decided(
    settings: Settings,
    services: Services,
    thread_id: str,
    outcome: Outcome,
    *,
    client: AsyncWebClient | None = None,
    posts: PostStore | None = None,
) -> bool:
    """After any decision, from any surface: update the thread's Slack message (buttons removed).

    Safe to call from every process after every resume: without Slack settings,
    without a message for the thread, or when the decision is already shown,
    it does nothing; a Slack failure is logged, never raised. True when the
    message was updated.
    """
    if not (settings.slack_bot_token and settings.slack_channel):
        return False
    try:
        return await show_decision(
            client or web_client(settings),
            posts or PostStore(settings),
            services,
            thread_id,
            outcome,
        )
    except Exception as exc:  # the decision stands whatever Slack says
        log.warning("could not show the decision of thread %s in Slack: %s", thread_id, exc)
        return False
