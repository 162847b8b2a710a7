from __future__ import annotations

from datetime import UTC, datetime

import pytest

import agent.roster
from agent.pagerduty.models import OnCall
from agent.roster import Segment, Window, covers_window, on_call_segments, who_is_on_call


def _oncall(user: str, schedule: str | None, start: str | None, end: str | None, level: int = 1):
    return OnCall.model_validate(
        {
            "user": {"id": user, "type": "user_reference", "summary": user.title()},
            "schedule": {"id": schedule, "type": "schedule_reference"} if schedule else None,
            "escalation_policy": {"id": "EP", "type": "escalation_policy_reference"},
            "escalation_level": level,
            "start": start,
            "end": end,
        }
    )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _window(start: str, end: str) -> Window:
    return Window(_at(start), _at(end), "UTC")


ONCALLS = [
    _oncall("david", "S1", "2026-11-23T00:00:00Z", "2026-11-24T09:00:00Z"),
    _oncall("elena", "S1", "2026-11-24T09:00:00Z", "2026-11-25T09:00:00Z"),
    _oncall("olga", "S2", "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z"),
    _oncall("boss", None, None, None, level=2),  # a user target: no schedule, no bounds
    # the same schedule at a second level, overlapping David's shift
    _oncall("david", "S1", "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z", level=2),
]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-11-23T13:00:00", ["david"]),
        ("2026-11-24T09:00:00", ["elena", "david"]),  # end is exclusive; level 1 first
        ("2026-11-24T12:00:00", ["elena"]),
        ("2026-11-26T12:00:00", []),
    ],
)
def test_who_is_on_call_at(at: str, expected: list[str]) -> None:
    refs = who_is_on_call(ONCALLS, schedule_id="S1", at=_at(at))
    assert [r.id for r in refs] == expected


def test_who_is_on_call_without_at_lists_each_user_once() -> None:
    assert [r.id for r in who_is_on_call(ONCALLS, schedule_id="S1")] == ["david", "elena"]
    assert who_is_on_call(ONCALLS, schedule_id="nope") == []


@pytest.mark.parametrize(
    ("user", "window", "expected"),
    [
        ("david", ("2026-11-23T13:00:00", "2026-11-24T09:00:00"), True),
        ("david", ("2026-11-23T13:00:00", "2026-11-24T10:00:00"), True),  # level 2 continues it
        ("david", ("2026-11-23T13:00:00", "2026-11-24T12:00:00"), "partial"),
        ("david", ("2026-11-22T20:00:00", "2026-11-23T02:00:00"), "partial"),
        ("elena", ("2026-11-23T13:00:00", "2026-11-24T09:00:00"), False),
        ("elena", ("2026-11-24T10:00:00", "2026-11-24T12:00:00"), True),
        ("olga", ("2026-11-23T13:00:00", "2026-11-24T09:00:00"), False),  # other schedule
    ],
)
def test_covers_window(user: str, window: tuple[str, str], expected: object) -> None:
    assert covers_window(ONCALLS, user, "S1", _window(*window)) == expected


def test_open_ended_entries_cover_everything() -> None:
    oncalls = [_oncall("ann", "S9", None, None)]
    assert (
        covers_window(oncalls, "ann", "S9", _window("2026-11-23T00:00:00", "2027-01-01T00:00:00"))
        is True
    )


def test_segments_before_and_after_the_handover() -> None:
    segs = on_call_segments(
        ONCALLS, schedule_id="S1", window=_window("2026-11-23T13:00:00", "2026-11-24T12:00:00")
    )
    assert [(s.user.id, s.start, s.end) for s in segs] == [
        ("david", _at("2026-11-23T13:00:00"), _at("2026-11-24T10:00:00")),
        ("elena", _at("2026-11-24T09:00:00"), _at("2026-11-24T12:00:00")),
    ]
    assert all(isinstance(s, Segment) for s in segs)


def test_all_is_sorted_and_complete() -> None:
    exported = agent.roster.__all__
    assert exported == sorted(exported)
    assert all(hasattr(agent.roster, name) for name in exported)
