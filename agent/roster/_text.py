"""Text normalisation shared by the resolvers: case- and accent-insensitive."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

_NON_WORD = re.compile(r"[^\w@.+-]+")


def fold(text: str) -> str:
    """Lower-case, strip accents (É -> e, ß -> ss), collapse spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def words_of(text: str) -> list[str]:
    """Folded words, punctuation dropped; a trailing possessive 's goes too."""
    folded = fold(text).replace("’", "'")
    folded = re.sub(r"'s\b", "", folded)
    out = []
    for w in _NON_WORD.split(folded.replace("'", "")):
        w = w.strip(".-+")
        if w:
            out.append(w)
    return out


def strip_words(words: Sequence[str], drop: Iterable[str]) -> list[str]:
    """`words` without any of `drop` (multi-word entries like "on call" too)."""
    singles = {d for d in drop if " " not in d}
    phrases = [d.split() for d in drop if " " in d]
    out: list[str] = []
    i = 0
    while i < len(words):
        for p in phrases:
            if list(words[i : i + len(p)]) == p:
                i += len(p)
                break
        else:
            if words[i] not in singles:
                out.append(words[i])
            i += 1
    return out


def close_matches(
    query: str, items: Sequence[T], keys: Callable[[T], Iterable[str]], *, n: int = 3
) -> list[T]:
    """Items one of whose folded keys is spelt like `query` (difflib), best first."""
    index: dict[str, list[T]] = {}
    for item in items:
        for k in keys(item):
            if k:
                index.setdefault(k, []).append(item)
    out: list[T] = []
    for key in difflib.get_close_matches(fold(query), list(index), n=n * 3, cutoff=0.6):
        for item in index[key]:
            if all(item is not o for o in out):
                out.append(item)
    return out[:n]
