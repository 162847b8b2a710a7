"""The PagerDuty objects the product uses, as the REST API v2 returns them.

Unknown fields are kept (`extra="allow"`) so an object read from the API can
be written back or dumped without loss; references are always `{"id", "type"}`.
Log entries and their references are the exception (`LogEntry`, `LogRef`):
they come thousands at a time and are only ever read, so they keep the fields
the product reads and no more.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)


def _utc(value: datetime) -> datetime:
    """In UTC, with the one `datetime.UTC` as its zone (naive means UTC, as PagerDuty's are).

    pydantic gives each parsed time a zone object of its own, and comparing two times
    whose zones differ calls both zones back (0.7 us against 0.1 us): sorting and walking
    a 2,400-entry log compares them tens of thousands of times."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _utc_time(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    """A time in UTC (`_utc`), PagerDuty's usual form read by the standard library.

    PagerDuty writes times as `2026-06-01T12:00:00Z`; `datetime.fromisoformat` reads that
    with the one `datetime.UTC` as its zone, where pydantic's parser gives a zone object of
    its own that `_utc` then converts (2,400 entries: 1.3-1.8 ms of the 19-21 ms their 24
    pages take to validate, min and median of 12, 2026-11-28). Any other form, and any
    string the standard library refuses, goes to pydantic as before."""
    if type(value) is str and value[-1:] == "Z" and value[10:11] == "T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # pydantic's parser decides, and words the error
    return _utc(handler(value))


UTCDatetime = Annotated[datetime, WrapValidator(_utc_time)]

T = TypeVar("T")


@functools.cache
def adapter_for(kind: type[T]) -> TypeAdapter[T]:
    """pydantic's validator for `kind`, built once: a model or one of the dataclasses below
    (`LogEntry`, `LogRef`), which have no `model_validate` of their own."""
    return TypeAdapter(kind)


class APIObject(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    id: str
    type: str
    summary: str | None = None
    html_url: str | None = None


class Reference(BaseModel):
    """`{"id", "type": "<kind>_reference"}`: the only way one object names another."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str
    type: str
    summary: str | None = None

    @classmethod
    def to(cls, kind: str, id: str) -> dict[str, str]:
        return {"id": id, "type": f"{kind}_reference"}


class Team(APIObject):
    name: str


class Priority(APIObject):
    name: str
    description: str | None = None
    order: int | None = None


class User(APIObject):
    name: str
    email: str
    time_zone: str | None = None
    role: str | None = None


class Service(APIObject):
    name: str
    description: str | None = None
    status: str | None = None
    escalation_policy: Reference
    teams: list[Reference] = Field(default_factory=list)


class Restriction(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    type: str  # daily_restriction | weekly_restriction
    start_time_of_day: str
    duration_seconds: int
    start_day_of_week: int | None = None


class LayerUser(BaseModel):
    model_config = ConfigDict(defer_build=True)

    user: Reference


class ScheduleLayer(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str | None = None
    name: str | None = None
    start: datetime
    end: datetime | None = None
    rotation_virtual_start: datetime
    rotation_turn_length_seconds: int
    users: list[LayerUser]
    restrictions: list[Restriction] = Field(default_factory=list)


class Schedule(APIObject):
    name: str
    time_zone: str = "UTC"
    description: str | None = None
    schedule_layers: list[ScheduleLayer] = Field(default_factory=list)
    users: list[Reference] = Field(default_factory=list)
    teams: list[Reference] = Field(default_factory=list)
    escalation_policies: list[Reference] = Field(default_factory=list)


class EscalationRule(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str | None = None
    escalation_delay_in_minutes: int
    targets: list[Reference]


class EscalationPolicy(APIObject):
    name: str
    num_loops: int = 0
    escalation_rules: list[EscalationRule] = Field(default_factory=list)
    services: list[Reference] = Field(default_factory=list)
    teams: list[Reference] = Field(default_factory=list)


class OnCall(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    user: Reference
    schedule: Reference | None = None
    escalation_policy: Reference
    escalation_level: int
    start: datetime | None = None
    end: datetime | None = None


class Override(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str | None = None
    start: datetime
    end: datetime
    user: Reference


class Assignment(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    at: datetime | None = None
    assignee: Reference


class Incident(APIObject):
    incident_number: int | None = None
    title: str
    status: str
    urgency: str | None = None
    created_at: UTCDatetime
    resolved_at: UTCDatetime | None = None
    incident_key: str | None = None
    service: Reference
    escalation_policy: Reference | None = None
    priority: Reference | None = None
    assignments: list[Assignment] = Field(default_factory=list)
    acknowledgements: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(slots=True, frozen=True)
class LogRef:
    """A reference inside a log entry: its id, type, summary and web link, and no more.

    A log is read thousands of entries at a time and never written back, and a
    `Reference` model is a model, its dict, its fields-set and its extras where this is
    one object: 2,400 entries (two references each) took 10.8 MiB as models and take
    4.7 MiB so, less than the same entries as plain dicts (5.0 MiB), and an entry with
    three references leaves the garbage collector 7 objects to walk, not 11
    (tests/pagerduty/test_log_entries.py). Validated by pydantic all the same; fields
    PagerDuty adds to a reference (`self`) are dropped."""

    # Its own config: a stdlib dataclass would take the enclosing model's `extra="allow"`.
    __pydantic_config__ = ConfigDict(extra="ignore")

    id: str
    type: str
    summary: str | None = None
    html_url: str | None = None


MAX_SHARED_REFS = 1024
_shared_refs: dict[tuple[str, str, str | None, str | None], LogRef] = {}


def _shared(ref: LogRef) -> LogRef:
    """The one `LogRef` equal to `ref` this process holds: a log names the same incident,
    service and few people in every entry, and 2,400 entries made 4,800 equal references
    (0.29 MiB). Keyed by a tuple, hashed and compared in C: keyed by the dataclass, its
    generated `__hash__` and `__eq__` cost 2.5 ms a 2,400-entry log, this 1. Frozen, so
    sharing is safe; the table starts afresh when it reaches `MAX_SHARED_REFS`, so a
    long-running process keeps only a bounded few."""
    if len(_shared_refs) >= MAX_SHARED_REFS:
        _shared_refs.clear()
    return _shared_refs.setdefault((ref.id, ref.type, ref.summary, ref.html_url), ref)


SharedLogRef = Annotated[LogRef, AfterValidator(_shared)]


@dataclass(slots=True, frozen=True)
class LogChannel:
    """How a log entry's action came about: its `type` (sms, email, api, web, note,
    timeout, ...) and its text (`summary`, or a note's `content`). The rest of
    PagerDuty's channel object (a notification's address, a trigger's event details) is
    not read here, and is dropped: one small object an entry, not a dict (128 bytes less
    an entry)."""

    __pydantic_config__ = ConfigDict(extra="ignore")

    type: str | None = None
    summary: Any = None
    content: Any = None


@dataclass(slots=True, frozen=True)
class LogEntry:
    """One log entry: the fields the post-mortem reads, in one object, validated by pydantic.

    As a model, with `extra="allow"`, an entry was a model, its dict, its fields-set and an
    extras dict holding the `self` link: 2,074 bytes an entry of bench.vs_official's log,
    4.75 MiB for its 2,400 entries, the most of what the fetch added to the process. So
    it is `LogRef`'s pattern: a slotted frozen dataclass with a `LogChannel` and
    references shared between entries, 337 bytes an entry (0.77 MiB), validated in 20 ms
    for the 24 pages instead of 33-37 (tests/pagerduty/test_log_entries.py). The fields
    PagerDuty sends that nothing here reads (`self`, `summary`, `html_url`, `contexts`,
    `teams`, `event_details`, ...) are dropped; the ones the timeline reads beside the references
    (`note`, `responders`, `responder_request_targets`, `escalation_level`) are fields,
    typed as loosely as the extras they were. No `model_validate`: `adapter_for(LogEntry)`
    validates a dict."""

    __pydantic_config__ = ConfigDict(extra="ignore")

    id: str
    type: str
    created_at: UTCDatetime
    incident: SharedLogRef | None = None
    service: SharedLogRef | None = None
    agent: SharedLogRef | None = None
    user: SharedLogRef | None = None
    assignees: tuple[SharedLogRef, ...] = ()  # no list to allocate per entry when there are none
    channel: LogChannel | None = None
    note: Any = None
    responders: Any = None
    responder_request_targets: Any = None
    escalation_level: Any = None


class Note(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str | None = None
    content: str
    created_at: datetime | None = None
    user: Reference | None = None
