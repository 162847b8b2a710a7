from __future__ import annotations

import pytest

from agent.pagerduty.catalog import Catalog
from agent.roster import (
    Ambiguous,
    Resolved,
    Unknown,
    resolve_escalation_policy,
    resolve_person,
    resolve_schedule,
)


def _user(catalog: Catalog, user_id: str):
    user = catalog.user(user_id)
    assert user is not None
    return user


@pytest.mark.parametrize(
    ("words", "schedule_id"),
    [
        ("Payments Primary", "S1"),  # exact name
        ("the payments primary rotation", "S1"),  # filler stripped
        ("Payments Secondary on-call", "S2"),
        ("weekly platform rotation", "S3"),
        ("Platform Weekly", "S3"),
        ("Night Watch shift", "S4"),
        ("Checkout rotation", "S1"),  # by a service its policy pages
        ("S2", "S2"),
        ("Weekly", "S3"),  # some words of the name
    ],
)
def test_schedule_resolved(catalog: Catalog, words: str, schedule_id: str) -> None:
    r = resolve_schedule(words, catalog)
    assert isinstance(r, Resolved), r
    assert r.value.id == schedule_id


def test_team_with_two_schedules_is_ambiguous(catalog: Catalog) -> None:
    r = resolve_schedule("Payments rotation", catalog)
    assert isinstance(r, Ambiguous)
    assert {s.id for s in r.candidates} == {"S1", "S2"}


def test_team_inherited_from_the_policy_counts(catalog: Catalog) -> None:
    # Night Watch has no team; the Platform policy pages it, so it is Platform's too.
    r = resolve_schedule("platform team schedule", catalog)
    assert isinstance(r, Ambiguous)
    assert {s.id for s in r.candidates} == {"S3", "S4"}
    mine = resolve_schedule("Platform rotation", catalog, person=_user(catalog, "U7"))
    assert isinstance(mine, Resolved) and mine.value.id == "S4"


def test_person_on_only_one_of_the_matches_decides(catalog: Catalog) -> None:
    r = resolve_schedule("Payments rotation", catalog, person=_user(catalog, "U2"))
    assert isinstance(r, Resolved) and r.value.id == "S2"
    assert "Elena Petrova" in r.why
    both = resolve_schedule("Payments rotation", catalog, person=_user(catalog, "U6"))
    assert isinstance(both, Ambiguous)


def test_resolved_schedule_without_the_person_says_so(catalog: Catalog) -> None:
    r = resolve_schedule("Platform Weekly rotation", catalog, person=_user(catalog, "U1"))
    assert isinstance(r, Resolved) and "not a member" in r.why


@pytest.mark.parametrize("words", [None, "", "his shift", "the rotation"])
def test_no_words_uses_the_persons_only_schedule(catalog: Catalog, words: str | None) -> None:
    r = resolve_schedule(words, catalog, person=_user(catalog, "U3"))
    assert isinstance(r, Resolved) and r.value.id == "S3"
    assert "exactly one" in r.why


def test_no_words_person_on_several(catalog: Catalog) -> None:
    r = resolve_schedule(None, catalog, person=_user(catalog, "U6"))
    assert isinstance(r, Ambiguous)
    assert {s.id for s in r.candidates} == {"S1", "S2"}


def test_no_words_person_on_none(catalog: Catalog) -> None:
    assert isinstance(resolve_schedule(None, catalog, person=_user(catalog, "U8")), Unknown)
    assert isinstance(resolve_schedule(None, catalog), Unknown)


@pytest.mark.parametrize(("words", "suggested"), [("Paymnts Primary", "S1"), ("Platfrom", "S3")])
def test_unknown_schedule_suggests(catalog: Catalog, words: str, suggested: str) -> None:
    r = resolve_schedule(words, catalog)
    assert isinstance(r, Unknown)
    assert suggested in [s.id for s in r.suggestions]


def test_unknown_schedule(catalog: Catalog) -> None:
    r = resolve_schedule("Billing rotation", catalog)
    assert isinstance(r, Unknown)
    assert "Billing rotation" in r.why


@pytest.mark.parametrize(
    ("words", "policy_id"),
    [
        ("Payments Escalation", "E1"),
        ("the Payments escalation policy", "E1"),
        ("Platform EP", "E2"),
        ("the Platform escalation policy as responder", "E2"),  # via team
        ("Kubernetes escalation policy", "E2"),  # via a service it covers
        ("E1", "E1"),
    ],
)
def test_escalation_policy(catalog: Catalog, words: str, policy_id: str) -> None:
    r = resolve_escalation_policy(words, catalog)
    assert isinstance(r, Resolved), r
    assert r.value.id == policy_id


@pytest.mark.parametrize("words", ["Billing escalation policy", "", None, "the escalation policy"])
def test_escalation_policy_unknown(catalog: Catalog, words: str | None) -> None:
    assert isinstance(resolve_escalation_policy(words, catalog), Unknown)


@pytest.mark.parametrize(
    ("words", "schedule_id"),
    [
        ("Infrastructure rotation", "PSINFR1"),
        ("his Core Backend shift", "PSCORE1"),
        ("Web Primary", "PSWEB01"),
    ],
)
def test_dev_account_schedules(dev_catalog: Catalog, words: str, schedule_id: str) -> None:
    r = resolve_schedule(words, dev_catalog)
    assert isinstance(r, Resolved) and r.value.id == schedule_id


def test_dev_account_person_schedule_and_policy(dev_catalog: Catalog) -> None:
    david = resolve_person("David", dev_catalog)
    assert isinstance(david, Resolved)
    r = resolve_schedule(None, dev_catalog, person=david.value)
    assert isinstance(r, Resolved) and r.value.id == "PSCORE1"
    ep = resolve_escalation_policy("Infrastructure escalation policy", dev_catalog)
    assert isinstance(ep, Resolved) and ep.value.id == "PEINFR1"
