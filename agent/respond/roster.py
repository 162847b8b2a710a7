"""Who covers whom: a schedule override, checked against who is on call in the window.

`plan_override` reads the words on the requester's clock, finds the schedule,
the person leaving (who must be on call then) and the person covering, and
returns the plan, a question, or a refusal; `propose_override` turns a plan
into the write.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.actions import ActionError, Proposal, build_proposal
from agent.config import Settings
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.models import Schedule, User
from agent.respond.people import who
from agent.respond.questions import person, person_candidates, schedule_candidates
from agent.respond.state import Back, Question, Refusal, RosterPlan
from agent.roster import (
    Resolved,
    Segment,
    TimeWindowError,
    Unknown,
    Window,
    covers_window,
    on_call_segments,
    parse_window,
    resolve_schedule,
    schedule_members,
)
from agent.triage import TriageResult

__all__ = ["plan_override", "propose_override", "requester_zone", "segments_text"]

BACK: Back = "check_roster"


def requester_zone(settings: Settings, requester: User | None) -> tuple[str, str]:
    """(zone, why). An explicitly configured DEFAULT_TIME_ZONE wins; else the
    requester's (PAGERDUTY_FROM's) PagerDuty time zone; else UTC."""
    if "default_time_zone" in settings.model_fields_set:
        return settings.default_time_zone, "DEFAULT_TIME_ZONE"
    zone = requester.time_zone if requester is not None else None
    if requester is not None and zone:
        try:
            ZoneInfo(zone)
            return zone, f"{requester.name}'s PagerDuty time zone"
        except (ValueError, KeyError):
            pass
    return settings.default_time_zone, "the default time zone"


def segments_text(segments: list[Segment], window: Window) -> str:
    """"David Miller (whole window)" or "David Miller until Sat 21 Nov 09:00 UTC, Elena …"."""
    if not segments:
        return "nobody"
    zone = ZoneInfo(window.tz)
    parts = []
    for s in segments:
        if s.start <= window.start and s.end >= window.end:
            parts.append(f"{s.user.summary} (the whole window)")
        else:
            a, b = s.start.astimezone(zone), s.end.astimezone(zone)
            parts.append(f"{s.user.summary} {a:%a %d %b %H:%M} → {b:%a %d %b %H:%M %Z}")
    return ", ".join(parts)


async def plan_override(
    request: TriageResult,
    prompt: str,
    *,
    choices: dict[str, str],
    catalog: Catalog,
    pd: PagerDutyClient,
    settings: Settings,
    requester: User | None,
    now: datetime,
) -> RosterPlan | Question | Refusal:
    """Who hands over to whom, on which schedule, when; then who is on call then.

    Time words are read on the requester's clock; the person leaving must be on
    call in the window; the covering person must be a user of the account.
    """
    tz, tz_why = requester_zone(settings, requester)
    try:
        window = parse_window(prompt, now=now, tz=tz)
    except TimeWindowError as exc:
        return Refusal(why=f"{exc} Nothing was changed.")

    def find(words: str | None, role: str) -> User | Question | Refusal:
        return who(words or "", role, choices=choices, catalog=catalog, requester=requester,
                   back=BACK, about=prompt)

    leaving: User | None = None
    if request.leaving or "leaving" in choices:
        got = find(request.leaving, "leaving")
        if not isinstance(got, User):
            return got
        leaving = got
    reasons = [f"times read in {tz} ({tz_why})"]
    found = _schedule(request, choices, catalog, leaving, prompt)
    if isinstance(found, Question):
        return found
    schedule, why = found
    reasons += [why] if why else []
    if not (request.covering or "covering" in choices):
        others = [person(u, "a user of this account") for u in catalog.users
                  if leaving is None or u.id != leaving.id]
        return Question(kind="person", role="covering", text=f"Who should cover {schedule.name} "
                        f"{window.describe()}?", candidates=others, back=BACK, about=prompt)
    covering = find(request.covering, "covering")
    if not isinstance(covering, User):
        return covering
    on_schedule, covering_elsewhere = await asyncio.gather(
        pd.oncalls(schedule_ids=[schedule.id], since=window.start_utc, until=window.end_utc),
        pd.oncalls(user_ids=[covering.id], since=window.start_utc, until=window.end_utc),
    )
    segments = on_call_segments(on_schedule, schedule_id=schedule.id, window=window)
    on_call = [u for u in (catalog.user(i) for i in dict.fromkeys(s.user.id for s in segments)) if u]
    before = segments_text(segments, window)
    then = f"on call on {schedule.name} then"
    if leaving is None:
        if len(on_call) != 1:
            members = [u for u in catalog.users if u.id in schedule_members(schedule)]
            candidates = ([person(u, then) for u in on_call]
                          or person_candidates(Unknown(""), members, schedule.name))
            return Question(kind="person", role="leaving", text=f"Who hands over {schedule.name} "
                            f"{window.describe()}? On call then: {before}.", candidates=candidates,
                            back=BACK, about=prompt)
        leaving = on_call[0]
        reasons.append(f"{leaving.name} is the only person on call on {schedule.name} in that window")
    covered = covers_window(on_schedule, leaving.id, schedule.id, window)
    if covered is False:
        return Question(
            kind="person", role="leaving", back=BACK, about=prompt, forget=["leaving"],
            text=f"{leaving.name} is not on call on {schedule.name} in that window "
                 f"({window.describe()}; on call then: {before}). Choose the person leaving or reject.",
            candidates=[person(u, then) for u in on_call])
    if covering.id == leaving.id:
        return Refusal(why=f"{covering.name} cannot cover for themselves; nothing was changed.")
    if covers_window(on_schedule, covering.id, schedule.id, window) is True:
        return Refusal(why=f"{covering.name} is already on call on {schedule.name} for that whole "
                           "window; nothing was changed.")
    if covered == "partial":
        reasons.append(f"{leaving.name} is on call for only part of the window; the override "
                       f"puts {covering.name} on call for all of it")
    else:
        reasons.append(f"{leaving.name} is on call on {schedule.name} for the whole window")
    if covering.id not in schedule_members(schedule):
        reasons.append(f"note: {covering.name} is not a member of {schedule.name}")
    elsewhere = sorted({o.schedule.summary or o.schedule.id for o in covering_elsewhere
                        if o.schedule is not None and o.schedule.id != schedule.id})
    if elsewhere:
        reasons.append(f"note: {covering.name} is also on call then for {', '.join(elsewhere)}")
    return RosterPlan(
        schedule_id=schedule.id, schedule=schedule.name,
        leaving_id=leaving.id, leaving=leaving.name,
        covering_id=covering.id, covering=covering.name,
        start=window.start.isoformat(), end=window.end.isoformat(),
        start_utc=window.start_utc, end_utc=window.end_utc, time_zone=window.tz,
        window=window.describe(), notes=list(window.notes),
        before=before, after=f"{covering.name} (the whole window)", reasons=reasons,
    )  # fmt: skip


def _schedule(
    request: TriageResult, choices: dict[str, str], catalog: Catalog, leaving: User | None, prompt: str
) -> tuple[Schedule, str | None] | Question:
    """The schedule (and why, unless the human chose it), or which one."""
    if "schedule" in choices and (chosen := catalog.schedule(choices["schedule"])) is not None:
        return chosen, None
    found = resolve_schedule(request.schedule_words, catalog, person=leaving)
    if isinstance(found, Resolved):
        return found.value, found.why
    return Question(kind="schedule", role="schedule", text=f"Which schedule? {found.why}".strip(),
                    candidates=schedule_candidates(found, catalog.schedules, request.schedule_words),
                    back=BACK, about=prompt)



def propose_override(plan: RosterPlan, request: TriageResult, catalog: Catalog) -> Proposal | Refusal:
    """The override write, with the window, what it changes and why."""
    fields = {
        "schedule_id": plan.schedule_id,
        "user_id": plan.covering_id,
        "start": plan.start,
        "end": plan.end,
        "time_zone": plan.time_zone,
        "replaces_user_id": plan.leaving_id,
    }
    reasons = [f"window: {plan.window} ({plan.start_utc} → {plan.end_utc})", *plan.notes,
               *plan.reasons, *request.reasons]
    effects = [f"on call for {plan.schedule} before: {plan.before}", f"after: {plan.after}"]
    try:
        return build_proposal("create_override", fields, catalog, reasons=reasons, effects=effects)
    except ActionError as exc:
        return Refusal(why=str(exc))
