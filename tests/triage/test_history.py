"""The account's past incidents as triage evidence: fetched over every page,
cached like the catalog, an index built once per copy, notes read for the
shown incidents only; symptom-only alerts named by what they resemble."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest

from agent.history import History, HistoryCache, HistoryIndex
from agent.pagerduty import PagerDutyClient
from agent.pagerduty.catalog import account_key
from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.triage import Intent, triage
from agent.triage.llm import evidence_message
from agent.triage.rules import triage_rules
from tests.conftest import SANDBOX_NOW

HERE = Path(__file__).parent
HISTORY = json.loads((HERE / "dev-history.json").read_text())
CASES = [json.loads(x) for x in (HERE / "dev-history-cases.jsonl").read_text().splitlines() if x]
TOKEN = "sandbox-token"


def with_history(account: dict, extra: int = 0) -> dict:
    """The dev account plus the dev history, and `extra` filler incidents (for paging)."""
    snap = copy.deepcopy(account)
    snap["incidents"] = [*snap.get("incidents", []), *copy.deepcopy(HISTORY["incidents"])]
    snap["notes"] = [*snap.get("notes", []), *copy.deepcopy(HISTORY["notes"])]
    template = HISTORY["incidents"][0]
    for n in range(extra):
        filler = copy.deepcopy(template)
        filler.update(
            id=f"PFILL{n:03d}",
            incident_number=9000 + n,
            title=f"Nightly batch {n} overran its window",
            incident_key=f"filler-{n}",
        )
        snap["incidents"].append(filler)
    return snap


@pytest.fixture(scope="module")
def index() -> HistoryIndex:
    return History.from_snapshot(HISTORY).index


@pytest.mark.parametrize("case", CASES, ids=[c["alert"][:40] for c in CASES])
def test_history_decides_symptom_only_alerts_and_pages_no_non_incident(case, dev_catalog, index):
    result = triage_rules(case["alert"], dev_catalog, history=index)
    if case["expected_service_id"] is None:
        assert result.intent == Intent.not_incident and result.service_id is None, result.reasons
        return
    assert (result.intent, result.service_id) == (Intent.page, case["expected_service_id"])
    said = next(r for r in result.reasons if "resembles #" in r)
    assert f"({result.candidates[0].name}, resolved in " in said
    assert result.similar and result.similar[0].service_id == case["expected_service_id"]


@pytest.mark.parametrize("case", [c for c in CASES if c["expected_service_id"]][:5])
def test_without_history_the_same_alerts_are_not_named(case, dev_catalog):
    """The cases above are history's doing: the words alone do not name their service."""
    assert triage_rules(case["alert"], dev_catalog).service_id is None


def test_reason_reads_like_the_issue(dev_catalog, index):
    result = triage_rules("Some subscribers got a double charge on renewal today", dev_catalog,
                          history=index)  # fmt: skip
    assert any(
        "resembles #4002 'Duplicate charges on subscription renewal' (Billing API, resolved in 95 min)"
        in r
        for r in result.reasons
    )


def test_words_and_history_disagreeing_ask_a_human(dev_catalog, index):
    # The words point at the Web Frontend (a browser); the past says TLS at the edge.
    result = triage_rules("Chrome says our connection is not private", dev_catalog, history=index)
    assert result.intent == Intent.page and result.service_id is None
    assert {"PWEB001", "PEDG001"} <= {c.id for c in result.candidates}
    assert any("a human picks" in r for r in result.reasons)


def test_weak_resemblance_only_lists_the_incidents(dev_catalog, index):
    result = triage_rules("the checkout is slow", dev_catalog, history=index)
    assert result.service_id is None
    assert not any("resembles" in r for r in result.reasons)


def test_an_empty_history_changes_nothing(dev_catalog):
    text = "Stripe webhooks to billing-api failing with 401 (SEV1)"
    empty = HistoryIndex([])
    assert triage_rules(text, dev_catalog, history=empty) == triage_rules(text, dev_catalog)


def test_the_model_is_shown_the_past_incidents(dev_catalog, index):
    rules = triage_rules("The iPhone feed spins forever", dev_catalog, history=index)
    message = evidence_message(rules, None)
    assert message is not None
    assert "#4021 'iPhone app feed spinner never stops' (Mobile API, resolved in 38 min)" in message
    assert "service PMOB002" in message


async def test_history_is_fetched_over_every_page_and_cached_on_disk(dev_account, tmp_path):
    snap = with_history(dev_account, extra=230)  # 260 resolved incidents: three pages of 100
    path = tmp_path / "agent.history.json"
    with running_sandbox(snap, clock=Clock(SANDBOX_NOW)) as sb:
        account = account_key(sb.base_url, TOKEN)
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:
            cache = HistoryCache(pd, days=None, path=path, account=account)
            index = await cache.index()
            assert len(index) == 1 + len(HISTORY["incidents"]) + 230
            assert pd.counter[("GET", "/incidents")] >= 3
            assert await cache.index() is index  # built once per copy
            listed = pd.counter.total
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:
            warm = HistoryCache(pd, days=None, path=path, account=account)
            assert len(await warm.index()) == len(index)
            assert pd.counter.total == 0  # a fresh process starts warm from the file
    assert listed >= 3


async def test_a_window_of_days_lists_only_recent_incidents(dev_account):
    snap = with_history(dev_account)
    old = snap["incidents"][-1]
    old["created_at"], old["resolved_at"] = "2019-03-01T10:00:00Z", "2019-03-01T11:00:00Z"
    with running_sandbox(snap, clock=Clock(SANDBOX_NOW)) as sb:
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:
            history = await HistoryCache(pd, days=365, now=lambda: SANDBOX_NOW).history()
    ids = {i.id for i in history.incidents}
    assert old["id"] not in ids and "PHIST01" in ids


async def test_notes_are_read_for_the_shown_incidents_only_and_once(
    dev_account, dev_catalog, settings
):
    with running_sandbox(with_history(dev_account), clock=Clock(SANDBOX_NOW)) as sb:
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:
            cache = HistoryCache(pd, days=None)
            await cache.index()
            pd.counter.reset()
            text = "Everyone keeps getting logged out after a couple of minutes"
            result = await triage(text, dev_catalog, settings, history=cache)
            shown = len(result.similar)
            assert result.service_id == "PRDS001" and 1 <= shown <= 3
            assert pd.counter[("GET", "/incidents/{id}/notes")] == shown
            assert pd.counter.total == shown
            top = result.similar[0]
            assert top.number == 4009 and "maxmemory" in (top.resolution or "")
            # The reasons (which the approval shows) say how it was resolved.
            assert any(r.startswith("past incident #4009") and "maxmemory" in r
                       for r in result.reasons)  # fmt: skip
            again = await triage(text, dev_catalog, settings, history=cache)
            assert pd.counter.total == shown  # kept: a resolved incident's notes are read once
            assert again.similar == result.similar


async def test_notes_of_several_incidents_are_read_at_once(dev_account):
    from agent.pagerduty.sandbox import Faults
    from tests.client.conftest import InFlight

    with running_sandbox(
        with_history(dev_account), clock=Clock(SANDBOX_NOW), faults=Faults(latency_s=0.1)
    ) as sb:
        transport = InFlight()
        async with PagerDutyClient(sb.base_url, TOKEN, transport=transport) as pd:
            cache = HistoryCache(pd, days=None)
            index = await cache.index()
            similar = index.similar("users logged out after signing in")
            assert len(similar) >= 2
            transport.peak = 0
            filled = await cache.resolutions(similar[:3])
    assert transport.peak == len(filled)
    assert all(s.resolution for s in filled)


def test_minutes_to_resolve_come_from_the_incident(index):
    by_number = {p.number: p for p in index.past}
    assert by_number[4001].minutes_to_resolve == 48
    assert timedelta(minutes=by_number[4027].minutes_to_resolve or 0) == timedelta(hours=4)


async def test_the_model_path_gets_the_history_and_cannot_drop_what_it_decided(dev_catalog, index):
    """Over real HTTP to the fake OpenAI server: the prompt carries the past
    incidents; a model that calls the alert nothing is overruled, and the
    approval still gets the similar incidents."""
    from agent.config import Settings
    from tests.fakes.openai_server import FakeOpenAI
    from tests.triage.test_llm import answer

    with FakeOpenAI() as server:
        llm = Settings(_env_file=None, openai_api_key=None, openai_base_url=server.base_url,
                       openai_model="fake")  # fmt: skip
        server.reply(answer(intent="not_incident", service_id=None, urgency=None, priority=None))
        dropped = await triage("The iPhone feed spins forever", dev_catalog, llm, history=index)
        server.reply(answer(intent="page", service_id="PEML001", urgency="high"))
        other = await triage("The iPhone feed spins forever", dev_catalog, llm, history=index)
        server.reply(answer(intent="page", service_id="PMOB002", urgency="high"))
        agreed = await triage("The iPhone feed spins forever", dev_catalog, llm, history=index)
    evidence = server.requests[0].messages[1]["content"]
    assert "#4021 'iPhone app feed spinner never stops' (Mobile API" in evidence
    assert (dropped.intent, dropped.service_id) == (Intent.page, "PMOB002")
    assert other.intent == Intent.page and other.service_id is None  # a human picks
    assert {"PMOB002", "PEML001"} <= {c.id for c in other.candidates}
    assert (agreed.source, agreed.service_id) == ("llm", "PMOB002")
    assert agreed.similar and agreed.similar[0].number == 4021


def test_an_incident_without_resolved_at_takes_its_last_status_change():
    from agent.history import PastIncident
    from agent.pagerduty.models import Incident

    incident = Incident.model_validate(
        {"id": "P1", "type": "incident", "title": "Queue stuck", "status": "resolved",
         "created_at": "2026-01-01T10:00:00Z", "last_status_change_at": "2026-01-01T10:30:00Z",
         "service": {"id": "PMQ0001", "type": "service_reference", "summary": "RabbitMQ"}}
    )  # fmt: skip
    assert PastIncident.of(incident).minutes_to_resolve == 30


async def test_notes_read_once_are_kept_for_the_next_process(dev_account, dev_catalog, settings, tmp_path):
    path = tmp_path / "agent.history.json"
    text = "Everyone keeps getting logged out after a couple of minutes"
    with running_sandbox(with_history(dev_account), clock=Clock(SANDBOX_NOW)) as sb:
        account = account_key(sb.base_url, TOKEN)
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:
            first = await triage(text, dev_catalog, settings,
                                 history=HistoryCache(pd, days=None, path=path, account=account))
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:  # a fresh process, warm files
            again = await triage(text, dev_catalog, settings,
                                 history=HistoryCache(pd, days=None, path=path, account=account))
            assert pd.counter.total == 0
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:  # another account's files: read
            other = HistoryCache(pd, days=None, path=path, account=account_key(sb.base_url, "other"))
            await triage(text, dev_catalog, settings, history=other)
            assert pd.counter[("GET", "/incidents/{id}/notes")] == len(first.similar)
    assert again.similar == first.similar and first.similar[0].resolution


async def test_requests_the_words_decide_read_no_history(dev_account, dev_catalog, settings):
    with running_sandbox(with_history(dev_account), clock=Clock(SANDBOX_NOW)) as sb:
        async with PagerDutyClient(sb.base_url, TOKEN) as pd:
            cache = HistoryCache(pd, days=None)
            for words in ("who is on call right now?", "list open incidents", "acknowledge #1"):
                result = await triage(words, dev_catalog, settings, history=cache)
                assert result.intent != Intent.page, words
            assert pd.counter.total == 0
