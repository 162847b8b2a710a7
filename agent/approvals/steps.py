"""The steps every proposed write goes through, whichever graph proposes it.

    approve (pause, recorded) -> execute (WriteOnce, audited) -> await_retry (pause) -> execute

A graph's nodes call these and map what they return to a `Command`, so the
incident graph and the post-mortem's note share one implementation: the pause
is recorded in the approvals store (listed by `incident-agent approvals`,
answerable from the CLI, Slack or Studio), a reject is audited with its
reason, an edit goes through the action's own builder, and the write lands at
most once (`WriteOnce`) and is audited with who approved it and from where.
The runner claims each answer (compare-and-set) before the graph sees it.

Each step re-runs from its first line on resume: nothing happens before the
pause but reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agent.actions import ActionError, Proposal, rebuild_proposal
from agent.actions.execute import (
    NotSent,
    WriteOnce,
    decision_key,
    key_ref,
    summarize_result,
    write_key,
)
from agent.approvals import RETRY_ACTION
from agent.approvals.ask import ask, recorded, review
from agent.approvals.protocol import Approver, Decision, build_request
from agent.pagerduty.errors import PagerDutyError, plain
from agent.pagerduty.writes import ApiCall, with_ref

if TYPE_CHECKING:
    from agent.runtime import Services

__all__ = ["Answered", "Executed", "FollowUp", "approve", "await_retry", "execute", "thread_id"]

FollowUp = Callable[[dict[str, Any], Approver | None], ApiCall | None]
"""(the write's result, the approver) -> a second write to send once under the same approval, or None."""


def thread_id() -> str:
    """The running thread's id: the key of its pauses, write records and audit rows."""
    from langgraph.config import get_config

    return str(get_config()["configurable"].get("thread_id", "no-thread"))


@dataclass(frozen=True)
class Answered:
    """The human's answer to a proposed write.

    `approved`: run `proposal` (edited, if they edited it); `rejected`: audited, nothing to
    run; `refused`: their edit did not pass the builder, ask again showing `feedback`.
    """

    status: Literal["approved", "rejected", "refused"]
    proposal: Proposal
    decision: Decision
    feedback: str | None = None


@dataclass(frozen=True)
class Executed:
    """What landed (`result`), and why the write did not complete (`error`), if it did not."""

    result: dict[str, Any]
    error: str | None = None


async def approve(
    svc: Services, proposal: Proposal, *, graph: str, prompt: str, feedback: str | None = None
) -> Answered:
    """Pause until a human approves, edits or rejects `proposal`, exactly as it will run."""
    async with recorded(svc.store, thread_id=thread_id(), graph=graph, prompt=prompt):
        decision = review(proposal, feedback)
    if decision.type == "reject":
        await _audit_reject(svc, proposal, decision, result=None)
        return Answered("rejected", proposal, decision)
    if decision.type == "edit":
        try:
            proposal = rebuild_proposal(
                proposal, decision.edited_args or {}, await svc.catalog.get()
            )
        except ActionError as exc:
            return Answered("refused", proposal, decision, f"Edit refused: {exc}")
    return Answered("approved", proposal, decision)


async def execute(
    svc: Services,
    proposal: Proposal,
    decision: Decision | None,
    *,
    look_only: bool = False,
    landed: dict[str, Any] | None = None,
    follow_up: FollowUp | None = None,
) -> Executed:
    """Run the approved write (and its follow-up, if any), each exactly once, and audit it.

    Each step is recorded before it is sent, under a key derived from the thread and
    the write (`write_key`); a re-run (a retry, a resume after a crash, the server's
    `ainvoke(None)`) looks in PagerDuty before sending again. `look_only` (closing a
    write that stopped midway) sends nothing and reports what landed.
    """
    from agent.runtime import SenderError

    approver = decision.approver if decision is not None else None
    shown = proposal.model_dump(mode="json")
    thread = thread_id()
    decided = decision.model_dump(mode="json") if decision is not None else {}
    key = write_key(thread, shown)
    result = dict(landed or {})
    error: str | None = None
    what = "the write"
    writes = WriteOnce(svc, key, thread, look_only=look_only)
    try:
        try:
            acting = await svc.acting_user(approver.email if approver else None, required=False)
        except SenderError:
            acting = None  # PagerDuty's own answer (400, From required) names the problem
        from_ = acting.email if acting else None
        written = await writes.send("write", with_ref(proposal.call, key_ref(key, "write")), from_)
        result = {
            **summarize_result(proposal.action, written),
            "found_earlier": written.found_earlier,
        }
        second = follow_up(result, approver) if follow_up is not None else None
        if second is not None:
            what = "the follow-up note"
            await writes.send("note", with_ref(second, key_ref(key, "note")), from_)
            result["note"] = "added"
    except PagerDutyError as exc:
        error = f"{what} failed: {plain(exc)}"
    except NotSent as exc:
        error = f"{what} was not written: {exc}"
    await writes.alongside(svc.store.audit(
        thread_id=thread,
        interrupt_id=decision_key(shown, decided),
        approver=approver.model_dump(mode="json") if approver else {},
        decision=decision.type if decision is not None else "approve",
        proposal=shown,
        reasons=proposal.reasons,
        result={**result, "error": error} if error else result,
    ))
    return Executed(result, error)


async def await_retry(
    svc: Services,
    proposal: Proposal,
    *,
    graph: str,
    prompt: str,
    error: str | None,
    landed: dict[str, Any] | None,
    description: str,
) -> Decision | None:
    """A write that did not complete waits here, under the approval it already has.

    None: retry (run `execute` again, which first looks for an earlier landing).
    Otherwise the reject, audited with its reason: close without writing anything more.
    """
    request = build_request(
        RETRY_ACTION,
        {"error": error, "action": proposal.action, "landed": landed or {}},
        description,
        allowed=["approve", "reject"],
    )
    async with recorded(svc.store, thread_id=thread_id(), graph=graph, prompt=prompt, error=error):
        decision = ask(request)
    if decision.type != "reject":
        return None
    await _audit_reject(svc, proposal, decision, result=landed)
    return decision


async def _audit_reject(
    svc: Services, proposal: Proposal, decision: Decision, *, result: dict[str, Any] | None
) -> None:
    """A reject is audited with its reason, and what had landed before it (if anything)."""
    shown = proposal.model_dump(mode="json")
    await svc.store.audit(
        thread_id=thread_id(),
        interrupt_id=decision_key(shown, decision.model_dump(mode="json")),
        approver=decision.approver.model_dump(mode="json"),
        decision="reject",
        proposal=shown,
        reasons=proposal.reasons,
        result=result,
        message=decision.message,
    )
