"""What a button or a modal carries back from Slack: the thread and the interrupt, nothing else.

The proposal itself is never round-tripped through Slack: a click names the
paused thread and the interrupt it answers, and the handler reads the pending
request from the durable store. A forged or stale value then finds nothing
(or an interrupt that no longer waits) instead of smuggling in a proposal.
"""

from __future__ import annotations

from dataclasses import dataclass


class BadRef(ValueError):
    """A value that is not `thread:interrupt`."""


@dataclass(frozen=True)
class Ref:
    thread_id: str
    interrupt_id: str

    def encode(self) -> str:
        return f"{self.thread_id}:{self.interrupt_id}"

    @classmethod
    def decode(cls, value: str | None) -> Ref:
        # Split from the right: a caller-chosen thread id may contain ':'; interrupt ids do not.
        thread_id, sep, interrupt_id = (value or "").rpartition(":")
        if not sep or not thread_id or not interrupt_id:
            raise BadRef(f"not a thread:interrupt reference: {value!r}")
        return cls(thread_id, interrupt_id)


def encode_choice(ref: Ref, service_id: str) -> str:
    """A select option's value: the reference plus the human's choice (not the proposal)."""
    return f"{ref.encode()}|{service_id}"


def decode_choice(value: str | None) -> tuple[Ref, str]:
    ref, sep, choice = (value or "").rpartition("|")
    if not sep or not choice:
        raise BadRef(f"not a choice: {value!r}")
    return Ref.decode(ref), choice
