"""TF-IDF over character n-grams within words, with an inverted index.

Written by hand, to the formula of scikit-learn's
`TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)`
(smooth idf, 1 + log tf, l2 rows), because importing scikit-learn with NumPy
and SciPy cost every CLI alert about 1.3 s for a few hundred titles.
`tests/triage/test_tfidf.py` checks the scores against scikit-learn's.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_SPACES = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, min_n: int = 3, max_n: int = 5) -> list[str]:
    """Each word padded with a space each side, cut into n-grams; a word shorter than n
    counts once, whole (scikit-learn's `char_wb`)."""
    grams: list[str] = []
    for word in _SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(min_n, max_n + 1):
            if len(padded) <= n:
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {g: w / norm for g, w in weights.items()} if norm else {}


class TfidfIndex:
    """Documents as unit TF-IDF vectors; `scores(query)` is the cosine with each."""

    def __init__(self, docs: Sequence[str]) -> None:
        counts = [Counter(char_wb_ngrams(d)) for d in docs]
        df = Counter(g for c in counts for g in c)
        n = len(docs)
        self.idf = {g: math.log((1 + n) / (1 + k)) + 1 for g, k in df.items()}
        self.size = n
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for i, c in enumerate(counts):
            for g, w in self._vector(c).items():
                self._postings.setdefault(g, []).append((i, w))

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        return _unit({g: (1 + math.log(k)) * self.idf[g] for g, k in counts.items() if g in self.idf})

    def scores(self, query: str) -> list[float]:
        out = [0.0] * self.size
        for g, q in self._vector(Counter(char_wb_ngrams(query))).items():
            for i, w in self._postings[g]:
                out[i] += q * w
        return out
