"""The kinds of question a thread can pause with ("which one is meant?"), in one place.

A question is a HITL request named `choose_<kind>` whose answer is an edit setting
the kind's id field. The graphs ask them, the runner tells them from approvals,
and every surface titles and answers them from this table: a new kind is one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

QuestionKind = Literal["service", "person", "schedule", "incident"]


@dataclass(frozen=True)
class Kind:
    arg: str
    """The id field the answer sets."""
    headline: str
    """How a surface titles the question."""


KINDS: dict[QuestionKind, Kind] = {
    "service": Kind("service_id", "Which service is this about?"),
    "person": Kind("user_id", "Which person is meant?"),
    "schedule": Kind("schedule_id", "Which schedule is meant?"),
    "incident": Kind("incident_id", "Which incident is meant?"),
}
assert set(KINDS) == set(get_args(QuestionKind))

ASKS_FOR_INPUT = frozenset(f"choose_{kind}" for kind in KINDS)
"""The HITL action names of questions."""


def kind_of(action_name: str) -> str:
    """`choose_person` -> `person`."""
    return action_name.removeprefix("choose_")
