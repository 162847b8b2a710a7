"""The post-mortem's large data, held by reference instead of copied through graph state.

LangGraph writes the whole state into a checkpoint after every step; 2,400
log entries and their events in the state would be serialised four times
per post-mortem (and turned into dicts and back at each node). The state
keeps a `LogRef` (a few ids); the parsed entries and the built timeline stay
here, in this process, for the run. A process that meets a reference it does
not hold (a resumed thread after a restart, a Studio worker) fetches the
entries again: the reference says what to fetch, and the answer is the same.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.pagerduty.models import LogEntry

from .timeline import Timeline

__all__ = ["HELD", "Held", "LogRef", "Store"]

MAX_HELD = 8
"""Post-mortems held at once; older ones are dropped (and refetched if ever needed)."""


@dataclass(frozen=True)
class LogRef:
    """What the state keeps instead of the log: enough to find it, or fetch it again."""

    key: str
    incident_id: str
    since: str
    count: int

    def as_state(self) -> dict[str, Any]:
        return {"key": self.key, "incident_id": self.incident_id, "since": self.since,
                "count": self.count}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> LogRef:
        return cls(str(data["key"]), str(data["incident_id"]), str(data["since"]),
                   int(data["count"]))


@dataclass
class Held:
    entries: list[LogEntry]
    timeline: Timeline | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] | None = field(default=None, repr=False)
    """The timeline's events as JSON objects, made once for the report."""


class Store:
    """A small LRU of held post-mortems, keyed by `LogRef.key`."""

    def __init__(self, maxsize: int = MAX_HELD) -> None:
        self.maxsize = maxsize
        self._held: OrderedDict[str, Held] = OrderedDict()

    def put(self, incident_id: str, since: datetime, entries: list[LogEntry]) -> LogRef:
        ref = LogRef(uuid.uuid4().hex, incident_id, since.isoformat(), len(entries))
        self._held[ref.key] = Held(entries)
        while len(self._held) > self.maxsize:
            self._held.popitem(last=False)
        return ref

    def get(self, ref: LogRef) -> Held | None:
        held = self._held.get(ref.key)
        if held is not None:
            self._held.move_to_end(ref.key)
        return held

    def restore(self, ref: LogRef, entries: list[LogEntry]) -> Held:
        """Hold entries fetched again for a reference this process did not have."""
        self._held[ref.key] = held = Held(entries)
        while len(self._held) > self.maxsize:
            self._held.popitem(last=False)
        return held

    def clear(self) -> None:
        self._held.clear()


HELD = Store()
"""The process's store: one per process, as the client and the catalog are."""
