"""Time words in a request ("for the next 8 hours", "until tomorrow at 9 AM")
-> one aware window [start, end) in the requester's time zone.

Why a hand-written grammar: dateutil parses absolute dates well (and is used
for them here) but knows nothing of "for the next 8 hours", "until", "starting
now" or "this weekend", and its fuzzy mode happily reads "12 replicas" as a
date. So a small set of regular expressions finds the time phrases anywhere
in a sentence, a keyword just before each phrase says whether it is the start
or the end, and the phrases are resolved against `now` in the requester's zone.

Rules (also the documentation of the grammar's choices):

- Wall-clock phrases ("tomorrow at 9 AM", "Friday 18:00", "until 17:00") are
  computed on the calendar of the requester's zone, then converted to UTC, so
  a DST change between now and then is honoured. A time that does not exist
  (skipped by a spring-forward change) moves forward by the gap; a time that
  exists twice (fall-back) means its first occurrence.
- Minutes and hours are elapsed time ("for the next 8 hours" = 8 real hours,
  even across a DST change); days and weeks are calendar days ("for 3 days"
  from 14:00 ends at 14:00 three days later on the wall clock).
- A time without a day ("until 17:00") is its next occurrence after the
  window's start (start: after now); a weekday ("Friday 18:00") is the next
  such day whose time is still ahead, today included; "this/next Friday" mean
  the same. A weekday without a time is that day at 00:00; "through Friday"
  is the end of Friday (Saturday 00:00). "midnight" after a day ("tomorrow at
  midnight") is the end of that day. "noon" is 12:00, "morning" 09:00,
  "evening"/"night" 18:00.
- "tonight" alone is 18:00 today -> 08:00 tomorrow (from now if already
  past 18:00). "this weekend"/"the weekend" alone is Saturday 00:00 -> Monday
  00:00 of the current weekend, else the coming one ("next weekend" is the
  one after the current weekend when said on a weekend, else the coming one).
  A bare weekday or "tomorrow" alone is that whole day.
- A start without an end: `default_duration` if given, else an error asking
  for the end. An end without a start: the window starts now. A window that
  began in the past but is not over starts now (an override cannot change who
  was paged before); one entirely in the past is an error.
- Not understood: numeric dates such as 24/11 (day or month first?), a bare
  hour without am/pm or minutes ("until 9"), "eod", holidays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateutil_parser  # type: ignore[import-untyped]

__all__ = ["MAX_AHEAD", "MAX_DURATION", "TimeWindowError", "Window", "parse_window"]

MAX_DURATION = timedelta(days=90)
"""Longest override accepted: a sane bound for a roster change, not an API limit."""

MAX_AHEAD = timedelta(days=90)
"""How far ahead a window may end: PagerDuty's /oncalls looks at most 90 days
ahead, so beyond it nobody could check who the override replaces."""


class TimeWindowError(ValueError):
    """The time words do not give one sensible window; the message says why."""


@dataclass(frozen=True)
class Window:
    """[start, end) as aware datetimes in the requester's zone `tz`."""

    start: datetime
    end: datetime
    tz: str
    notes: tuple[str, ...] = field(default=(), compare=False)
    """Adjustments worth telling the approver (e.g. "start moved to now")."""

    @property
    def start_utc(self) -> str:
        return _iso_z(self.start)

    @property
    def end_utc(self) -> str:
        return _iso_z(self.end)

    @property
    def duration(self) -> timedelta:
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    def describe(self) -> str:
        """Both ends in the requester's zone and in UTC, for the approver:

        "Mon 23 Nov 14:00 CET (13:00 UTC) → Tue 24 Nov 09:00 CET (08:00 UTC)".
        """
        return f"{_describe_instant(self.start)} → {_describe_instant(self.end)}"


def _iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_instant(dt: datetime) -> str:
    local = f"{dt:%a} {dt.day} {dt:%b %H:%M %Z}"
    utc = dt.astimezone(UTC)
    if dt.utcoffset() == timedelta(0) and dt.tzname() == "UTC":
        return local
    if utc.date() == dt.date():
        return f"{local} ({utc:%H:%M} UTC)"
    return f"{local} ({utc:%a} {utc.day} {utc:%b %H:%M} UTC)"


# --- the grammar -----------------------------------------------------------

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45, "a couple of": 2,
    "couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip
_UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
    "m": "minutes", "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours",
    "h": "hours", "day": "days", "days": "days", "d": "days", "week": "weeks",
    "weeks": "weeks", "wk": "weeks", "wks": "weeks", "w": "weeks",
}  # fmt: skip
_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2,
    "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
_MONTHS = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)

_QTY = (
    r"(?:\d+(?:\.\d+)?|\b(?:"
    + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
    + r")\b)"
)
_UNIT = r"(?:" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\b"
_ONE_DUR = rf"(?:half\s+an?\s+hour|{_QTY}\s*{_UNIT}(?:\s+and\s+a\s+half)?)"
_DURATION = rf"{_ONE_DUR}(?:\s*(?:,|and)?\s*{_ONE_DUR})*"

_TIME = (
    r"(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)\b|\d{1,2}[:h]\d{2}\b|noon\b|midday\b|midnight\b"
    r"|\d{1,2}\s*o'?clock\b|morning\b|evening\b|night\b)"
)
# Three-letter weekdays only before a date or time ("Mon 23 Nov"): "sat" and
# "sun" are words too.
_WEEKDAY = (
    r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues|weds|thurs)\b"
    r"|(?:mon|tue|wed|thu|fri|sat|sun)\b(?=\s+\d))"
)
_DATE = (
    r"(?:\d{4}-\d{2}-\d{2}\b"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\b(?:,?\s+\d{{4}}\b)?"
    rf"|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?)"
)
_DAY = (
    r"(?:the\s+day\s+after\s+tomorrow\b|today\b|tomorrow\b|tonight\b|yesterday\b"
    r"|(?:this\s+|the\s+|next\s+)?weekend\b"
    rf"|(?:(?:this|next|on)\s+)?{_WEEKDAY}(?:,?\s+{_DATE})?|{_DATE})"
)
_POINT = (
    rf"(?:{_DAY}(?:\s*(?:,|at|@|from)?\s*{_TIME})?"
    rf"|{_TIME}(?:\s*(?:,|on|at)?\s*{_DAY})?)"
)
_ISO = r"\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z\b|[+-]\d{2}(?::?\d{2})?\b)?"

_TOKEN = re.compile(
    rf"(?P<dur>\b(?:(?:for|over|during)\s+(?:the\s+)?(?:next\s+)?|(?:in|within)\s+the\s+next\s+|\bnext\s+){_DURATION})"
    rf"|(?P<rel>\bin\s+{_DURATION}|\b{_DURATION}\s+from\s+now\b)"
    r"|(?P<rest>\b(?:for\s+)?the\s+rest\s+of\s+(?:the\s+day|today|the\s+week|this\s+week)\b)"
    r"|(?P<now>\b(?:right\s+now|now|immediately|asap|right\s+away|straight\s+away)\b)"
    rf"|(?P<iso>\b{_ISO})"
    rf"|(?P<point>\b{_POINT})"
)

_START_KW = re.compile(
    r"(?:\bfrom|\bstarting|\bstarts?|\bbeginning|\bbegins?|\bas\s+of|\beffective|\bafter"
    r"|\bbetween)(?:\s+(?:at|on|from|the))*\s*$"
)
_END_KW = re.compile(
    r"(?:\buntil|\btill|\b'?til|\bto|\bthrough|\bthru|\bending|\bends?|\bby|\bup\s+to"
    r"|\bbefore|\bback|\breturns?|-|\band)(?:\s+(?:at|on|the))*\s*$"
)
_INCLUSIVE_KW = re.compile(r"(?:\bthrough|\bthru|\bend\s+of)(?:\s+(?:at|on|the))*\s*$")
_UNTIL_WITHOUT_POINT = re.compile(r"\b(?:until|till|through|thru|ends?\s+(?:at|on))\b")


@dataclass
class _Token:
    kind: str  # dur | rel | rest | now | iso | point
    text: str
    role: str | None  # "start" | "end" | None
    inclusive: bool = False  # "through Friday": to the end of that day
    between: bool = False  # "between X and Y": "and" then marks the end


def _normalise(text: str) -> str:
    t = text.lower().replace("’", "'")
    t = re.sub(r"\b([ap])\.m\.", r"\1m", t)
    t = re.sub(r"[\u2012-\u2015\u2212]|\u2192|->", " - ", t)  # dashes and arrows
    return t


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    last_end = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or ""
        gap = text[last_end : m.start()]
        role: str | None = None
        between = False
        if kind in ("point", "iso", "rel", "now"):
            if m_start := _START_KW.search(gap):
                role, between = "start", m_start.group(0).lstrip().startswith("between")
            elif m_end := _END_KW.search(gap):
                # "and" closes a range only after "between …".
                if m_end.group(0).split()[0] != "and" or (found and found[-1].between):
                    role = "end"
        if kind == "now" and role is None:
            role = "start"
        inclusive = bool(_INCLUSIVE_KW.search(gap))
        found.append(_Token(kind, m.group(0), role, inclusive=inclusive, between=between))
        last_end = m.end()
    return found


def _duration(text: str) -> tuple[timedelta, timedelta]:
    """(calendar part, elapsed part) of "the next 2 days and 3 hours"."""
    calendar, elapsed = timedelta(), timedelta()
    body = re.sub(r"^(?:for|over|during|in|within)?\s*(?:the\s+)?(?:next\s+)?", "", text.strip())
    for m in re.finditer(rf"half\s+an?\s+hour|({_QTY})\s*({_UNIT})(\s+and\s+a\s+half)?", body):
        if m.group(1) is None:
            elapsed += timedelta(minutes=30)
            continue
        qty_text = m.group(1)
        qty = float(qty_text) if qty_text[0].isdigit() else float(_NUMBER_WORDS[qty_text])
        if m.group(3):
            qty += 0.5
        unit = _UNITS[m.group(2)]
        if unit in ("days", "weeks") and qty == int(qty):
            calendar += timedelta(**{unit: qty})
        else:
            elapsed += timedelta(**{unit: qty})
    return calendar, elapsed


def _wall(d: date, t: time, zone: ZoneInfo) -> datetime:
    """The instant a wall clock in `zone` shows `d t`; gaps move forward."""
    naive = datetime.combine(d, t)
    aware = naive.replace(tzinfo=zone, fold=0)
    # A time skipped by a spring-forward change does not survive the round
    # trip through UTC; zoneinfo then lands it after the gap, which we want.
    return aware.astimezone(UTC).astimezone(zone)


def _add(start: datetime, calendar: timedelta, elapsed: timedelta, zone: ZoneInfo) -> datetime:
    if calendar:
        local = start.astimezone(zone)
        start = _wall(local.date() + calendar, local.time().replace(tzinfo=None), zone)
    return (start.astimezone(UTC) + elapsed).astimezone(zone)


def _parse_time(text: str) -> tuple[time | None, str | None]:
    """(time of day, special word) found in a point phrase."""
    if m := re.search(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b", text):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise TimeWindowError(f"'{m.group(0)}' is not a time of day.")
        hour = hour % 12 + (12 if m.group(3) == "pm" else 0)
        return time(hour, minute), None
    if m := re.search(r"(\d{1,2})[:h](\d{2})\b", text):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour == 24 and minute == 0:
            return time(0), "midnight"
        if hour > 23 or minute > 59:
            raise TimeWindowError(f"'{m.group(0)}' is not a time of day.")
        return time(hour, minute), None
    if m := re.search(r"(\d{1,2})\s*o'?clock", text):
        return time(int(m.group(1)) % 24), None
    for word, value in (("noon", time(12)), ("midday", time(12)), ("midnight", time(0)),
                        ("morning", time(9)), ("evening", time(18)), ("night", time(18))):  # fmt: skip
        if re.search(rf"\b{word}\b", text):
            return value, word
    return None, None


class _Resolver:
    def __init__(self, now: datetime, zone: ZoneInfo) -> None:
        self.now = now.astimezone(zone)
        self.zone = zone

    def weekend_start(self, text: str) -> date:
        today = self.now.date()
        wd = today.weekday()
        if wd >= 5:  # on a weekend now
            current = today - timedelta(days=wd - 5)
            return current + timedelta(days=7) if "next" in text else current
        return today + timedelta(days=5 - wd)

    def day_of(self, text: str, anchor: datetime, t: time | None, strict: bool) -> date | None:
        """The calendar day a phrase names; None if it names none."""
        today = self.now.date()
        if re.search(r"day\s+after\s+tomorrow", text):
            return today + timedelta(days=2)
        if re.search(r"\btomorrow\b", text):
            return today + timedelta(days=1)
        if re.search(r"\byesterday\b", text):
            return today - timedelta(days=1)
        if re.search(r"\btoday\b", text):
            return today
        if re.search(r"\btonight\b", text):
            return today + timedelta(days=1) if t is not None and t < time(12) else today
        if m := re.search(_DATE, text):
            default = datetime(anchor.year, 1, 1)
            try:
                d = dateutil_parser.parse(m.group(0).replace(" of ", " "), default=default).date()
            except (ValueError, OverflowError) as exc:
                raise TimeWindowError(f"'{m.group(0)}' is not a date.") from exc
            if not re.search(r"\d{4}", m.group(0)) and d < anchor.date():
                d = d.replace(year=d.year + 1)  # "24 Nov" in December: next year's
            return d
        if m := re.search(_WEEKDAY, text):
            word = m.group(0).strip()
            target = _WEEKDAYS[word]
            base = anchor.date()
            for i in range(8):
                d = base + timedelta(days=i)
                if d.weekday() != target:
                    continue
                candidate = _wall(d, t or time(0), self.zone)
                if candidate > anchor or (not strict and d >= base):
                    return d
            raise AssertionError("unreachable")  # pragma: no cover
        return None

    def point(self, tok: _Token, anchor: datetime) -> datetime:
        """The instant of a point phrase; `anchor` is what it must follow."""
        text = tok.text
        if tok.kind == "now":
            return self.now
        if tok.kind == "iso":
            dt = dateutil_parser.isoparse(text.upper().replace(" ", "T"))
            return (dt if dt.tzinfo else dt.replace(tzinfo=self.zone)).astimezone(self.zone)
        if tok.kind == "rel":
            cal, el = _duration(re.sub(r"\s+from\s+now$", "", text))
            return _add(self.now, cal, el, self.zone)
        if "weekend" in text:
            sat = self.weekend_start(text)
            end_of = tok.role == "end" and tok.inclusive
            return _wall(sat + timedelta(days=2 if end_of else 0), time(0), self.zone)
        t, special = _parse_time(text)
        strict = not (t is None and tok.role == "start")
        d = self.day_of(text, anchor, t, strict)
        if d is None:  # a time of day alone: its next occurrence after the anchor
            assert t is not None
            d = anchor.date()
            if _wall(d, t, self.zone) <= anchor:
                d += timedelta(days=1)
            return _wall(d, t, self.zone)
        if special == "midnight" or (t is None and tok.inclusive and tok.role == "end"):
            return _wall(d + timedelta(days=1), time(0), self.zone)
        if t is None and "tonight" in text:
            t = time(18)
        return _wall(d, t or time(0), self.zone)

    def span(self, tok: _Token) -> tuple[datetime, datetime] | None:
        """A bare phrase that names a whole stretch: tonight, a weekend, a day."""
        text = tok.text
        if tok.kind == "rest":
            if "week" in text:
                monday = self.now.date() + timedelta(days=7 - self.now.weekday())
                return self.now, _wall(monday, time(0), self.zone)
            return self.now, _wall(self.now.date() + timedelta(days=1), time(0), self.zone)
        if tok.kind != "point" or _parse_time(text)[0] is not None:
            return None
        if re.fullmatch(r"tonight", text.strip()):
            today = self.now.date()
            return _wall(today, time(18), self.zone), _wall(
                today + timedelta(days=1), time(8), self.zone
            )
        if "weekend" in text:
            sat = self.weekend_start(text)
            return _wall(sat, time(0), self.zone), _wall(
                sat + timedelta(days=2), time(0), self.zone
            )
        d = self.day_of(text, self.now, None, strict=False)
        if d is None:
            return None
        return _wall(d, time(0), self.zone), _wall(d + timedelta(days=1), time(0), self.zone)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeWindowError(f"Unknown time zone '{tz}'.") from exc


def parse_window(
    text: str,
    *,
    now: datetime,
    tz: str | ZoneInfo,
    default_duration: timedelta | None = None,
    max_duration: timedelta = MAX_DURATION,
    max_ahead: timedelta | None = MAX_AHEAD,
) -> Window:
    """The window the time words in `text` describe, for someone in zone `tz`.

    `text` may be the whole request; phrases are found anywhere in it. Raises
    `TimeWindowError` when there is no window, it is ambiguous, it ends before
    it starts, lies entirely in the past, lasts longer than `max_duration` or
    ends beyond `max_ahead` from now (the reach of PagerDuty's /oncalls).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be an aware datetime")
    zone = _zone(tz)
    r = _Resolver(now, zone)
    tokens = _tokens(_normalise(text or ""))

    durations = [t for t in tokens if t.kind == "dur"]
    rests = [t for t in tokens if t.kind == "rest"]
    points = [t for t in tokens if t.kind in ("point", "iso", "rel", "now")]
    if len(durations) > 1:
        raise TimeWindowError(
            "Several durations: " + ", ".join(f"'{d.text}'" for d in durations) + ". Which one?"
        )

    start: datetime | None = None
    end: datetime | None = None
    if len(points) == 1 and not durations and not rests and points[0].role is None:
        span = r.span(points[0])
        if span is not None:
            start, end = span
            points = []
    if len(rests) == 1 and not durations:
        span = r.span(rests[0])
        assert span is not None
        start, end = span
    elif rests:
        raise TimeWindowError("'the rest of the day' conflicts with the other time words.")

    starts = [t for t in points if t.role == "start"]
    ends = [t for t in points if t.role == "end"]
    for t in points:
        if t.role is None:
            (starts if not starts and start is None else ends).append(t)
    if len({t.text for t in starts if t.kind != "now"}) + any(t.kind == "now" for t in starts) > 1:
        raise TimeWindowError(
            "Several starts: " + ", ".join(f"'{t.text}'" for t in starts) + ". Which one?"
        )
    if len({t.text for t in ends}) > 1 or (ends and end is not None):
        raise TimeWindowError(
            "Several ends: " + ", ".join(f"'{t.text}'" for t in ends) + ". Which one?"
        )

    if starts:
        start = r.point(starts[0], r.now)
    if ends:
        if ends[0].kind == "now":
            raise TimeWindowError("The window cannot end now; say when it should end.")
        end = r.point(ends[0], start or r.now)
    if durations:
        cal, el = _duration(durations[0].text)
        by_duration = _add(start or r.now, cal, el, zone)
        if end is not None and end != by_duration:
            raise TimeWindowError(
                f"'{durations[0].text}' and '{ends[0].text if ends else 'the end'}' disagree "
                "about when the window ends; give one of them."
            )
        end = by_duration

    if start is None and end is None:
        if default_duration is None:
            if _UNTIL_WITHOUT_POINT.search(_normalise(text or "")):
                raise TimeWindowError(f"Could not understand when the window ends in '{text}'.")
            raise TimeWindowError(
                f"No time window found in '{text}'. Say e.g. 'for the next 8 hours' or "
                "'until tomorrow at 9 AM'."
            )
        start = r.now
    if start is None:
        start = r.now
    if end is None:
        if default_duration is None:
            raise TimeWindowError(
                f"The window starts {_describe_instant(start)} but when should it end? "
                "Say e.g. 'for 8 hours' or 'until tomorrow at 9 AM'."
            )
        end = _add(start, timedelta(), default_duration, zone)

    notes: list[str] = []
    if end <= start:
        raise TimeWindowError(
            f"The window would end ({_describe_instant(end)}) before it starts "
            f"({_describe_instant(start)})."
        )
    if end <= r.now:
        raise TimeWindowError(
            f"The window {_describe_instant(start)} → {_describe_instant(end)} is entirely in "
            "the past."
        )
    if start < r.now:
        notes.append(f"Start {_describe_instant(start)} is in the past; the window starts now.")
        start = r.now
    if end - start > max_duration:
        raise TimeWindowError(
            f"The window lasts {_human(end - start)}, longer than the {_human(max_duration)} "
            "allowed for one roster change."
        )
    if max_ahead is not None and end - r.now > max_ahead:
        raise TimeWindowError(
            f"The window ends {_describe_instant(end)}, more than {_human(max_ahead)} ahead; "
            "PagerDuty's /oncalls looks at most 90 days ahead, so the change could not be checked."
        )
    return Window(start.astimezone(zone), end.astimezone(zone), zone.key, tuple(notes))


def _human(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:g} days"
    if hours >= 1:
        return f"{hours:g} hours"
    return f"{delta.total_seconds() / 60:g} minutes"
