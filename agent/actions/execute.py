"""Running an approved write exactly once: record it, look before repeating, record the outcome.

Every write a human approved goes through `WriteOnce`: the step is recorded
in the store before it is sent (same database as the checkpoints), and a
repeat of the same step (a retry, a resume after a crash, LangGraph's server
resuming with `ainvoke(None)`) first looks in PagerDuty for the earlier
landing (`PagerDutyClient.write`, `agent/pagerduty/writes.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from agent.pagerduty.client import Written
from agent.pagerduty.errors import PagerDutyError, plain
from agent.pagerduty.writes import ApiCall, find_landed

if TYPE_CHECKING:
    from agent.runtime import Services

T = TypeVar("T")

__all__ = ["NotSent", "WriteOnce", "decision_key", "key_ref", "summarize_result", "write_key"]


class NotSent(Exception):
    """Closing without writing: this step had not landed, and is not sent now."""


class WriteOnce:
    """The steps of one approved write (the write, then its follow-up note), each sent so
    that it lands at most once.

    A step's outcome is recorded alongside the next store call (the next step's record,
    or the audit): other rows, so one wait instead of two. Lost with the process, an
    outcome leaves its step 'sending', and a re-run looks in PagerDuty before sending it.
    """

    def __init__(self, svc: Services, key: str, thread: str, *, look_only: bool = False) -> None:
        self.svc, self.key, self.thread, self.look_only = svc, key, thread, look_only
        self._outcomes: list[Callable[[], Awaitable[None]]] = []

    async def alongside(self, call: Awaitable[T]) -> T:
        """`call`, with the outcomes not yet recorded, at once; the first error is raised."""
        outcomes, self._outcomes = self._outcomes, []
        first, *rest = await asyncio.gather(call, *(o() for o in outcomes), return_exceptions=True)
        for result in (first, *rest):
            if isinstance(result, BaseException):
                raise result
        return first  # type: ignore[return-value]

    async def send(self, step: str, call: ApiCall, from_: str | None) -> Written:
        """Send one step (as `from_`), unless it landed before.

        `look_only` (closing a write that stopped midway): report what landed, send nothing.
        """
        store, step_key = self.svc.store, f"{self.key}:{step}"
        if self.look_only:
            prior = await self.alongside(store.write_record(step_key))
            if prior is not None and prior.status == "landed":
                return Written(prior.result, found_earlier=True)
            found = await find_landed(self.svc.pd, call) if prior is not None else None
            if found is None:
                raise NotSent("it had not reached PagerDuty when the process applying it stopped")
            await store.finish_write(step_key, thread_id=self.thread, step=step, landed=True,
                                     result=found, found_earlier=True)
            return Written(found, found_earlier=True)
        prior = await self.alongside(
            store.begin_write(step_key, thread_id=self.thread, step=step, call=call.model_dump()))
        if prior is not None and prior.status == "landed":
            return Written(prior.result, found_earlier=True)
        try:
            written = await self.svc.pd.write(call, from_=from_, look_first=prior is not None)
        except PagerDutyError as exc:
            await store.finish_write(step_key, thread_id=self.thread, step=step, landed=False,
                                     error=plain(exc))
            raise
        self._outcomes.append(lambda: store.finish_write(
            step_key, thread_id=self.thread, step=step, landed=True, result=written.body,
            found_earlier=written.found_earlier))
        return written


def key_ref(key: str, step: str) -> str:
    """The short reference a note carries, so a repeat can find it in PagerDuty."""
    return hashlib.sha256(f"{key}:{step}".encode()).hexdigest()[:10]


def write_key(thread: str, proposal: dict[str, Any]) -> str:
    """An approved write's identity: its thread and the write exactly as it runs.

    Not who approved it: an answer given again (in Studio, after the process that ran
    the first one died) approves the same write, and must find it landed."""
    blob = json.dumps(proposal, sort_keys=True, default=str)
    return f"{thread}:{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


def decision_key(proposal: Any, decision: Any) -> str:
    blob = json.dumps([proposal, decision], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def summarize_result(action: str, written: Written) -> dict[str, Any]:
    """The answer's main object, whatever its wrapper: `{"incident": …}`, or the
    list of `{"status", "override"}` that POST /schedules/{id}/overrides returns."""
    data = written.body
    if isinstance(data, list):
        item = data[0] if data else {}
        obj = item.get("override", item) if isinstance(item, dict) else {}
    else:
        obj = next(iter(data.values()), {}) if data else {}
    keys = ("id", "incident_number", "title", "status", "urgency", "html_url", "content", "start",
            "end", "message")
    return {"action": action, **{k: obj[k] for k in keys if isinstance(obj, dict) and k in obj}}
