"""Who is on call, computed from schedule layers, overrides and escalation rules.

Pure functions over the API models, no state. The approach: a schedule's
answer is piecewise constant, changing only at layer starts/ends, rotation
handoffs, restriction window edges and override edges; so a window is
rendered by collecting those instants and asking "who at t?" once per piece.

PagerDuty's rules, as implemented:
- a layer's turn at t is `floor(elapsed / turn_length) mod len(users)`, the
  elapsed time measured on the wall clock of the schedule's time zone from
  `rotation_virtual_start` (so a 09:00 handoff stays 09:00 across DST);
- a layer has nobody outside [start, end) or outside its restrictions
  (daily: every day from start_time_of_day for duration_seconds; weekly:
  from start_day_of_week 1=Monday at start_time_of_day), both read in the
  schedule's time zone;
- later layers take precedence where they have someone; overrides beat all
  layers, and the most recently created override wins where they overlap;
- escalation level n is rule n-1; a user target is on call permanently
  (start and end null), a schedule target for its shifts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.pagerduty.models import EscalationPolicy, Override, Schedule, ScheduleLayer

# How far before/after a window shifts are followed to find their true edges.
LOOKAROUND = timedelta(days=35)


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    user_id: str


@dataclass(frozen=True)
class OnCallEntry:
    escalation_policy_id: str
    escalation_level: int
    user_id: str
    schedule_id: str | None
    start: datetime | None  # None for permanent (direct user) on-calls
    end: datetime | None


def _tz(schedule: Schedule) -> ZoneInfo:
    try:
        return ZoneInfo(schedule.time_zone or "UTC")
    except Exception:  # unknown zone names were refused at load; be safe anyway
        return ZoneInfo("UTC")


def _wall(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt.astimezone(tz).replace(tzinfo=None)


def _from_wall(naive: datetime, tz: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))


def _parse_tod(value: str) -> time:
    parts = [int(p) for p in value.split(":")]
    while len(parts) < 3:
        parts.append(0)
    return time(parts[0], parts[1], parts[2])


def _restriction_windows(
    layer: ScheduleLayer, tz: ZoneInfo, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """Restriction windows (UTC) that may touch [since, until]."""
    out: list[tuple[datetime, datetime]] = []
    first: date = _wall(since, tz).date() - timedelta(days=8)
    last: date = _wall(until, tz).date() + timedelta(days=1)
    for r in layer.restrictions:
        tod = _parse_tod(r.start_time_of_day)
        d = first
        while d <= last:
            if r.type == "weekly_restriction" and d.isoweekday() != (r.start_day_of_week or 1):
                d += timedelta(days=1)
                continue
            start = _from_wall(datetime.combine(d, tod), tz)
            out.append((start, start + timedelta(seconds=r.duration_seconds)))
            d += timedelta(days=7 if r.type == "weekly_restriction" else 1)
    return out


def layer_user_at(layer: ScheduleLayer, tz: ZoneInfo, t: datetime) -> str | None:
    """The user of `layer` on call at instant t, or None."""
    if t < layer.start or (layer.end is not None and t >= layer.end) or not layer.users:
        return None
    if layer.restrictions and not any(
        s <= t < e for s, e in _restriction_windows(layer, tz, t, t)
    ):
        return None
    elapsed = (_wall(t, tz) - _wall(layer.rotation_virtual_start, tz)).total_seconds()
    turn = math.floor(elapsed / layer.rotation_turn_length_seconds)
    return layer.users[turn % len(layer.users)].user.id


def _layer_edges(layer: ScheduleLayer, tz: ZoneInfo, since: datetime, until: datetime) -> set:
    edges = {layer.start}
    if layer.end is not None:
        edges.add(layer.end)
    vs = _wall(layer.rotation_virtual_start, tz)
    length = layer.rotation_turn_length_seconds
    k0 = math.floor((_wall(since, tz) - vs).total_seconds() / length)
    k1 = math.ceil((_wall(until, tz) - vs).total_seconds() / length)
    for k in range(k0, k1 + 1):
        edges.add(_from_wall(vs + timedelta(seconds=k * length), tz))
    for s, e in _restriction_windows(layer, tz, since, until):
        edges.update((s, e))
    return edges


def schedule_user_at(
    schedule: Schedule, overrides: Sequence[Override], t: datetime, *, layers: bool = True
) -> str | None:
    """Final schedule at t: the latest override covering t, else the last layer with someone."""
    for o in reversed(overrides):
        if o.start <= t < o.end:
            return o.user.id
    if not layers:
        return None
    tz = _tz(schedule)
    for layer in reversed(schedule.schedule_layers):
        user = layer_user_at(layer, tz, t)
        if user is not None:
            return user
    return None


def _render(who, edges: Iterable[datetime], since: datetime, until: datetime) -> list[Shift]:
    points = sorted({since, until, *(e for e in edges if since < e < until)})
    shifts: list[Shift] = []
    for a, b in zip(points, points[1:], strict=False):
        user = who(a)
        if user is None:
            continue
        if shifts and shifts[-1].user_id == user and shifts[-1].end == a:
            shifts[-1] = Shift(shifts[-1].start, b, user)
        else:
            shifts.append(Shift(a, b, user))
    return shifts


def render_layer(schedule: Schedule, layer: ScheduleLayer, since: datetime, until: datetime):
    tz = _tz(schedule)
    return _render(
        lambda t: layer_user_at(layer, tz, t), _layer_edges(layer, tz, since, until), since, until
    )


def render_overrides(overrides: Sequence[Override], since: datetime, until: datetime):
    edges = {x for o in overrides for x in (o.start, o.end)}
    return _render(lambda t: schedule_user_at(None, overrides, t, layers=False), edges, since, until)  # type: ignore[arg-type]


def render_schedule(
    schedule: Schedule, overrides: Sequence[Override], since: datetime, until: datetime
) -> list[Shift]:
    """The final schedule's shifts in [since, until), clipped to the window."""
    tz = _tz(schedule)
    edges: set[datetime] = {x for o in overrides for x in (o.start, o.end)}
    for layer in schedule.schedule_layers:
        edges |= _layer_edges(layer, tz, since, until)
    return _render(lambda t: schedule_user_at(schedule, overrides, t), edges, since, until)


def shifts_overlapping(
    schedule: Schedule, overrides: Sequence[Override], since: datetime, until: datetime
) -> list[Shift]:
    """Shifts touching [since, until] (an instant when equal), with their true edges
    as far as LOOKAROUND reaches, the way /oncalls reports them."""
    end = max(until, since + timedelta(seconds=1))
    shifts = render_schedule(schedule, overrides, since - LOOKAROUND, end + LOOKAROUND)
    return [s for s in shifts if s.start <= until and s.end > since]


def policy_oncalls(
    policy: EscalationPolicy,
    schedules: dict[str, tuple[Schedule, Sequence[Override]]],
    since: datetime,
    until: datetime,
) -> list[OnCallEntry]:
    """Every on-call of `policy` in [since, until], level by level."""
    out: list[OnCallEntry] = []
    for index, rule in enumerate(policy.escalation_rules):
        level = index + 1
        for target in rule.targets:
            if target.type in ("user_reference", "user"):
                out.append(OnCallEntry(policy.id, level, target.id, None, None, None))
            elif target.type in ("schedule_reference", "schedule") and target.id in schedules:
                schedule, overrides = schedules[target.id]
                for s in shifts_overlapping(schedule, overrides, since, until):
                    out.append(OnCallEntry(policy.id, level, s.user_id, target.id, s.start, s.end))
    return out


def level_users_at(
    policy: EscalationPolicy,
    schedules: dict[str, tuple[Schedule, Sequence[Override]]],
    level: int,
    t: datetime,
) -> list[str]:
    """Users on call at one level at instant t, in target order, without repeats."""
    if not 1 <= level <= len(policy.escalation_rules):
        return []
    users: list[str] = []
    for target in policy.escalation_rules[level - 1].targets:
        user: str | None
        if target.type in ("user_reference", "user"):
            user = target.id
        elif target.id in schedules:
            schedule, overrides = schedules[target.id]
            user = schedule_user_at(schedule, overrides, t)
        else:
            user = None
        if user and user not in users:
            users.append(user)
    return users
