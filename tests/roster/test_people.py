from __future__ import annotations

import pytest

from agent.pagerduty.catalog import Catalog
from agent.roster import Ambiguous, Resolved, Unknown, resolve_person


@pytest.mark.parametrize(
    ("words", "user_id"),
    [
        ("Elena Petrova", "U2"),
        ("elena sokolova", "U1"),
        ("Sokolova", "U1"),
        ("PETROVA", "U2"),
        ("e.petrova@example.com", "U2"),
        ("E.Petrova@Example.COM", "U2"),
        ("elena.sokolova", "U1"),  # email local part
        ("e.petrova", "U2"),
        ("@mlee", "U7"),  # a chat handle
        ("Jose", "U3"),  # accent-insensitive both ways
        ("álvarez", "U3"),
        ("JOSÉ ÁLVAREZ", "U3"),
        ("Jose Alvarez", "U3"),
        ("E Petrova", "U2"),  # initial
        ("Elena S.", "U1"),
        ("Marcus", "U7"),
        ("Marcus's", "U7"),
        ("U6", "U6"),
    ],
)
def test_resolved(catalog: Catalog, words: str, user_id: str) -> None:
    r = resolve_person(words, catalog)
    assert isinstance(r, Resolved), r
    assert r.value.id == user_id
    assert r.why


@pytest.mark.parametrize(
    ("words", "ids"),
    [
        ("Elena", {"U1", "U2"}),  # two users with the same first name
        ("elena", {"U1", "U2"}),
        ("Clark", {"U4", "U5"}),  # first name of one, last name of another: no guess
    ],
)
def test_ambiguous(catalog: Catalog, words: str, ids: set[str]) -> None:
    r = resolve_person(words, catalog)
    assert isinstance(r, Ambiguous), r
    assert {u.id for u in r.candidates} == ids
    assert "Elena" in r.why or "Clark" in r.why


@pytest.mark.parametrize(
    ("words", "suggested"),
    [
        ("Sara", "U6"),
        ("Marco", "U7"),
        ("Sokolov", "U1"),
        ("sarah.conor@example.com", "U6"),
    ],
)
def test_unknown_with_suggestion(catalog: Catalog, words: str, suggested: str) -> None:
    r = resolve_person(words, catalog)
    assert isinstance(r, Unknown), r
    assert r.words == words
    assert suggested in [u.id for u in r.suggestions]
    assert "Did you mean" in r.why


@pytest.mark.parametrize("words", ["Quentin", "", "   ", "her"])
def test_unknown_without_suggestion(catalog: Catalog, words: str) -> None:
    r = resolve_person(words, catalog)
    assert isinstance(r, Unknown)
    assert r.suggestions == []


def test_dev_account(dev_catalog: Catalog) -> None:
    r = resolve_person("Elena", dev_catalog)
    assert isinstance(r, Resolved) and r.value.name == "Elena Sokolova"
    sarah = resolve_person("Sarah", dev_catalog)
    assert isinstance(sarah, Unknown)
