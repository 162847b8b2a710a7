"""parse_window: every phrase at a fixed `now`, in UTC and in two other zones,
with the expected instants written out; DST changes; errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.roster.timewords import TimeWindowError, Window, parse_window

# Monday 23 Nov 2026, 13:00 UTC = 14:00 in Berlin (CET) = 08:00 in New York (EST).
NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
ZONES = ("UTC", "Europe/Berlin", "America/New_York")

# phrase -> {zone: (start UTC, end UTC)}
CASES: dict[str, dict[str, tuple[str, str]]] = {
    "for the next 8 hours": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z"),
    },
    "for 3 days": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-26T13:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-26T13:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-26T13:00:00Z"),
    },
    "for 90 minutes": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-23T14:30:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-23T14:30:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-23T14:30:00Z"),
    },
    "until tomorrow at 9 AM": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T09:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T08:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T14:00:00Z"),
    },
    "until 9am tomorrow": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T09:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T08:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T14:00:00Z"),
    },
    "it ends tomorrow at 9 AM": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T09:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T08:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T14:00:00Z"),
    },
    "until 9 a.m. tomorrow": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T09:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T08:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T14:00:00Z"),
    },
    "until 17:00": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-23T17:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-23T16:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-23T22:00:00Z"),
    },
    "until 5pm on Friday": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-27T17:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-27T16:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-27T22:00:00Z"),
    },
    "until Friday 18:00": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-27T18:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-27T17:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-27T23:00:00Z"),
    },
    "from Friday 18:00 to Monday 09:00": {
        "UTC": ("2026-11-27T18:00:00Z", "2026-11-30T09:00:00Z"),
        "Europe/Berlin": ("2026-11-27T17:00:00Z", "2026-11-30T08:00:00Z"),
        "America/New_York": ("2026-11-27T23:00:00Z", "2026-11-30T14:00:00Z"),
    },
    "from 2026-11-24 09:00 to 2026-11-24 17:00": {
        "UTC": ("2026-11-24T09:00:00Z", "2026-11-24T17:00:00Z"),
        "Europe/Berlin": ("2026-11-24T08:00:00Z", "2026-11-24T16:00:00Z"),
        "America/New_York": ("2026-11-24T14:00:00Z", "2026-11-24T22:00:00Z"),
    },
    "between 18:00 and 22:00": {
        "UTC": ("2026-11-23T18:00:00Z", "2026-11-23T22:00:00Z"),
        "Europe/Berlin": ("2026-11-23T17:00:00Z", "2026-11-23T21:00:00Z"),
        "America/New_York": ("2026-11-23T23:00:00Z", "2026-11-24T03:00:00Z"),
    },
    "tonight": {
        "UTC": ("2026-11-23T18:00:00Z", "2026-11-24T08:00:00Z"),
        "Europe/Berlin": ("2026-11-23T17:00:00Z", "2026-11-24T07:00:00Z"),
        "America/New_York": ("2026-11-23T23:00:00Z", "2026-11-24T13:00:00Z"),
    },
    "this weekend": {
        "UTC": ("2026-11-28T00:00:00Z", "2026-11-30T00:00:00Z"),
        "Europe/Berlin": ("2026-11-27T23:00:00Z", "2026-11-29T23:00:00Z"),
        "America/New_York": ("2026-11-28T05:00:00Z", "2026-11-30T05:00:00Z"),
    },
    "until noon": {  # past noon in UTC and Berlin: tomorrow's; before noon in New York
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T12:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T11:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-23T17:00:00Z"),
    },
    "until midnight": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T00:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-23T23:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T05:00:00Z"),
    },
    "until tomorrow at midnight": {  # the end of tomorrow
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-25T00:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T23:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-25T05:00:00Z"),
    },
    "Friday": {  # a bare day: the whole day
        "UTC": ("2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z"),
        "Europe/Berlin": ("2026-11-26T23:00:00Z", "2026-11-27T23:00:00Z"),
        "America/New_York": ("2026-11-27T05:00:00Z", "2026-11-28T05:00:00Z"),
    },
    "until Friday": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-27T00:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-26T23:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-27T05:00:00Z"),
    },
    "through Friday": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-28T00:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-27T23:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-28T05:00:00Z"),
    },
    "until 24 Nov 9am": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T09:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T08:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T14:00:00Z"),
    },
    "starting in 2 hours for half an hour": {
        "UTC": ("2026-11-23T15:00:00Z", "2026-11-23T15:30:00Z"),
        "Europe/Berlin": ("2026-11-23T15:00:00Z", "2026-11-23T15:30:00Z"),
        "America/New_York": ("2026-11-23T15:00:00Z", "2026-11-23T15:30:00Z"),
    },
    "for the rest of the day": {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T00:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-23T23:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T05:00:00Z"),
    },
    (
        "Sarah is unwell and needs to drop off the Infrastructure rotation for the next "
        "8 hours, replace her with Marcus starting now"
    ): {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z"),
    },
    (
        "David has a family emergency and can't finish his Core Backend shift; it ends "
        "tomorrow at 9 AM; swap him for Elena right now"
    ): {
        "UTC": ("2026-11-23T13:00:00Z", "2026-11-24T09:00:00Z"),
        "Europe/Berlin": ("2026-11-23T13:00:00Z", "2026-11-24T08:00:00Z"),
        "America/New_York": ("2026-11-23T13:00:00Z", "2026-11-24T14:00:00Z"),
    },
}


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("phrase", list(CASES))
def test_phrase(phrase: str, zone: str) -> None:
    w = parse_window(phrase, now=NOW, tz=zone)
    assert (w.start_utc, w.end_utc) == CASES[phrase][zone]
    assert w.tz == zone
    assert w.start.tzinfo is not None and w.end.tzinfo is not None
    assert w.start.utcoffset() == w.start.astimezone(ZoneInfo(zone)).utcoffset()


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("phrase", ["now", "right now", "starting now", "from now", "immediately"])
def test_start_now_needs_an_end(phrase: str, zone: str) -> None:
    with pytest.raises(TimeWindowError, match="when should it end"):
        parse_window(phrase, now=NOW, tz=zone)
    w = parse_window(phrase, now=NOW, tz=zone, default_duration=timedelta(hours=1))
    assert (w.start_utc, w.end_utc) == ("2026-11-23T13:00:00Z", "2026-11-23T14:00:00Z")


@pytest.mark.parametrize("zone", ZONES)
def test_iso_timestamps_with_offsets_are_absolute(zone: str) -> None:
    w = parse_window("from 2026-11-24T09:00:00Z to 2026-11-24T17:00:00+01:00", now=NOW, tz=zone)
    assert (w.start_utc, w.end_utc) == ("2026-11-24T09:00:00Z", "2026-11-24T16:00:00Z")


def test_describe_shows_the_zone_and_utc() -> None:
    w = parse_window("until tomorrow at 9 AM", now=NOW, tz="Europe/Berlin")
    assert w.describe() == "Mon 23 Nov 14:00 CET (13:00 UTC) → Tue 24 Nov 09:00 CET (08:00 UTC)"
    ny = parse_window("between 18:00 and 22:00", now=NOW, tz=ZoneInfo("America/New_York"))
    assert ny.tz == "America/New_York"
    assert ny.describe() == (
        "Mon 23 Nov 18:00 EST (23:00 UTC) → Mon 23 Nov 22:00 EST (Tue 24 Nov 03:00 UTC)"
    )
    utc = parse_window("for 90 minutes", now=NOW, tz="UTC")
    assert utc.describe() == "Mon 23 Nov 13:00 UTC → Mon 23 Nov 14:30 UTC"


def test_describe_output_parses_back() -> None:
    w = parse_window("from Friday 18:00 to Monday 09:00", now=NOW, tz="UTC")
    again = parse_window(w.describe(), now=NOW, tz="UTC")
    assert (again.start, again.end) == (w.start, w.end)


# --- weekday and time-of-day rules ---------------------------------------

FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
FRIDAY_19 = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phrase", "now", "end"),
    [
        ("until Friday 18:00", FRIDAY_10, "2026-11-27T18:00:00Z"),  # later today: today
        ("until Friday 18:00", FRIDAY_19, "2026-12-04T18:00:00Z"),  # passed: next week
        ("until next Friday 18:00", FRIDAY_10, "2026-11-27T18:00:00Z"),
        ("until 17:00", FRIDAY_10, "2026-11-27T17:00:00Z"),
        ("until 17:00", FRIDAY_19, "2026-11-28T17:00:00Z"),  # passed: tomorrow
        ("until 12am", FRIDAY_10, "2026-11-28T00:00:00Z"),
        ("until 12pm", FRIDAY_10, "2026-11-27T12:00:00Z"),
        ("until 9:30 pm", FRIDAY_10, "2026-11-27T21:30:00Z"),
        ("until 21:30", FRIDAY_10, "2026-11-27T21:30:00Z"),
        ("until tonight at 11pm", FRIDAY_10, "2026-11-27T23:00:00Z"),
        ("until tomorrow morning", FRIDAY_10, "2026-11-28T09:00:00Z"),
        ("until the 1st of December", FRIDAY_10, "2026-12-01T00:00:00Z"),
        ("until December 1st, 2026 at 10:00", FRIDAY_10, "2026-12-01T10:00:00Z"),
        ("for 2 weeks", FRIDAY_10, "2026-12-11T10:00:00Z"),
        ("for an hour and a half", FRIDAY_10, "2026-11-27T11:30:00Z"),
        ("for 1 day and 2 hours", FRIDAY_10, "2026-11-28T12:00:00Z"),
        ("until 3 hours from now", FRIDAY_10, "2026-11-27T13:00:00Z"),
        ("through the weekend", FRIDAY_10, "2026-11-30T00:00:00Z"),
    ],
)
def test_end_only(phrase: str, now: datetime, end: str) -> None:
    w = parse_window(phrase, now=now, tz="UTC")
    assert w.start == now
    assert w.end_utc == end


def test_weekend_said_on_a_weekend_is_the_current_one() -> None:
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    w = parse_window("this weekend", now=sunday, tz="UTC")
    assert (w.start_utc, w.end_utc) == ("2026-11-29T10:00:00Z", "2026-11-30T00:00:00Z")
    nxt = parse_window("next weekend", now=sunday, tz="UTC")
    assert (nxt.start_utc, nxt.end_utc) == ("2026-12-05T00:00:00Z", "2026-12-07T00:00:00Z")


def test_tonight_after_six_starts_now() -> None:
    w = parse_window("tonight", now=FRIDAY_19, tz="UTC")
    assert (w.start_utc, w.end_utc) == ("2026-11-27T19:00:00Z", "2026-11-28T08:00:00Z")


def test_only_a_start_uses_default_duration() -> None:
    w = parse_window(
        "from Friday 18:00", now=NOW, tz="Europe/Berlin", default_duration=timedelta(hours=8)
    )
    assert (w.start_utc, w.end_utc) == ("2026-11-27T17:00:00Z", "2026-11-28T01:00:00Z")


def test_no_words_with_default_duration_starts_now() -> None:
    w = parse_window("swap them", now=NOW, tz="UTC", default_duration=timedelta(hours=2))
    assert (w.start_utc, w.end_utc) == ("2026-11-23T13:00:00Z", "2026-11-23T15:00:00Z")


def test_start_in_the_past_is_moved_to_now_with_a_note() -> None:
    w = parse_window("from 2026-11-23 09:00 to 2026-11-23 17:00", now=NOW, tz="UTC")
    assert (w.start_utc, w.end_utc) == ("2026-11-23T13:00:00Z", "2026-11-23T17:00:00Z")
    assert w.notes and "past" in w.notes[0]


def test_window_is_a_value() -> None:
    w = parse_window("for 90 minutes", now=NOW, tz="UTC")
    assert isinstance(w, Window)
    assert w.duration == timedelta(minutes=90)
    assert w == Window(w.start, w.end, "UTC")


# --- DST --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "zone", "now", "start", "end"),
    [
        # Europe leaves summer time on Sun 25 Oct 2026: 9 AM tomorrow is 09:00 CET.
        ("until tomorrow at 9 AM", "Europe/Berlin", datetime(2026, 10, 24, 10, 0, tzinfo=UTC),
         "2026-10-24T10:00:00Z", "2026-10-25T08:00:00Z"),
        # The US leaves daylight time on Sun 1 Nov 2026: 9 AM tomorrow is 09:00 EST.
        ("until tomorrow at 9 AM", "America/New_York", datetime(2026, 10, 31, 16, 0, tzinfo=UTC),
         "2026-10-31T16:00:00Z", "2026-11-01T14:00:00Z"),
        # Eight hours are eight real hours across the change (the wall clock shows 7).
        ("for the next 8 hours", "Europe/Berlin", datetime(2026, 10, 24, 20, 0, tzinfo=UTC),
         "2026-10-24T20:00:00Z", "2026-10-25T04:00:00Z"),
        ("for the next 8 hours", "America/New_York", datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
         "2026-10-31T23:00:00Z", "2026-11-01T07:00:00Z"),
        # A day is a calendar day: 14:00 CEST -> 14:00 CET, 25 real hours.
        ("for 1 day", "Europe/Berlin", datetime(2026, 10, 24, 12, 0, tzinfo=UTC),
         "2026-10-24T12:00:00Z", "2026-10-25T13:00:00Z"),
        # 02:30 does not exist on 29 Mar 2026 in Berlin: it moves past the gap.
        ("until 2:30am", "Europe/Berlin", datetime(2026, 3, 28, 21, 0, tzinfo=UTC),
         "2026-03-28T21:00:00Z", "2026-03-29T01:30:00Z"),
        # 02:30 happens twice on 25 Oct 2026 in Berlin: the first one (CEST).
        ("until 2:30am", "Europe/Berlin", datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
         "2026-10-24T22:00:00Z", "2026-10-25T00:30:00Z"),
        # Spring forward in the US, 8 Mar 2026: 9 AM tomorrow is 09:00 EDT.
        ("until tomorrow at 9 AM", "America/New_York", datetime(2026, 3, 7, 17, 0, tzinfo=UTC),
         "2026-03-07T17:00:00Z", "2026-03-08T13:00:00Z"),
    ],
)  # fmt: skip
def test_dst(phrase: str, zone: str, now: datetime, start: str, end: str) -> None:
    w = parse_window(phrase, now=now, tz=zone)
    assert (w.start_utc, w.end_utc) == (start, end)


def test_dst_describe_shows_the_new_offset() -> None:
    w = parse_window(
        "for the next 8 hours", now=datetime(2026, 10, 24, 20, 0, tzinfo=UTC), tz="Europe/Berlin"
    )
    assert w.describe() == ("Sat 24 Oct 22:00 CEST (20:00 UTC) → Sun 25 Oct 05:00 CET (04:00 UTC)")


# --- errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("from 2026-11-24 17:00 to 2026-11-24 09:00", "before it starts"),
        ("from 2026-11-20 09:00 to 2026-11-21 09:00", "entirely in the past"),
        ("until yesterday", "before it starts"),
        ("for 100 days", "longer than the 90 days"),
        ("until 2027-06-01", "longer than the 90 days"),
        ("from 2027-03-01 09:00 to 2027-03-02 09:00", "90 days ahead"),
        ("hello there", "No time window found"),
        ("", "No time window found"),
        ("note on #1201: scaled to 12 replicas", "No time window found"),
        ("until the cows come home", "Could not understand"),
        ("from Friday 18:00", "when should it end"),
        ("for 2 hours until 17:00", "disagree"),
        ("for 2 hours or for 3 hours", "Several durations"),
        ("until now", "cannot end now"),
        ("until 25:00", "not a time of day"),
        ("until 13pm", "not a time of day"),
    ],
)
def test_errors(phrase: str, message: str) -> None:
    with pytest.raises(TimeWindowError, match=message):
        parse_window(phrase, now=NOW, tz="Europe/Berlin")


def test_error_is_a_value_error() -> None:
    assert issubclass(TimeWindowError, ValueError)


def test_limits_are_adjustable() -> None:
    w = parse_window("for 100 days", now=NOW, tz="UTC", max_duration=timedelta(days=120),
                     max_ahead=None)  # fmt: skip
    assert w.end_utc == "2027-03-03T13:00:00Z"


def test_unknown_zone() -> None:
    with pytest.raises(TimeWindowError, match="Unknown time zone"):
        parse_window("for 2 hours", now=NOW, tz="Mars/Olympus")


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_window("for 2 hours", now=datetime(2026, 11, 23, 13, 0), tz="UTC")
