"""Start and resume graph threads; the one door every surface goes through.

Surfaces (CLI, Slack, webhooks) never call a graph directly: the runner
compiles it with the checkpointer, records pauses in the approval store, and
on resume checks the interrupt id against the thread's pending interrupts
(LangGraph silently ignores unknown ids, langgraph#8836) and wins the
compare-and-set claim, so two answers at once produce one write.

A claim records the answer and a lease. If the process dies mid-write the
thread shows as failed (`approvals`), and `retry` takes the claim over and
finishes under the recorded approval; the write itself looks in PagerDuty
before it sends again, so nothing lands twice.

A server shutting down calls `stop(grace_s)`: no new answer is taken, writes in
progress get the grace to finish, and the rest are cancelled with their claims
released as failed, so another worker's `retry` need not wait for the lease.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.types import Command
from pydantic import ValidationError

from agent.actions import ACTIONS, ActionError, Proposal, rebuild_proposal
from agent.approvals import (
    Approver,
    NothingToRetry,
    PendingApproval,
    RefusedAnswer,
    parse_answer,
    pause_kind,
)
from agent.approvals.store import LEASE_S, AlreadyDecided, Claim, UnknownApproval
from agent.pagerduty.errors import PagerDutyError, plain
from agent.runtime import Context, Services

log = logging.getLogger(__name__)

__all__ = ["AlreadyDecided", "NothingToRetry", "Outcome", "RefusedAnswer", "Runner", "UnknownApproval"]

APPROVE: dict[str, Any] = {"decisions": [{"type": "approve"}]}
STOPPED = "the server shut down before the write finished"
CANCEL_WAIT_S = 10.0
"""After the grace: how long a cancelled write gets to release its claim."""


INTERRUPTS = "__interrupt__"
"""The key under which LangGraph's stream gives a run's pauses."""


@dataclass(frozen=True)
class Stopped:
    """Where a run stopped: what `aget_state` reads back (its values and pauses)."""

    values: dict[str, Any]
    interrupts: tuple[Any, ...]


@dataclass
class Outcome:
    thread_id: str
    status: str
    """awaiting_approval, needs_input, failed, done, rejected, not_incident or error."""
    report: str = ""
    interrupt_id: str | None = None
    request: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return self.values.get("error") if self.status == "failed" else None

    def as_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "status": self.status,
            "report": self.report,
            "error": self.error,
            "interrupt_id": self.interrupt_id,
            "request": self.request,
            "proposal": self.values.get("proposal"),
            "result": self.values.get("result"),
        }


OnPause = Callable[[Outcome], Awaitable[None]]


class Runner:
    def __init__(
        self,
        builder: StateGraph[Any, Any, Any, Any],
        services: Services,
        checkpointer: BaseCheckpointSaver,
        *,
        graph_name: str = "incident_response",
        surface: str = "cli",
        context: Context | None = None,
        on_pause: OnPause | None = None,
        on_decided: OnPause | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        """`context`: the graph's run-time options (services, surface and look_only are
        the runner's own and set on every run)."""
        self.graph = builder.compile(checkpointer=checkpointer, name=graph_name)
        self.services = services
        self.graph_name = graph_name
        self.surface = surface
        self.context = context or Context()
        self.on_pause = on_pause
        self.on_decided = on_decided
        self.on_step = on_step
        self.stopping = False
        self._writing: set[asyncio.Task[Any]] = set()

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    async def start(
        self,
        inputs: dict[str, Any],
        thread_id: str | None = None,
        *,
        prompt: str | None = None,
        durability: Literal["sync", "exit"] = "sync",
    ) -> Outcome:
        """Run a new thread to its end or its first pause.

        `prompt` names the thread in `approvals` (the input's prompt by default).
        `durability="exit"` (one checkpoint when the run stops, not one per step) is for
        graphs that write nothing before their first pause, as the post-mortem's reads.
        """
        thread_id = thread_id or uuid.uuid4().hex[:12]
        stopped = await self._drive(inputs, thread_id, durability=durability)
        return await self._settle(thread_id, prompt=prompt or str(inputs.get("prompt", "")),
                                  stopped=stopped)

    async def resume(
        self,
        thread_id: str,
        answer: dict[str, Any],
        approver: Approver,
        *,
        interrupt_id: str | None = None,
    ) -> Outcome:
        """Answer a paused thread from any process; refused answers change nothing."""
        (status, pending), live = await asyncio.gather(  # two reads, one wait
            self.services.store.get(thread_id), self.graph.aget_state(self._config(thread_id)))
        if pending is None:
            raise AlreadyDecided(f"thread {thread_id} is not waiting for an answer (it is {status})")
        if interrupt_id is not None and interrupt_id != pending.interrupt_id:
            raise UnknownApproval(f"interrupt {interrupt_id} is not the one thread {thread_id} waits on")
        value = {**answer, "approver": approver.model_dump(mode="json")}
        if pending.stranded:
            if _kind(answer) == "reject":
                return await self._recover(thread_id, pending, approver, close_with=value)
            raise AlreadyDecided(
                f"thread {thread_id} was already approved and its write stopped midway: "
                f"`incident-agent retry {thread_id}` finishes it, `reject` closes it"
            )
        if pending.interrupt_id not in {i.id for i in live.interrupts}:
            pending, live = await self._reach_pause(thread_id, pending, live)
        allowed = [str(d) for d in pending.request["review_configs"][0]["allowed_decisions"]]
        try:
            decision = parse_answer(value, allowed)
        except ValueError as exc:
            raise RefusedAnswer(str(exc)) from None
        if decision.type == "edit":
            await self._check_edit(pending.request, live.values, decision.edited_args or {})
        with self._writing_now():
            claim = await self.services.store.claim(
                thread_id, pending.interrupt_id, by=approver.name, answer=value
            )
            return await self._drive_claimed(
                claim, Command(resume={pending.interrupt_id: value}), thread_id, pending.prompt
            )

    async def retry(self, thread_id: str, approver: Approver) -> Outcome:
        """Finish an approved write that failed or stopped midway, under its approval."""
        status, pending = await self.services.store.get(thread_id)
        if pending is None:
            raise NothingToRetry(f"thread {thread_id} has nothing to retry (it is {status})")
        if pending.stranded:
            return await self._recover(thread_id, pending, approver)
        if pending.kind == "failed":
            return await self.resume(thread_id, APPROVE, approver, interrupt_id=pending.interrupt_id)
        raise NothingToRetry(
            f"thread {thread_id} has no failed write: it waits for an answer ({pending.kind})"
        )

    async def _recover(
        self,
        thread_id: str,
        pending: PendingApproval,
        approver: Approver,
        close_with: dict[str, Any] | None = None,
    ) -> Outcome:
        """Take over a claim whose holder stopped, and carry on from where the graph is.

        To retry, the write runs again (after the look for an earlier landing).
        To close, the graph only looks: what landed is reported, nothing is sent.
        """
        with self._writing_now():
            return await self._recover_claimed(thread_id, pending, approver, close_with)

    async def _recover_claimed(
        self,
        thread_id: str,
        pending: PendingApproval,
        approver: Approver,
        close_with: dict[str, Any] | None,
    ) -> Outcome:
        store = self.services.store
        claim = await store.claim(thread_id, pending.interrupt_id, by=approver.name, take_over=True)
        live = await self.graph.aget_state(self._config(thread_id))
        if pending.interrupt_id in {i.id for i in live.interrupts}:
            if pending.answer is None:  # nothing was decided after all: ask again
                await store.release(claim)
                return await self._settle(thread_id, prompt=pending.prompt)
            inputs: Any = Command(resume={pending.interrupt_id: pending.answer})
        elif live.next:
            inputs = None  # continue the step that was running (execute)
        else:
            return await self._settle(thread_id, prompt=pending.prompt)
        outcome = await self._drive_claimed(
            claim, inputs, thread_id, pending.prompt, look_only=close_with is not None
        )
        if close_with is not None and outcome.status == "failed":
            return await self.resume(thread_id, close_with, approver, interrupt_id=outcome.interrupt_id)
        return outcome

    async def _reach_pause(
        self, thread_id: str, pending: PendingApproval, live: Any
    ) -> tuple[PendingApproval, Any]:
        """A pause the store lists but the checkpoints lack: the process died after recording
        it and before saving the step. Run the asking step again (nothing is sent before a
        question), or, with no checkpoint to run from, close the record so it stops being listed."""
        if not live.interrupts and live.next:
            await self._drive(None, thread_id)
            live = await self.graph.aget_state(self._config(thread_id))
            _, again = await self.services.store.get(thread_id)
            if again is not None and again.interrupt_id in {i.id for i in live.interrupts}:
                return again, live
        elif not live.values:
            await self.services.store.record_finish(
                thread_id, graph=pending.graph, prompt=pending.prompt, status="error")
            raise UnknownApproval(
                f"thread {thread_id} stopped before its question was saved, and nothing was "
                f"written: ask again ({pending.prompt!r})")
        raise UnknownApproval(f"thread {thread_id} has no pending interrupt {pending.interrupt_id}")

    async def _check_edit(
        self, request: dict[str, Any], values: dict[str, Any], edits: dict[str, Any]
    ) -> None:
        """Refuse an edit the builder would refuse, before anything is claimed or written."""
        name = request["action_requests"][0]["name"]
        if name not in ACTIONS or not values.get("proposal"):
            return
        action = ACTIONS[name]
        proposal = Proposal.model_validate(values["proposal"])
        unknown = sorted(k for k, v in edits.items()
                         if k not in action.editable and proposal.fields.get(k) != v)
        if unknown:
            raise RefusedAnswer(
                f"{', '.join(unknown)} cannot be edited on {name}; editable: "
                f"{', '.join(action.editable) or 'nothing'}"
            )
        try:
            rebuild_proposal(proposal, edits, await self.services.catalog.get())
        except ActionError as exc:
            raise RefusedAnswer(str(exc)) from None

    async def _drive_claimed(
        self, claim: Claim, inputs: Any, thread_id: str, prompt: str, *, look_only: bool = False
    ) -> Outcome:
        """Run under a claim: renew its lease while working; on any failure leave the
        thread visibly failed (never stranded silently), with the reason."""
        store = self.services.store

        async def keep_lease() -> None:
            while True:
                await asyncio.sleep(LEASE_S / 3)
                await store.renew(claim)

        renewing = asyncio.create_task(keep_lease())
        try:
            # One checkpoint when the run stops, not one per step: under a claim the store
            # holds the answer (`claim`), and each write its record (`WriteOnce`), before
            # anything is sent. A process that dies midway leaves the thread at its question,
            # claimed with the answer; `retry` (or another worker's Approve) drives it again
            # with that answer and finds what landed. Three steps' checkpoints cost 9 ms of
            # the 40 a resume took (bench.paused_threads); a question re-asked costs nothing.
            stopped = await self._drive(inputs, thread_id, look_only=look_only, durability="exit")
        except ValidationError as exc:
            await store.release(claim)
            raise RefusedAnswer(f"malformed answer: {exc.errors()[0]['msg']}") from None
        except asyncio.CancelledError:  # `stop` after its grace: failed now, not at lease end
            await asyncio.shield(store.release(claim, error=STOPPED))
            raise
        except Exception as exc:
            reason = plain(exc) if isinstance(exc, PagerDutyError) else f"{type(exc).__name__}: {exc}"
            await store.release(claim, error=reason)
            raise
        finally:
            renewing.cancel()
        outcome = await self._settle(thread_id, prompt=prompt, stopped=stopped)
        if self.on_decided is not None:
            try:
                await self.on_decided(outcome)
            except Exception:  # Slack being down must not undo a decision
                log.exception("announcing the decision on thread %s failed", thread_id)
        return outcome

    @contextmanager
    def _writing_now(self) -> Iterator[None]:
        """Count this task among the writes `stop` waits for; refuse when stopping."""
        if self.stopping:
            raise RefusedAnswer("this worker is shutting down; answer again and another worker will take it")
        task = asyncio.current_task()
        assert task is not None  # the runner is only awaited from tasks
        self._writing.add(task)
        try:
            yield
        finally:
            self._writing.discard(task)

    async def stop(self, grace_s: float) -> None:
        """For a shutdown: take no new answer; let the writes in progress finish within
        `grace_s`, then cancel the rest, which release their claims as failed."""
        self.stopping = True
        writing = set(self._writing)
        if not writing:
            return
        log.info("waiting up to %.0f s for %d write(s) in progress", grace_s, len(writing))
        _, late = await asyncio.wait(writing, timeout=grace_s)
        if late:
            log.warning("%d write(s) did not finish within %.0f s: released for `retry`",
                        len(late), grace_s)
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=CANCEL_WAIT_S)

    async def _drive(self, inputs: Any, thread_id: str, *, look_only: bool = False,
                     durability: Literal["sync", "exit"] = "sync") -> Stopped | None:
        """Run until the graph ends or pauses; where it stopped, as its stream last said
        (the state `aget_state` would read back, without reading it back)."""
        context = dataclasses.replace(self.context, services=self.services, surface=self.surface,
                                      look_only=look_only)
        last: dict[str, Any] | None = None
        # "sync" unless told: a checkpoint per step. Runs under a claim say "exit"
        # (`_drive_claimed`), as do the post-mortem's first runs (reads only).
        async for mode, chunk in self.graph.astream(  # type: ignore[call-overload]
            inputs, self._config(thread_id), context=context, stream_mode=["updates", "values"],
            durability=durability,
        ):
            if mode == "values":
                last = cast(dict[str, Any], chunk)
            elif self.on_step is not None:
                for node in chunk:
                    self.on_step(node)
        if last is None:
            return None
        values = {k: v for k, v in last.items() if k != INTERRUPTS}
        return Stopped(values, tuple(last.get(INTERRUPTS, ())))

    async def pending(self) -> list[PendingApproval]:
        return [p for p in await self.services.store.pending() if p.graph == self.graph_name]

    async def outcome(self, thread_id: str) -> Outcome:
        snapshot = await self.graph.aget_state(self._config(thread_id))
        if not snapshot.values:
            raise UnknownApproval(f"no thread {thread_id!r}")
        return self._read(thread_id, snapshot)

    def _read(self, thread_id: str, snapshot: Any) -> Outcome:
        values = dict(snapshot.values)
        if snapshot.interrupts:
            intr = snapshot.interrupts[0]
            status = pause_kind(intr.value)
            text = intr.value["action_requests"][0].get("description", "")
            return Outcome(thread_id, status, text, intr.id, intr.value, values)
        report = values.get("report", "")
        if not isinstance(report, str):  # the post-mortem's report is its JSON; its text, one line
            report = values.get("summary") or values.get("error") or ""
        return Outcome(thread_id, values.get("status", "done"), report, values=values)

    async def _settle(self, thread_id: str, *, prompt: str, stopped: Stopped | None = None) -> Outcome:
        snapshot = stopped or await self.graph.aget_state(self._config(thread_id))
        outcome = self._read(thread_id, snapshot)
        store = self.services.store
        if outcome.interrupt_id and outcome.request is not None:
            await store.record_pause(
                thread_id,
                graph=self.graph_name,
                interrupt_id=outcome.interrupt_id,
                kind=outcome.status,
                prompt=prompt,
                request=outcome.request,
                error=outcome.error,
            )
            if self.on_pause is not None:
                try:
                    await self.on_pause(outcome)
                except Exception:  # a failed Slack post must not lose the paused thread
                    log.exception("announcing the pause of thread %s failed", thread_id)
        else:
            await store.record_finish(thread_id, graph=self.graph_name, prompt=prompt, status=outcome.status)
        return outcome


def _kind(answer: dict[str, Any]) -> str | None:
    decisions = answer.get("decisions") or [{}]
    return decisions[0].get("type") if isinstance(decisions[0], dict) else None
