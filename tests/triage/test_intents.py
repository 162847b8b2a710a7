"""Requests other than alerts: the intent and the words another step resolves."""

from __future__ import annotations

import pytest

from agent.triage import Intent, triage

CASES = [
    ("who is on call for billing-api?", dict(intent=Intent.who_is_on_call, service_id="PBIL001")),
    (
        "Who's on-call for the Infrastructure rotation right now",
        dict(intent=Intent.who_is_on_call, schedule_words="Infrastructure rotation"),
    ),
    (
        "list open incidents on the Public API",
        dict(intent=Intent.list_incidents, service_id="PAPI001"),
    ),
    ("show me all triggered incidents", dict(intent=Intent.list_incidents, service_id=None)),
    ("post-mortem for #4711", dict(intent=Intent.postmortem, incident_ref="#4711")),
    ("write the PIR for PINCD01", dict(intent=Intent.postmortem, incident_ref="PINCD01")),
    ("ack #1201", dict(intent=Intent.acknowledge, incident_ref="#1201")),
    ("please acknowledge incident 1201", dict(intent=Intent.acknowledge, incident_ref="#1201")),
    (
        "resolve #1201, rollback done",
        dict(intent=Intent.resolve, incident_ref="#1201", message="rollback done"),
    ),
    (
        "reassign #1201 to Elena",
        dict(intent=Intent.reassign, incident_ref="#1201", people=["Elena"]),
    ),
    (
        "add Lena Hoffmann as responder on #1201 with message please check the db",
        dict(intent=Intent.add_responder, people=["Lena Hoffmann"], message="please check the db"),
    ),
    (
        "note on #1201: customer confirmed the fix",
        dict(intent=Intent.add_note, incident_ref="#1201", message="customer confirmed the fix"),
    ),
    (
        "swap David for Elena on the Core Backend rotation until 9 AM tomorrow",
        dict(
            intent=Intent.override,
            people=["David", "Elena"],
            schedule_words="Core Backend rotation",
            time_words="until 9 AM tomorrow",
        ),
    ),
    (
        "Elena covers David's shift from Friday 18:00 to Monday 09:00",
        dict(
            intent=Intent.override,
            people=["Elena", "David"],
            time_words="from Friday 18:00 to Monday 09:00",
        ),
    ),
    (
        "put me on call for Infrastructure for the next 8 hours",
        dict(intent=Intent.override, people=["me"], time_words="for the next 8 hours"),
    ),
    ("change urgency of #1201 to low", dict(intent=Intent.change_urgency, urgency="low")),
    ("set priority of #1201 to P1", dict(intent=Intent.change_priority, priority="P1")),
    (
        "resolve the billing-api incident, rollback done",
        dict(intent=Intent.resolve, service_id="PBIL001"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[t[:40] for t, _ in CASES])
async def test_request(text, expected, dev_catalog, settings):
    result = await triage(text, dev_catalog, settings)
    got = {k: getattr(result, k) for k in expected}
    assert got == expected, result.reasons


async def test_alert_containing_a_verb_stays_an_alert(dev_catalog, settings):
    result = await triage(
        "Billing API: invoice job failed to close the month (critical)", dev_catalog, settings
    )
    assert result.intent == Intent.page


async def test_priority_outside_the_catalog_is_not_invented(dev_catalog, settings):
    result = await triage("set priority of #1201 to P9", dev_catalog, settings)
    assert result.intent == Intent.change_priority
    assert result.priority is None


async def test_people_of_another_account(retail_catalog, settings):
    result = await triage(
        "swap Tom Walsh for Priya on the Platform On-Call until Monday", retail_catalog, settings
    )
    assert result.intent == Intent.override
    assert result.people == ["Tom Walsh", "Priya"]
    assert result.schedule_words == "Platform On-Call"
