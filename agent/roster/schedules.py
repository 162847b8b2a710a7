"""Which schedule ("Infrastructure rotation", "his Core Backend shift") or
escalation policy ("the Infrastructure escalation policy") do the words mean?

People name a rotation by its team or service more often than by its exact
name, so an object answers to its name, its team's name and the names of the
services it serves. Rules go from the most to the least specific; the first
rule that matches decides, and several matches are `Ambiguous`, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import EscalationPolicy, Schedule, User
from agent.roster._text import close_matches, fold, strip_words, words_of
from agent.roster.resolution import Ambiguous, Resolution, Resolved, Unknown

__all__ = ["resolve_escalation_policy", "resolve_schedule", "schedule_members"]

T = TypeVar("T", Schedule, EscalationPolicy)

# Words that never tell two objects apart: dropped from the words and the names.
_FILLER = {
    "the", "a", "his", "her", "their", "my", "our", "your", "this", "that", "current",
    "rotation", "rotations", "shift", "shifts", "schedule", "schedules", "roster",
    "on-call", "oncall", "on call", "team", "teams", "s", "of", "for", "in",
}  # fmt: skip
# Words that do tell objects apart ("Primary" vs "Secondary") but are often
# left out: dropped only in the second, looser rule.
_QUALIFIERS = {"primary", "main", "default"}
_POLICY_FILLER = _FILLER | {
    "escalation", "escalations", "policy", "policies", "ep", "eps", "responder", "responders",
    "as", "add", "level",
}  # fmt: skip


def _core(text: str, drop: Iterable[str]) -> tuple[str, ...]:
    return tuple(strip_words(words_of(text), drop))


def _team_names(catalog: Catalog, refs: Iterable[object]) -> list[str]:
    names = []
    for ref in refs:
        team = next((t for t in catalog.teams if t.id == getattr(ref, "id", None)), None)
        name = team.name if team else getattr(ref, "summary", None)
        if name:
            names.append(name)
    return names


def _schedule_teams(catalog: Catalog, schedule: Schedule) -> list[str]:
    """The schedule's own teams, else the teams of the policies that page it."""
    refs: list[object] = list(schedule.teams)
    if not refs:
        for p in _policies_targeting(catalog, schedule.id):
            refs.extend(p.teams)
    return _team_names(catalog, refs)


def _policies_targeting(catalog: Catalog, schedule_id: str) -> list[EscalationPolicy]:
    return [
        p
        for p in catalog.escalation_policies
        if any(t.id == schedule_id for r in p.escalation_rules for t in r.targets)
    ]


def _service_names(catalog: Catalog, policy_ids: set[str]) -> list[str]:
    return [s.name for s in catalog.services if s.escalation_policy.id in policy_ids]


def schedule_members(schedule: Schedule) -> set[str]:
    """Ids of the users on any layer of the schedule."""
    ids = {u.id for u in schedule.users}
    ids.update(lu.user.id for layer in schedule.schedule_layers for lu in layer.users)
    return ids


def _match(
    words: str,
    items: list[T],
    *,
    kind: str,
    filler: set[str],
    names: Callable[[T], str],
    teams: Callable[[T], list[str]],
    services: Callable[[T], list[str]],
) -> list[tuple[str, list[T]]]:
    """[(rule, matches)] for the first rule that matches anything."""
    loose = filler | _QUALIFIERS
    q_exact = _core(words, filler)
    q_loose = _core(words, loose)
    rules: list[tuple[str, Callable[[T], bool]]] = [
        ("id", lambda x: x.id.lower() == words.strip().lower()),
        ("name", lambda x: bool(q_exact) and _core(names(x), filler) == q_exact),
        (
            "name or team",
            lambda x: (
                bool(q_loose)
                and (
                    _core(names(x), loose) == q_loose
                    or any(_core(t, loose) == q_loose for t in teams(x))
                )
            ),
        ),
        (
            "service",
            lambda x: bool(q_loose) and any(_core(s, loose) == q_loose for s in services(x)),
        ),
        (
            "words of its name, team or service",
            lambda x: (
                bool(q_loose)
                and any(
                    set(q_loose) <= set(_core(n, loose))
                    for n in [names(x), *teams(x), *services(x)]
                )
            ),
        ),
    ]
    for label, rule in rules:
        hits = [x for x in items if rule(x)]
        if hits:
            return [(label, hits)]
    return []


def _decide(
    words: str,
    kind: str,
    matched: list[tuple[str, list[T]]],
    items: list[T],
    names: Callable[[T], str],
    teams: Callable[[T], list[str]],
    person: User | None = None,
    members: Callable[[T], set[str]] | None = None,
) -> Resolution[T]:
    if not matched:
        suggestions = close_matches(
            " ".join(_core(words, _FILLER)) or words,
            items,
            lambda x: [fold(names(x)), *(fold(t) for t in teams(x))],
        )
        hint = (
            " Did you mean " + " or ".join(names(s) for s in suggestions) + "?"
            if suggestions
            else ""
        )
        known = ", ".join(names(x) for x in items[:10]) + (", …" if len(items) > 10 else "")
        return Unknown(
            words, suggestions, f"No {kind} matches '{words}' (known: {known or 'none'}).{hint}"
        )
    label, hits = matched[0]
    if len(hits) > 1 and person is not None and members is not None:
        with_person = [h for h in hits if person.id in members(h)]
        if len(with_person) == 1:
            h = with_person[0]
            return Resolved(
                h,
                f"'{words}' matches {len(hits)} {kind}s by {label}; only {names(h)} has "
                f"{person.name} on it.",
            )
    if len(hits) > 1:
        listed = ", ".join(names(h) for h in hits)
        return Ambiguous(hits, f"'{words}' matches {len(hits)} {kind}s by {label}: {listed}.")
    h = hits[0]
    why = f"'{words}' matches {kind} {names(h)} by {label}."
    if person is not None and members is not None and person.id not in members(h):
        why += f" Note: {person.name} is not a member of {names(h)}."
    return Resolved(h, why)


def resolve_schedule(
    words: str | None, catalog: Catalog, *, person: User | None = None
) -> Resolution[Schedule]:
    """Match `words` to one schedule by id, name, team or service name.

    Without words (or only filler like "his shift") the person's schedule is
    used if they are on exactly one. Several matches but only one with the
    person on it: that one, and `why` says so.
    """
    schedules = catalog.schedules

    def teams(s: Schedule) -> list[str]:
        return _schedule_teams(catalog, s)

    def services(s: Schedule) -> list[str]:
        return _service_names(catalog, {p.id for p in _policies_targeting(catalog, s.id)})

    if not words or not _core(words, _FILLER):
        if person is None:
            return Unknown(words or "", [], "No schedule was named and no person given.")
        theirs = [s for s in schedules if person.id in schedule_members(s)]
        if len(theirs) == 1:
            s = theirs[0]
            return Resolved(s, f"No schedule named; {person.name} is on exactly one: {s.name}.")
        if theirs:
            listed = ", ".join(s.name for s in theirs)
            return Ambiguous(
                theirs, f"No schedule named; {person.name} is on {len(theirs)}: {listed}."
            )
        return Unknown(words or "", [], f"No schedule named, and {person.name} is on none.")

    matched = _match(
        words,
        schedules,
        kind="schedule",
        filler=_FILLER,
        names=lambda s: s.name,
        teams=teams,
        services=services,
    )
    return _decide(
        words, "schedule", matched, schedules, lambda s: s.name, teams, person, schedule_members
    )


def resolve_escalation_policy(words: str | None, catalog: Catalog) -> Resolution[EscalationPolicy]:
    """Match `words` ("the Infrastructure escalation policy") to one policy by
    id, name, team, or the name of a service it covers."""
    policies = catalog.escalation_policies

    def teams(p: EscalationPolicy) -> list[str]:
        return _team_names(catalog, p.teams)

    def services(p: EscalationPolicy) -> list[str]:
        return [r.summary for r in p.services if r.summary] + _service_names(catalog, {p.id})

    if not words or not _core(words, _POLICY_FILLER):
        return Unknown(words or "", [], "No escalation policy was named.")
    matched = _match(
        words,
        policies,
        kind="escalation policy",
        filler=_POLICY_FILLER,
        names=lambda p: p.name,
        teams=teams,
        services=services,
    )
    return _decide(words, "escalation policy", matched, policies, lambda p: p.name, teams)
