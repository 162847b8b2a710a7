"""The rules path (no model) on the dev cases and on a synthetic retailer
whose services share no names with the dev account."""

from __future__ import annotations

import json

import pytest

from agent.triage import Intent, triage
from tests.triage.conftest import DEV_CASES

DEV = [json.loads(line) for line in DEV_CASES.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", DEV, ids=[c["alert"][:40] for c in DEV])
async def test_dev_case(case, dev_catalog, settings):
    result = await triage(case["alert"], dev_catalog, settings)
    assert result.source == "rules"
    assert result.service_id == case["expected_service_id"], result.reasons
    assert result.urgency == case["expected_urgency"], result.reasons
    if case["expected_service_id"] is None:
        assert result.intent == Intent.not_incident
    else:
        assert result.intent == Intent.page
        assert result.reasons


RETAIL = [
    (
        "Checkout 502s spiking: Adyen payment authorisations timing out (critical)",
        "PCHK001",
        "high",
    ),
    (
        "FIRING: KafkaConsumerLag topic=stock-events cluster=events-prod lag=1200000 severity=warning",
        "PBUS001",
        "low",
    ),
    ("orders-db-main-replica-2 replication lag 600s (P2)", "PODB001", "low"),
    ("Algolia search returning empty facets on category pages (SEV3)", "PPSR001", "low"),
    (
        "Tills in the Leeds store cannot take card payments; pos-gateway timeouts (SEV1)",
        "PPOS001",
        "high",
    ),
    ("Order confirmation emails not being sent, SendGrid 429s (warning)", "PNOT001", "low"),
    # no severity words: the service's constant urgency rule (low) applies
    ("Loyalty points balance shows 0 for some members", "PLOY001", "low"),
    # no severity words, support-hours rule: the safe default (high)
    ("Pickers can't print labels in the Rotterdam distribution centre", "PWMS001", "high"),
    ("Stock levels on the website are 2 hours stale; inv-sync job stuck", "PINV001", "high"),
    (
        "Product images load slowly, Fastly returning 503 in some regions (warning)",
        "PCDN001",
        "low",
    ),
    (
        "Shop homepage shows a blank white screen in Chrome after the release (critical)",
        "PSTOR01",
        "high",
    ),
    ("Refunds stuck in pending for all returns since 10:00 (SEV2)", "PORD001", "low"),
]


@pytest.mark.parametrize(
    ("alert", "service_id", "urgency"), RETAIL, ids=[a[:40] for a, _, _ in RETAIL]
)
async def test_retail_case(alert, service_id, urgency, retail_catalog, settings):
    result = await triage(alert, retail_catalog, settings)
    assert (result.intent, result.service_id, result.urgency) == (
        Intent.page,
        service_id,
        urgency,
    ), result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Reminder: the warehouse Christmas party is on Friday",
        "Who took my stapler from the office?",
        "Can someone order more coffee for the kitchen",
        "The coffee machine is down",
    ],
)
async def test_chatter_pages_nobody(text, retail_catalog, settings):
    result = await triage(text, retail_catalog, settings)
    assert result.intent == Intent.not_incident
    assert result.service_id is None and result.urgency is None
    assert any("not an incident" in r for r in result.reasons)


async def test_real_alert_naming_no_known_service_is_still_a_page(retail_catalog, settings):
    result = await triage("Disk 95% full on host batch-07 (critical)", retail_catalog, settings)
    assert result.intent == Intent.page
    assert result.service_id is None
    assert result.urgency == "high"


async def test_ambiguous_words_leave_the_choice_to_a_human(retail_catalog, settings):
    result = await triage("Orders are failing", retail_catalog, settings)
    assert result.intent == Intent.page
    assert result.service_id is None
    assert {"PORD001", "PODB001"} <= {c.id for c in result.candidates}


@pytest.mark.parametrize(
    ("alert", "priority"),
    [
        ("Stripe webhooks to billing-api failing (SEV1)", "P1"),
        ("Password reset emails are not arriving (SEV2)", "P2"),
        ("Typesense search stale (sev 3)", "P3"),
        ("Typesense search stale (warning)", None),
    ],
)
async def test_priority_maps_to_the_catalogs_names(alert, priority, dev_catalog, settings):
    assert (await triage(alert, dev_catalog, settings)).priority == priority


async def test_priority_names_of_another_account(retail_catalog, settings):
    result = await triage("pos-gateway timeouts in all stores (P1)", retail_catalog, settings)
    assert result.priority == "SEV-1"


async def test_recovery_notice_pages_nobody(dev_catalog, settings):
    result = await triage(
        "[RESOLVED] PostgresReplicationLag on pg-main back to normal", dev_catalog, settings
    )
    assert result.intent == Intent.not_incident


@pytest.mark.parametrize(
    "text",
    [
        "the outage on the Public API is over",
        "Thanks all, the root cause was a deadlock in the pool, but we're fine now",
        "Public API has fully recovered, thanks everyone",
        "Kibana shows no logs since midnight - resolved, thanks Ana",
    ],
)
async def test_a_problem_that_is_over_pages_nobody(text, dev_catalog, settings):
    assert (await triage(text, dev_catalog, settings)).intent == Intent.not_incident


@pytest.mark.parametrize(
    "text",
    [
        "Checkout is fixed but error rate still 12% on the Public API",
        "The Public API outage was resolved yesterday; p99 latency is back again at 3s",
        "Public API has recovered, however 5xx are climbing in us-central1",
    ],
)
async def test_fixed_but_failing_again_is_a_page(text, dev_catalog, settings):
    result = await triage(text, dev_catalog, settings)
    assert result.intent == Intent.page, result.reasons


@pytest.mark.parametrize("text", ["the site is down", "everything is on fire", "nobody can pay"])
async def test_plain_words_outage_is_a_page(text, retail_catalog, settings):
    result = await triage(text, retail_catalog, settings)
    assert result.intent == Intent.page
    assert result.urgency == "high"
