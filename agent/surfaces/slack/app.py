"""The slack-bolt app: buttons and modals that answer paused threads.

Every listener acknowledges first (`await ack()`, inside Slack's 3 seconds),
then works: bolt answers Slack's HTTP request as soon as `ack` is called and
lets the listener run on. A click carries only `thread:interrupt`; the
pending request is read from the approval store, the answer goes through
`Runner.resume` (whose compare-and-set makes two simultaneous clicks one
write), and the original message is updated in place with who decided,
from where, what was written and what an edit changed (`notify.show_decision`,
the same rendering a CLI or Studio decision gets). Question menus that are
long are searchable: their options are served here from the pending request.
An edit is checked by the proposal builder before it is answered, so a
refused edit is shown on the form. Anything refused (not an approver, already
decided, unknown) is told to the clicker alone, ephemerally, and changes
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agent.actions import ActionError
from agent.approvals import Approver, PendingApproval, parse_answer
from agent.config import Settings
from agent.runner import AlreadyDecided, Outcome, RefusedAnswer, Runner, UnknownApproval
from agent.runtime import Services
from agent.surfaces.connecting import from_database
from agent.surfaces.slack import blocks, modals
from agent.surfaces.slack.approvers import ApproverDirectory, NotAllowed
from agent.surfaces.slack.asks import action_of, editable_of, schema_of, summary_of
from agent.surfaces.slack.blocks import escape
from agent.surfaces.slack.fields import editable_fields
from agent.surfaces.slack.notify import show_decision
from agent.surfaces.slack.posts import PostStore
from agent.surfaces.slack.questions import chosen_arg, is_question, options_for
from agent.surfaces.slack.refs import BadRef, Ref, decode_choice

__all__ = ["SlackApprovals", "build_slack_app"]

log = logging.getLogger(__name__)

Answer = Callable[[PendingApproval], dict[str, Any]]


class SlackApprovals:
    """The listeners' shared state: who may answer, where threads are, and what is in flight."""

    def __init__(
        self,
        settings: Settings,
        services: Services,
        runners: dict[str, Runner],
        *,
        client: AsyncWebClient,
        posts: PostStore,
    ) -> None:
        self.settings = settings
        self.services = services
        self.runners = runners
        self.client = client
        self.posts = posts
        self.directory = ApproverDirectory(settings, client, services.catalog)
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- in-flight work, so a shutdown (or a test) can wait for clicks being answered

    @asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def drain(self, timeout_s: float = 30.0) -> None:
        async with asyncio.timeout(timeout_s):
            await self._idle.wait()

    # -- telling the clicker alone

    async def tell(self, user_id: str, channel: str | None, text: str) -> None:
        channel = channel or self.settings.slack_channel
        if not channel:
            log.warning("no channel to tell %s: %s", user_id, text)
            return
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user_id, text=escape(text))
        except SlackApiError as exc:
            log.warning("chat.postEphemeral to %s failed: %s", user_id, exc.response.get("error"))

    async def _channel_of(self, thread_id: str) -> str | None:
        post = await self.posts.message_of(thread_id)
        return post.channel if post else None

    # -- the checks every answer goes through

    async def allowed(self, user_id: str, channel: str | None) -> Approver | None:
        try:
            return await self.directory.approver(user_id)
        except NotAllowed:
            log.info("Slack user %s may not answer approvals; refused", user_id)
            await self.tell(
                user_id,
                channel,
                "You are not allowed to answer incident-agent approvals. Nothing was changed.",
            )
            return None

    async def pending(self, ref: Ref, user_id: str, channel: str | None) -> PendingApproval | None:
        """The request this click answers, or None (and the clicker is told why)."""
        try:
            status, pending = await self.services.store.get(ref.thread_id)
        except UnknownApproval:
            await self.tell(
                user_id, channel, f"Unknown approval (thread {ref.thread_id}). Nothing was changed."
            )
            return None
        if pending is None:
            await self.tell(
                user_id,
                channel,
                f"This request was already decided (it is {status}). Nothing was changed.",
            )
            return None
        if pending.interrupt_id != ref.interrupt_id:
            await self.tell(
                user_id,
                channel,
                "This request was already answered and replaced by a newer "
                "one; use the buttons on the updated message. Nothing was changed.",
            )
            return None
        return pending

    # -- answering

    async def decide(
        self,
        ref: Ref,
        user_id: str,
        channel: str | None,
        answer: Answer,
        label: str,
    ) -> None:
        try:
            channel = channel or await self._channel_of(ref.thread_id)
            approver = await self.allowed(user_id, channel)
            if approver is None:
                return
            pending = await self.pending(ref, user_id, channel)
        except Exception as exc:
            if not from_database(exc):
                raise
            # The clicker must not walk away believing it counted (bolt's error log is all
            # they would get otherwise); the buttons stay, for another click later.
            log.warning("thread %s: the database could not be reached for a Slack answer (%s)",
                        ref.thread_id, type(exc).__name__)
            await self.tell(user_id, channel, "The approvals database cannot be reached right "
                            f"now, so your answer to thread {ref.thread_id} did not count and "
                            "nothing was changed. Try again in a minute.")
            return
        if pending is None:
            return
        runner = self.runners.get(pending.graph)
        if runner is None:
            await self.tell(
                user_id, channel, f"This server does not run the {pending.graph} graph."
            )
            return
        try:
            if pending.stranded and answer is _approve:
                # Approved before, and the write stopped midway (its worker died or shut
                # down): going ahead finishes it under that approval, as `retry` does.
                outcome = await runner.retry(ref.thread_id, approver)
            else:
                outcome = await runner.resume(
                    ref.thread_id, answer(pending), approver, interrupt_id=ref.interrupt_id
                )
        except AlreadyDecided:
            await self.tell(
                user_id,
                channel,
                "This request was already decided by someone else. Nothing was changed.",
            )
            return
        except UnknownApproval as exc:
            await self.tell(user_id, channel, f"Unknown approval: {exc}. Nothing was changed.")
            return
        except RefusedAnswer as exc:
            await self.tell(
                user_id, channel, f"Your answer was refused, nothing was changed: {exc}"
            )
            return
        except Exception as exc:
            if not from_database(exc):
                log.exception("resuming thread %s failed", ref.thread_id)
                await self.tell(
                    user_id, channel, f"Answering thread {ref.thread_id} failed; see the server log."
                )
                return
            log.error("thread %s: the database could not be reached during the approved work "
                      "(%s); it is left failed for a retry", ref.thread_id, type(exc).__name__)
            await self.tell(user_id, channel, (
                f"The approvals database could not be reached while thread {ref.thread_id} was "
                "being carried out, so its write may or may not have reached PagerDuty. Once the "
                "database is back, click Approve again (or run `incident-agent retry "
                f"{ref.thread_id}`): it looks in PagerDuty first and never writes twice."))
            return
        log.info(
            "thread %s answered (%s) by %s from Slack: %s",
            ref.thread_id,
            label,
            approver.name,
            outcome.status,
        )
        if outcome.interrupt_id is not None:
            # Paused again: the runner's on_pause already updated the message with the new request.
            refused = outcome.values.get("feedback")
            if refused:
                await self.tell(
                    user_id, channel, f"{refused}. Nothing was written; the request is open again."
                )
            return
        await self.show_verdict(ref.thread_id, outcome, approver)

    async def show_verdict(self, thread_id: str, outcome: Outcome, approver: Approver) -> None:
        try:
            await show_decision(
                self.client,
                self.posts,
                self.services,
                thread_id,
                outcome,
                approver.model_dump(mode="json"),
            )
        except SlackApiError as exc:
            log.warning(
                "chat.update for thread %s failed: %s", thread_id, exc.response.get("error")
            )

    async def open_view(
        self, trigger_id: str, view: Any, user_id: str, channel: str | None
    ) -> None:
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            await self.tell(
                user_id, channel, "Slack did not open the form in time; please click again."
            )


def _approve(pending: PendingApproval) -> dict[str, Any]:
    return {"decisions": [{"type": "approve"}]}


def _edit(pending: PendingApproval, edits: dict[str, Any]) -> dict[str, Any]:
    """An edit decision: the pending args (without the derived call) with `edits` applied."""
    act = action_of(pending.request)
    args = {k: v for k, v in (act.get("args") or {}).items() if k not in ("api_call", "candidates")}
    return {
        "decisions": [
            {"type": "edit", "edited_action": {"name": act["name"], "args": {**args, **edits}}}
        ]
    }


def _choose(arg: str, chosen: str) -> Answer:
    def answer(pending: PendingApproval) -> dict[str, Any]:
        name = action_of(pending.request)["name"]
        return {
            "decisions": [{"type": "edit", "edited_action": {"name": name, "args": {arg: chosen}}}]
        }

    return answer


def _reject_with(reason: str) -> Answer:
    return lambda pending: {"decisions": [{"type": "reject", "message": reason}]}


def _click(body: dict[str, Any]) -> tuple[str, str | None, tuple[str, str] | None]:
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
    return user, channel, (channel, ts) if channel and ts else None


def build_slack_app(approvals: SlackApprovals, signing_secret: str | None) -> AsyncApp:
    """The bolt app; `signing_secret` None only for Socket Mode (no HTTP requests to verify)."""
    app = AsyncApp(
        client=approvals.client,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        logger=logging.getLogger("agent.surfaces.slack.bolt"),
    )
    a = approvals

    def approving(verb: str) -> Callable[..., Awaitable[None]]:
        """Approve and Retry are one answer (go ahead) told in two words."""

        async def on_click(ack, body, action) -> None:  # noqa: ANN001 -- bolt injects by name
            async with a.working():  # counted from before the ack, so drain() cannot miss it
                await ack()
                user, channel, _ = _click(body)
                ref = await _ref(a, action.get("value"), user, channel)
                if ref:
                    await a.decide(ref, user, channel, _approve, verb)

        return on_click

    app.action(blocks.APPROVE)(approving("approved"))
    app.action(blocks.RETRY)(approving("retried"))

    @app.action(blocks.EDIT)
    async def on_edit(ack, body, action) -> None:  # noqa: ANN001
        async with a.working():
            await ack()
            clicked = await _clicked_pending(a, body, action, approvers_only=True)
            if clicked is None:
                return
            ref, pending, user, channel = clicked
            act = action_of(pending.request)
            fields = editable_fields(schema_of(pending.request), editable_of(act.get("name", "")))
            if not fields:
                await a.tell(
                    user, channel, f"{act.get('name')} has nothing to edit; approve or reject it."
                )
                return
            catalog = await a.services.catalog.get()
            view = modals.edit_modal(
                ref, fields, act.get("args") or {}, catalog, summary_of(pending.request)
            )
            await a.open_view(body["trigger_id"], view, user, channel)

    @app.action(blocks.REJECT)
    async def on_reject(ack, body, action) -> None:  # noqa: ANN001
        async with a.working():
            await ack()
            clicked = await _clicked_pending(a, body, action, approvers_only=True)
            if clicked is not None:
                ref, pending, user, channel = clicked
                if is_question(pending.request):
                    view = modals.reject_modal(
                        ref,
                        pending.prompt or summary_of(pending.request),
                        title="Drop the request",
                        submit="Drop it",
                    )
                else:
                    view = modals.reject_modal(ref, summary_of(pending.request))
                await a.open_view(body["trigger_id"], view, user, channel)

    @app.action(blocks.CLOSE)
    async def on_close(ack, body, action) -> None:  # noqa: ANN001
        async with a.working():
            await ack()
            clicked = await _clicked_pending(a, body, action, approvers_only=True)
            if clicked is not None:
                ref, pending, user, channel = clicked
                error = (
                    (action_of(pending.request).get("args") or {}).get("error")
                    or pending.error
                    or ""
                )
                view = modals.reject_modal(
                    ref,
                    f"Close without writing. It failed: {error}",
                    title="Close without writing",
                    submit="Close it",
                )
                await a.open_view(body["trigger_id"], view, user, channel)

    @app.action(blocks.SHOW_CALL)
    async def on_show_call(ack, body, action) -> None:  # noqa: ANN001
        async with a.working():
            await ack()
            # Reading the exact call is open to anyone in the channel; answering is not.
            clicked = await _clicked_pending(a, body, action, approvers_only=False)
            if clicked is None:
                return
            _, pending, user, channel = clicked
            call = (action_of(pending.request).get("args") or {}).get("api_call")
            if call:
                await a.open_view(body["trigger_id"], modals.api_call_modal(call), user, channel)

    @app.action(blocks.CHOOSE)
    async def on_choose(ack, body, action) -> None:  # noqa: ANN001
        async with a.working():
            await ack()
            user, channel, _ = _click(body)
            try:
                ref, chosen = decode_choice((action.get("selected_option") or {}).get("value"))
            except BadRef:
                await a.tell(
                    user, channel, "That choice is not one this app offered. Nothing was changed."
                )
                return
            pending = await a.pending(ref, user, channel)
            arg = chosen_arg(action_of(pending.request).get("args") or {}) if pending else None
            if pending is None or arg is None:
                return
            await a.decide(ref, user, channel, _choose(arg, chosen), "chosen")

    @app.options(blocks.CHOOSE)
    async def on_choose_options(ack, body) -> None:  # noqa: ANN001
        """A searchable question menu: the pending request's candidates matching what was typed."""
        try:
            ref = Ref.decode(body.get("block_id"))
            _, pending = await a.services.store.get(ref.thread_id)
        except (BadRef, UnknownApproval):
            await ack(options=[])
            return
        if pending is None or pending.interrupt_id != ref.interrupt_id:
            await ack(options=[])
            return
        candidates = (action_of(pending.request).get("args") or {}).get("candidates") or []
        await ack(
            options=[
                o.to_dict() for o in options_for(ref, candidates, str(body.get("value") or ""))
            ]
        )

    @app.options(modals.PICK)
    async def on_pick_options(ack, body) -> None:  # noqa: ANN001
        """A searchable form menu (a long list of users, services, …): the catalog, filtered."""
        try:
            ref = Ref.decode((body.get("view") or {}).get("private_metadata"))
            _, pending = await a.services.store.get(ref.thread_id)
        except (BadRef, UnknownApproval):
            await ack(options=[])
            return
        name = str(body.get("block_id") or "").removeprefix("field_")
        if pending is None:
            await ack(options=[])
            return
        catalog = await a.services.catalog.get()
        options = modals.pick_options(
            name, schema_of(pending.request), catalog, str(body.get("value") or "")
        )
        await ack(options=[o.to_dict() for o in options])

    @app.view(modals.EDIT_VIEW)
    async def on_edit_submitted(ack, body, view) -> None:  # noqa: ANN001
        async with a.working():
            user = body["user"]["id"]
            checked = await _check_edit(a, view)
            if isinstance(checked, dict):  # refused: shown on the form, nothing sent
                await ack(response_action="errors", errors=checked)
                return
            await ack()
            if checked is None:
                await a.tell(
                    user, None, "This request was already decided or replaced. Nothing was changed."
                )
                return
            ref, edits = checked
            await a.decide(
                ref, user, None, lambda pending: _edit(pending, edits), "approved with edits"
            )

    @app.view(modals.REJECT_VIEW)
    async def on_reject_submitted(ack, body, view) -> None:  # noqa: ANN001
        async with a.working():
            await ack()
            user = body["user"]["id"]
            ref = await _ref(a, view.get("private_metadata"), user, None)
            if ref:
                reason = modals.read_reason((view.get("state") or {}).get("values") or {})
                await a.decide(ref, user, None, _reject_with(reason), "rejected")

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack listener failed: %s: %s", type(error).__name__, error)

    return app


async def _check_edit(
    a: SlackApprovals, view: dict[str, Any]
) -> dict[str, str] | tuple[Ref, dict[str, Any]] | None:
    """Read a submitted edit and run it through the proposal builder before answering.

    Returns the form's errors (block id -> message) when the builder or the
    answer check refuses it, the reference and edits when it passes, or None
    when the request no longer waits. Only local work (SQLite, the cached
    catalog), so it fits in Slack's 3 seconds and the error lands on the form.
    """
    try:
        ref = Ref.decode(view.get("private_metadata"))
        _, pending = await a.services.store.get(ref.thread_id)
    except (BadRef, UnknownApproval):
        return None
    if pending is None or pending.interrupt_id != ref.interrupt_id:
        return None
    act = action_of(pending.request)
    args = act.get("args") or {}
    fields = editable_fields(schema_of(pending.request), editable_of(act.get("name", "")))
    if not fields:
        return None
    edits = modals.read_edit(fields, (view.get("state") or {}).get("values") or {})
    try:
        allowed = [str(d) for d in pending.request["review_configs"][0]["allowed_decisions"]]
        parse_answer(_edit(pending, edits), allowed)
        modals.check_edit(act["name"], args, edits, await a.services.catalog.get())
    except (ActionError, ValueError) as exc:
        message = str(exc).removeprefix(f"{act['name']}: ")
        return {modals.error_field(message, fields, edits, args): message[:2000]}
    return ref, edits


async def _clicked_pending(
    a: SlackApprovals, body: dict[str, Any], action: dict[str, Any], *, approvers_only: bool
) -> tuple[Ref, PendingApproval, str, str | None] | None:
    """The approval a button belongs to, if it still waits; each refusal is told to the user."""
    user, channel, _ = _click(body)
    ref = await _ref(a, action.get("value"), user, channel)
    if ref is None or (approvers_only and not await a.allowed(user, channel)):
        return None
    pending = await a.pending(ref, user, channel)
    return None if pending is None else (ref, pending, user, channel)


async def _ref(a: SlackApprovals, value: str | None, user: str, channel: str | None) -> Ref | None:
    try:
        return Ref.decode(value)
    except BadRef:
        await a.tell(user, channel, "That button does not belong to this app. Nothing was changed.")
        return None
