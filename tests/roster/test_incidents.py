from __future__ import annotations

import pytest

from agent.roster import IncidentRef, parse_incident_ref


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("#1201", IncidentRef(number=1201)),
        ("# 1201", IncidentRef(number=1201)),
        ("1201", IncidentRef(number=1201)),
        ("acknowledge #1201", IncidentRef(number=1201)),
        ("incident 1201", IncidentRef(number=1201)),
        ("Incident #1201", IncidentRef(number=1201)),
        ("reassign #1201 to Elena", IncidentRef(number=1201)),
        ("note on #1201: scaled to 12 replicas", IncidentRef(number=1201)),
        ("add the Infrastructure escalation policy as responder on #1201", IncidentRef(number=1201)),
        ("PINCD01", IncidentRef(id="PINCD01")),
        ("resolve PINCD01 now", IncidentRef(id="PINCD01")),
        ("https://acme.pagerduty.com/incidents/Q1AB2CD3EF", IncidentRef(id="Q1AB2CD3EF")),
        ("the Public API incident", IncidentRef(service_words="Public API")),
        ("resolve the Public API incident, rollback done", IncidentRef(service_words="Public API")),
        ("the open incident on Checkout", IncidentRef(service_words="Checkout")),
        ("resolve the open incident on Checkout, rollback done", IncidentRef(service_words="Checkout")),
        ("ack the incident affecting Billing API and page Elena", IncidentRef(service_words="Billing API")),
        ("Acknowledge Checkout service incident", IncidentRef(service_words="Checkout")),
    ],
)  # fmt: skip
def test_parse(words: str, expected: IncidentRef) -> None:
    assert parse_incident_ref(words) == expected


@pytest.mark.parametrize("words", [None, "", "resolve the incident", "ACK PROD", "scaled to 12"])
def test_empty(words: str | None) -> None:
    assert parse_incident_ref(words).empty
