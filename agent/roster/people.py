"""Which account user do the words "Elena", "Sokolova" or "elena@…" mean?

Rules are tried from the most to the least specific; the first rule that
matches anyone decides, and if it matches several users the answer is
`Ambiguous` – a stronger rule may pick one user, a weaker one never does.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import User
from agent.roster._text import close_matches, fold, words_of
from agent.roster.resolution import Ambiguous, Resolution, Resolved, Unknown

__all__ = ["resolve_person"]


def _local(user: User) -> str:
    return fold(user.email).split("@", 1)[0]


def _initial_match(query: list[str], name: list[str]) -> bool:
    """For "E Sokolova" or "Elena S": each word is a name word or its initial, in order."""
    if len(query) != len(name) or len(query) < 2:
        return False
    full = 0
    for q, n in zip(query, name, strict=True):
        if q == n:
            full += 1
        elif not (len(q) == 1 and n.startswith(q)):
            return False
    return full >= 1


def _rules(query: str) -> list[tuple[str, Callable[[User], bool]]]:
    q_words = words_of(query)
    q_joined = " ".join(q_words)
    q_dotted = q_joined.replace(" ", ".")
    single = len(q_words) == 1
    return [
        ("id", lambda u: u.id.lower() == query.lower()),
        ("email", lambda u: "@" in query and fold(u.email) == fold(query)),
        ("full name", lambda u: words_of(u.name) == q_words),
        ("email name", lambda u: "@" not in query and _local(u) in {q_joined, q_dotted}),
        # First, middle and last name in one rule: a first-name hit must not
        # outrank someone else's last-name hit.
        ("first or last name", lambda u: single and q_words[0] in words_of(u.name)),
        ("name", lambda u: not single and _contains_in_order(words_of(u.name), q_words)),
        ("initials", lambda u: _initial_match(q_words, words_of(u.name))),
    ]


def _contains_in_order(name: list[str], query: list[str]) -> bool:
    it = iter(name)
    return all(q in it for q in query)


def resolve_person(words: str, catalog: Catalog) -> Resolution[User]:
    """Match `words` to one user by id, email, full name, email local part,
    any one part of the name, or initials – case- and accent-insensitive.

    First and last names share one rule, so "Clark" when one user is Clark
    Kent and another Susan Clark is `Ambiguous`, not a guess.
    """
    query = (words or "").strip().lstrip("@")
    if not words_of(query):
        return Unknown(words, [], "No person was named.")
    users = catalog.users
    for label, rule in _rules(query):
        hits = [u for u in users if rule(u)]
        if len(hits) == 1:
            u = hits[0]
            return Resolved(u, f"'{query}' matches the {label} of {u.name} <{u.email}>.")
        if hits:
            names = ", ".join(f"{u.name} <{u.email}>" for u in hits)
            return Ambiguous(hits, f"{len(hits)} users match '{query}' by {label}: {names}.")
    suggestions = close_matches(
        query if "@" not in query else query.split("@")[0].replace(".", " "),
        users,
        lambda u: [fold(u.name), *words_of(u.name), _local(u)],
    )
    hint = (
        " Did you mean " + " or ".join(f"{u.name} <{u.email}>" for u in suggestions) + "?"
        if suggestions
        else ""
    )
    return Unknown(words, suggestions, f"No user in the account matches '{query}'.{hint}")
