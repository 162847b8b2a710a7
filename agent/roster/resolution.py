"""The three outcomes of matching a person's words against the account.

A resolver never guesses between several candidates: it says `Resolved` with
the reason it is sure, `Ambiguous` with every candidate (the graph asks the
human to pick), or `Unknown` with close suggestions (the graph asks again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar, Union

T = TypeVar("T")


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """Exactly one object matches; `why` says which rule decided it."""

    value: T
    why: str


@dataclass(frozen=True)
class Ambiguous(Generic[T]):
    """Several objects match equally well; a human has to choose."""

    candidates: list[T]
    why: str


@dataclass(frozen=True)
class Unknown(Generic[T]):
    """Nothing matches; `suggestions` are close spellings (possibly none)."""

    words: str
    suggestions: list[T] = field(default_factory=list)
    why: str = ""


Resolution = Union[Resolved[T], Ambiguous[T], Unknown[T]]  # noqa: UP007 - generic alias
