"""The hand-written TF-IDF gives scikit-learn's scores (it replaced it to spare the CLI ~1 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction import text as sklearn_text  # type: ignore[import-untyped]  # dev only

from agent.history.index import normalise
from agent.history.tfidf import TfidfIndex, char_wb_ngrams

HERE = Path(__file__).parent
TITLES = [i["title"] for i in json.loads((HERE / "dev-history.json").read_text())["incidents"]]
ALERTS = [json.loads(line)["alert"] for line in (HERE / "dev-triage.jsonl").read_text().splitlines()
          if line.strip()]


def reference(docs: list[str], query: str) -> list[float]:
    vectorizer = sklearn_text.TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = vectorizer.fit_transform(docs)
    return (matrix @ vectorizer.transform([query]).T).toarray().ravel().tolist()


def test_ngrams_are_scikit_learns() -> None:
    analyzer = sklearn_text.TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()
    for text in ["a", "ab", "Checkout  5xx on eu-west", *TITLES[:20]]:
        assert char_wb_ngrams(text) == analyzer(text)


@pytest.mark.parametrize("alert", ALERTS[:12])
def test_scores_match_on_the_dev_history(alert: str) -> None:
    docs = [normalise(t) for t in TITLES]
    query = normalise(alert)
    assert TfidfIndex(docs).scores(query) == pytest.approx(reference(docs, query), abs=1e-9)


words = st.text(alphabet="abcdeé xyz59-", min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(docs=st.lists(words, min_size=1, max_size=8), query=words)
def test_scores_match_on_any_text(docs: list[str], query: str) -> None:
    docs = [d for d in docs if d.split()] or ["x y z"]
    assert TfidfIndex(docs).scores(query) == pytest.approx(reference(docs, query), abs=1e-9)
