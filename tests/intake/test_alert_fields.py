"""Triage reads the whole alert (issue 15 item 2): labels, component,
source, group, annotations and custom details are evidence with their
weight in the reasons; the routing key's service decides; severity maps by
the documented table."""

from __future__ import annotations

import pytest

from agent.intake.events import parse_alertmanager, parse_events_v2, render_prompt
from agent.triage import Intent, triage
from agent.triage.alert import SEVERITY_TABLE, AlertFields


async def test_a_label_names_the_service_the_summary_does_not(dev_catalog, settings):
    alert = AlertFields(
        summary="HighErrorRate: 5xx ratio above 5%",
        labels={"alertname": "HighErrorRate", "job": "billing-api", "namespace": "payments"},
    )
    result = await triage(alert.summary, dev_catalog, settings, alert=alert)
    assert (result.intent, result.service_id) == (Intent.page, "PBIL001"), result.reasons
    assert any("label job='billing-api' (weight 2.0" in r for r in result.reasons)


async def test_custom_details_and_component_are_weighed(retail_catalog, settings):
    alert = AlertFields(
        summary="Error budget burn 14x",
        component="pos-gateway",
        custom_details={"runbook": "https://wiki/tills", "region": "north"},
    )
    result = await triage(alert.summary, retail_catalog, settings, alert=alert)
    assert result.service_id == "PPOS001", result.reasons
    assert any("component='pos-gateway'" in r for r in result.reasons)


async def test_the_routing_keys_service_decides(dev_catalog, settings):
    alert = AlertFields(
        summary="Error budget burn 14x",
        custom_details={"service": "billing-api"},
        routed_service="PAPI001",
    )
    result = await triage(alert.summary, dev_catalog, settings, alert=alert)
    assert result.service_id == "PAPI001"
    assert any("routing key" in r for r in result.reasons)


@pytest.mark.parametrize(
    ("severity", "urgency", "priority"),
    [("critical", "high", "P1"), ("error", "high", "P2"), ("warning", "low", "P3"),
     ("info", "low", "P4")],
)  # fmt: skip
async def test_severity_maps_by_the_table(severity, urgency, priority, dev_catalog, settings):
    alert = AlertFields(
        summary="queue depth growing", severity=severity, labels={"job": "rabbit-prod"}
    )
    result = await triage(alert.summary, dev_catalog, settings, alert=alert)
    assert (result.intent, result.urgency) == (Intent.page, urgency), result.reasons
    assert SEVERITY_TABLE[severity][0] == urgency
    has_priority = priority in {p.name for p in dev_catalog.priorities}
    assert result.priority == (priority if has_priority else None)
    assert any(f"severity is '{severity}'" in r for r in result.reasons)


async def test_a_review_request_sent_as_an_alert_is_still_not_an_incident(dev_catalog, settings):
    alert = AlertFields(summary="Please review PR #512: billing-api retry backoff", severity="info")
    result = await triage(alert.summary, dev_catalog, settings, alert=alert)
    assert result.intent == Intent.not_incident


def test_events_v2_and_alertmanager_bodies_become_fields():
    event = parse_events_v2(
        {"routing_key": "k", "event_action": "trigger", "dedup_key": "d1",
         "payload": {"summary": "disk full", "source": "db-7", "severity": "error",
                     "component": "pg-main", "group": "storage", "class": "disk",
                     "custom_details": {"free": "0%"}}}
    )  # fmt: skip
    assert (event.action, event.key, event.fields.class_) == ("trigger", "d1", "disk")
    assert event.fields.custom_details == {"free": "0%"}
    am = parse_alertmanager(
        {"version": "4", "groupKey": '{}:{alertname="X"}', "status": "firing",
         "commonLabels": {"alertname": "X", "service": "search"},
         "commonAnnotations": {"summary": "index stale"},
         "alerts": [{"status": "firing", "labels": {"alertname": "X", "instance": "a"}},
                    {"status": "firing", "labels": {"alertname": "X", "instance": "b"}},
                    {"status": "resolved", "labels": {"alertname": "X", "instance": "c"}}]}
    )  # fmt: skip
    assert (am.action, am.count, am.fields.summary) == ("trigger", 2, "X: index stale")
    assert am.fields.labels["service"] == "search"
    prompt = render_prompt(am)
    assert prompt.splitlines()[0] == "X: index stale" and "service=search" in prompt
