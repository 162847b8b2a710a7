"""bench/triage_eval.py end to end: the dev cases through the rules path and
through a model served over real HTTP (the fake OpenAI server) that answers
as badly as a small model can. The model path must never mislead more."""

from __future__ import annotations

import json

import pytest

from bench import triage_eval
from tests.fakes.openai_server import FakeOpenAI
from tests.triage.conftest import ALERT_CASES, DEV_ACCOUNT, DEV_CASES, WORDS_CASES
from tests.triage.test_llm import answer


@pytest.fixture
def cases(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(DEV_CASES.read_text() + WORDS_CASES.read_text() + ALERT_CASES.read_text())
    return path


def _run(cases, server, tmp_path, capsys):
    out = tmp_path / "pred.jsonl"
    code = triage_eval.main(
        [str(cases), "--account", str(DEV_ACCOUNT), "--base-url", server.base_url,
         "--model", "fake", "--out", str(out), "--json"]
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return code, summary, rows


@pytest.mark.slow
@pytest.mark.parametrize(
    "bad_answer",
    [
        answer(intent="not_incident", service_id=None, urgency=None, priority=None),
        answer(intent="page", service_id="PBIL001", urgency="high"),
        answer(intent="page", service_id="PEML001", service_words=None, urgency="low"),
    ],
    ids=["always-not-incident", "always-billing", "always-email"],
)
def test_a_bad_model_never_misleads_more_than_the_rules(bad_answer, cases, tmp_path, capsys):
    n = len(cases.read_text().splitlines())
    with FakeOpenAI() as server:
        server.reply(bad_answer, times=n)
        code, summary, rows = _run(cases, server, tmp_path, capsys)
        assert server.requests  # the model was really asked
    assert summary["rules"]["misleading"] == 0 and summary["rules"]["right"] == n
    assert summary["model"]["misleading"] <= summary["rules"]["misleading"]
    assert summary["model"]["dropped"] == 0 and summary["model"]["noise"] == 0
    assert code == 0
    assert all("seconds" in r["model"] for r in rows)


def test_buckets():
    from agent.triage import Intent, TriageResult

    page = TriageResult(intent=Intent.page, service_id="A")
    asked = TriageResult(intent=Intent.page)
    nothing = TriageResult(intent=Intent.not_incident)
    real = {"expected_service_id": "A"}
    noise = {"expected_service_id": None}
    assert [triage_eval.bucket(real, r) for r in (page, asked, nothing)] == [
        "right",
        "asked",
        "dropped",
    ]
    assert triage_eval.bucket({"expected_service_id": "B"}, page) == "wrong"
    assert [triage_eval.bucket(noise, r) for r in (page, asked, nothing)] == [
        "noise",
        "asked",
        "right",
    ]
    assert triage_eval.bucket({"expected_intent": "override"}, page) == "wrong"


@pytest.mark.slow
def test_history_decides_in_the_bench_and_a_bad_model_does_not_undo_it(tmp_path, capsys):
    """The account's past incidents, served by a sandbox and read through
    HistoryCache, name the services of symptom-only alerts; a model that
    always answers 'not an incident' cannot drop them."""
    from tests.triage.test_history import CASES, HERE

    cases = HERE / "dev-history-cases.jsonl"
    out = tmp_path / "pred.jsonl"
    with FakeOpenAI() as server:
        server.reply(
            answer(intent="not_incident", service_id=None, urgency=None, priority=None),
            times=len(CASES),
        )
        code = triage_eval.main(
            [str(cases), "--account", str(DEV_ACCOUNT), "--history", str(HERE / "dev-history.json"),
             "--base-url", server.base_url, "--model", "fake", "--out", str(out), "--json"]
        )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["rules"]["right"] == len(CASES) and summary["rules"]["misleading"] == 0
    assert summary["model"]["misleading"] == 0 and code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    paged = [r for r in rows if r["rules"]["intent"] == "page"]
    assert paged and all(any("resembles #" in x for x in r["rules"]["reasons"]) for r in paged)


def test_without_history_the_symptom_only_cases_are_not_named(capsys):
    from tests.triage.test_history import CASES, HERE

    triage_eval.main(
        [str(HERE / "dev-history-cases.jsonl"), "--account", str(DEV_ACCOUNT), "--no-history",
         "--json"]
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["rules"]["right"] < len(CASES)  # the history cases are history's doing
