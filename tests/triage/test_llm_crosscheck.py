"""A model never makes triage worse (issue 15 item 6): its intent and its
service are checked against the rules' evidence. Over real HTTP against the
fake OpenAI server, so ChatOpenAI's request and parse code runs."""

from __future__ import annotations

import pytest

from agent.config import Settings
from agent.triage import Intent, triage
from agent.triage.alert import AlertFields
from tests.fakes.openai_server import FakeOpenAI
from tests.triage.test_llm import answer


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm_settings(server) -> Settings:
    return Settings(
        _env_file=None, openai_api_key=None, openai_base_url=server.base_url, openai_model="fake"
    )


async def test_a_real_low_severity_alert_called_not_an_incident_is_still_paged(
    server, llm_settings, dev_catalog
):
    server.reply(answer(intent="not_incident", service_id="PRDS001", urgency=None))
    result = await triage(
        "Redis memory usage 92% on the sessions cluster (warning)", dev_catalog, llm_settings
    )
    assert (result.intent, result.service_id, result.urgency) == (Intent.page, "PRDS001", "low")
    assert any("the model said not_incident" in r for r in result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "Can you review my PR #88 for the billing-api webhook retries?",
        "FYI: Public API v3 goes live next Tuesday",
        "How do I rotate the Postgres password?",
    ],
)
async def test_the_model_cannot_page_a_recognised_non_incident(
    text, server, llm_settings, dev_catalog
):
    server.reply(answer(intent="page", service_id="PBIL001", urgency="high"))
    result = await triage(text, dev_catalog, llm_settings)
    assert result.intent == Intent.not_incident and result.service_id is None
    assert any("nobody is paged" in r for r in result.reasons)


async def test_a_model_page_with_no_evidence_asks_a_human(server, llm_settings, dev_catalog):
    server.reply(answer(intent="page", service_id="PBIL001", service_words=None))
    result = await triage("the numbers look odd today", dev_catalog, llm_settings)
    assert result.intent == Intent.page and result.service_id is None
    assert any("a human decides" in r for r in result.reasons)


async def test_when_rules_are_unsure_a_pick_outside_their_top_goes_to_a_human(
    server, llm_settings, dev_catalog
):
    server.reply(answer(service_id="PEML001", service_words="search"))
    result = await triage("search is slow", dev_catalog, llm_settings)
    assert result.service_id is None
    ids = [c.id for c in result.candidates]
    assert ids[0] == "PSRC001" and "PEML001" in ids  # the model's pick stays choosable


async def test_when_rules_are_unsure_a_pick_at_their_top_breaks_the_tie(
    server, llm_settings, dev_catalog
):
    server.reply(answer(service_id="PSRC001", service_words="search"))
    result = await triage("search is slow", dev_catalog, llm_settings)
    assert result.service_id == "PSRC001"
    assert any("one of their top candidates" in r for r in result.reasons)


async def test_a_read_from_the_model_is_kept(server, llm_settings, dev_catalog):
    server.reply(answer(intent="who_is_on_call", service_id=None, service_words=None))
    result = await triage("anyone around for the database tonight?", dev_catalog, llm_settings)
    assert result.intent == Intent.who_is_on_call


async def test_explicit_request_words_beat_a_model_page(server, llm_settings, dev_catalog):
    server.reply(answer(intent="page"))
    result = await triage(
        "swap Elena for Marco on Core Backend Primary until 9 AM tomorrow",
        dev_catalog,
        llm_settings,
    )
    assert result.intent == Intent.override
    assert (result.leaving, result.covering) == ("Elena", "Marco")


async def test_the_model_sees_the_alert_fields_and_they_decide_the_service(
    server, llm_settings, dev_catalog
):
    alert = AlertFields(
        summary="High error rate",
        severity="critical",
        labels={"service": "billing-api", "namespace": "payments"},
        custom_details={"error_rate": "12%"},
    )
    server.reply(answer(service_id=None, service_words=None, urgency=None, priority=None))
    result = await triage("High error rate", dev_catalog, llm_settings, alert=alert)
    evidence = server.requests[0].messages[1]["content"]
    assert '"labels": {"service": "billing-api"' in evidence
    assert (result.service_id, result.urgency, result.priority) == ("PBIL001", "high", "P1")


async def test_model_and_rules_agreeing_is_the_models_answer(server, llm_settings, dev_catalog):
    server.reply(answer(title="Stripe webhook 401s"))
    result = await triage(
        "Stripe webhooks to billing-api failing with 401 (SEV1)", dev_catalog, llm_settings
    )
    assert (result.source, result.service_id, result.title) == (
        "llm",
        "PBIL001",
        "Stripe webhook 401s",
    )
    assert server.requests[0].body["response_format"]["json_schema"]["strict"] is True
