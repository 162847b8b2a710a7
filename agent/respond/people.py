"""Who the words mean: one user of the account, a question, or a refusal."""

from __future__ import annotations

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import User
from agent.respond.questions import person_candidates
from agent.respond.state import Back, Question, Refusal
from agent.roster import Resolved, resolve_person


def who(
    words: str,
    role: str,
    *,
    choices: dict[str, str],
    catalog: Catalog,
    requester: User | None,
    back: Back,
    about: str,
) -> User | Question | Refusal:
    """The user `words` mean for `role` ("assignee", "covering", ...); the human's
    earlier choice for the role wins; "me" is the requester."""
    chosen = catalog.user(choices[role]) if role in choices else None
    if chosen is not None:
        return chosen
    if words == "me":
        if requester is None:
            return Refusal(why="'me' needs PAGERDUTY_FROM set to your PagerDuty email; nothing was changed.")
        return requester
    found = resolve_person(words, catalog)
    if isinstance(found, Resolved):
        return found.value
    return Question(
        kind="person",
        role=role,
        text=f"Who is meant by {words!r} ({role})? {found.why}".strip(),
        candidates=person_candidates(found, catalog.users, words),
        back=back,
        about=about,
    )
