"""Start and resume graph threads; the one door every surface goes through.

Surfaces (CLI, Slack, webhooks) never call a graph directly: the runner
compiles it with the checkpointer, records pauses in the approval store, and
on resume checks the interrupt id against the thread's pending interrupts
(LangGraph silently ignores unknown ids, langgraph#8836) and wins the
compare-and-set claim, so two answers at once produce one write.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.types import Command
from pydantic import ValidationError

from agent.approvals import Approver, PendingApproval, parse_answer
from agent.approvals.store import AlreadyDecided, UnknownApproval
from agent.runtime import Context, Services

log = logging.getLogger(__name__)

ASKS_FOR_INPUT = {"choose_service", "choose_person", "choose_schedule", "choose_incident"}

__all__ = ["AlreadyDecided", "Outcome", "RefusedAnswer", "Runner", "UnknownApproval"]


class RefusedAnswer(ValueError):
    """An answer that does not fit the pending request; nothing was changed."""


@dataclass
class Outcome:
    thread_id: str
    status: str
    """awaiting_approval, needs_input, done, rejected, not_incident or error."""
    report: str = ""
    interrupt_id: str | None = None
    request: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "status": self.status,
            "report": self.report,
            "interrupt_id": self.interrupt_id,
            "request": self.request,
            "proposal": self.values.get("proposal"),
            "result": self.values.get("result"),
        }


OnPause = Callable[[Outcome], Awaitable[None]]


class Runner:
    def __init__(
        self,
        builder: StateGraph,
        services: Services,
        checkpointer: BaseCheckpointSaver,
        *,
        graph_name: str = "incident_response",
        surface: str = "cli",
        on_pause: OnPause | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.graph = builder.compile(checkpointer=checkpointer, name=graph_name)
        self.services = services
        self.graph_name = graph_name
        self.surface = surface
        self.on_pause = on_pause
        self.on_step = on_step

    def _config(self, thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}}

    def _context(self) -> Context:
        return Context(services=self.services, surface=self.surface)

    async def start(self, inputs: dict[str, Any], thread_id: str | None = None) -> Outcome:
        thread_id = thread_id or uuid.uuid4().hex[:12]
        await self._drive(inputs, thread_id)
        return await self._settle(thread_id, prompt=str(inputs.get("prompt", "")))

    async def resume(
        self,
        thread_id: str,
        answer: dict[str, Any],
        approver: Approver,
        *,
        interrupt_id: str | None = None,
    ) -> Outcome:
        """Answer a paused thread from any process; refused answers change nothing."""
        status, pending = await self.services.store.get(thread_id)
        if pending is None:
            raise AlreadyDecided(f"thread {thread_id} is not waiting for an answer (it is {status})")
        if interrupt_id is not None and interrupt_id != pending.interrupt_id:
            raise UnknownApproval(f"interrupt {interrupt_id} is not the one thread {thread_id} waits on")
        live = await self.graph.aget_state(self._config(thread_id))
        if pending.interrupt_id not in {i.id for i in live.interrupts}:
            raise UnknownApproval(f"thread {thread_id} has no pending interrupt {pending.interrupt_id}")
        allowed = [str(d) for d in pending.request["review_configs"][0]["allowed_decisions"]]
        value = {**answer, "approver": approver.model_dump(mode="json")}
        try:
            parse_answer(value, allowed)
        except ValueError as exc:
            raise RefusedAnswer(str(exc)) from None
        claim = await self.services.store.claim(thread_id, pending.interrupt_id, by=approver.name)
        try:
            await self._drive(Command(resume={pending.interrupt_id: value}), thread_id)
        except ValidationError as exc:
            await self.services.store.release(claim)
            raise RefusedAnswer(f"malformed answer: {exc.errors()[0]['msg']}") from None
        return await self._settle(thread_id, prompt=pending.prompt)

    async def _drive(self, inputs: Any, thread_id: str) -> None:
        async for update in self.graph.astream(
            inputs, self._config(thread_id), context=self._context(), stream_mode="updates"
        ):
            if self.on_step is not None:
                for node in update:
                    self.on_step(node)

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
            name = intr.value["action_requests"][0]["name"]
            status = "needs_input" if name in ASKS_FOR_INPUT else "awaiting_approval"
            text = intr.value["action_requests"][0].get("description", "")
            return Outcome(thread_id, status, text, intr.id, intr.value, values)
        return Outcome(thread_id, values.get("status", "done"), values.get("report", ""), values=values)

    async def _settle(self, thread_id: str, *, prompt: str) -> Outcome:
        snapshot = await self.graph.aget_state(self._config(thread_id))
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
            )
            if self.on_pause is not None:
                try:
                    await self.on_pause(outcome)
                except Exception:  # a failed Slack post must not lose the paused thread
                    log.exception("announcing the pause of thread %s failed", thread_id)
        else:
            await store.record_finish(thread_id, graph=self.graph_name, prompt=prompt, status=outcome.status)
        return outcome
