"""Metrics are exact integers, defined in agent/postmortem/metrics.py, checked by hand here."""

from __future__ import annotations

import random

from agent.pagerduty.models import Incident
from agent.postmortem.metrics import compute_metrics
from agent.postmortem.timeline import build_timeline

from .entries import dev_account, dev_expected, entry, incident, long_incident_entries


def metrics_of(entries, inc=None, incident_id="PSYN001"):
    timeline = build_timeline(incident_id, entries)
    return compute_metrics(timeline, inc), timeline


def test_dev_incident_metrics_equal_expected_exactly():
    account = dev_account()
    for incident_id, expected in dev_expected().items():
        inc = Incident.model_validate(next(i for i in account["incidents"] if i["id"] == incident_id))
        entries = [e for e in account["log_entries"] if e["incident"]["id"] == incident_id]
        metrics, timeline = metrics_of(entries, inc, incident_id)
        assert {k: metrics[k] for k in expected} == expected
        assert timeline.anomalies == []


def test_dev_incident_any_input_order_same_metrics_and_flagged():
    account = dev_account()
    inc = Incident.model_validate(account["incidents"][0])
    entries = list(account["log_entries"])
    expected, _ = metrics_of(entries, inc, inc.id)
    newest_first, timeline = metrics_of(entries[::-1], inc, inc.id)
    assert newest_first == expected and timeline.anomalies == []  # PagerDuty's own order
    shuffled = entries[:]
    random.Random(7).shuffle(shuffled)
    again, timeline = metrics_of(shuffled + entries[:2], inc, inc.id)  # plus two duplicates
    assert again == expected
    assert {a.code for a in timeline.anomalies} == {"out_of_order"}
    assert [e.id for e in timeline.events] == [e["id"] for e in entries]


def test_long_incident_metrics_by_hand():
    entries = long_incident_entries()
    metrics, timeline = metrics_of(entries[::-1], incident())
    assert timeline.anomalies == []
    assert metrics == {
        "time_to_acknowledge_s": 600,           # trigger t+0 -> first ack t+600
        "time_to_resolve_s": 7200,              # trigger -> resolve t+7200
        "escalations": 2,                       # t+300 (timeout), t+2000 (manual)
        "notifications": 6,
        "notifications_by_channel": {"email": 1, "phone": 1, "push_notification": 2, "sms": 2},
        "log_entries": 19,
        "first_acknowledged_by": "PU2",
        "paged_users": ["PU1", "PU2", "PU3"],
        "responders": ["PU2", "PU3"],           # the timeout unacknowledge has no person
        "responder_requests": 0,
        "acknowledgements": 2,                  # t+600 and the re-ack at t+1500
        "reassignments": 2,                     # PU2 assigns to PU3 at t+1800, delegate at t+3000
        "retriggers": 0,
        "notes": 2,
        "notes_list": [
            {"at": "2026-03-01T00:15:00Z", "by": "PU2",
             "text": "Rolled back deploy #4521: errors 40%;\nwatching"},
            {"at": "2026-03-01T00:40:00Z", "by": "PU3", "text": "Root cause: DB failover"},
        ],
        # triggered 0-600 and 1200-1500; acknowledged 600-1200 and 1500-7200
        "time_in_status_s": {"triggered": 900, "acknowledged": 6300},
        "triggered_at": "2026-03-01T00:00:00Z",
        "acknowledged_at": "2026-03-01T00:10:00Z",
        "resolved_at": "2026-03-01T02:00:00Z",
    }
    kinds = [e.kind for e in timeline.events]
    assert kinds.count("reassign") == 2 and kinds.count("assign") == 2


def test_never_acknowledged_is_null_not_zero():
    entries = [entry(1, "trigger", 0), entry(2, "notify", 5, user={"id": "PU1", "type": "user_reference"},
                                                 channel={"type": "sms"}),
               entry(3, "resolve", 900, channel={"type": "timeout"})]
    metrics, _ = metrics_of(entries, incident())
    assert metrics["time_to_acknowledge_s"] is None
    assert metrics["first_acknowledged_by"] is None
    assert metrics["time_to_resolve_s"] == 900
    assert metrics["time_in_status_s"] == {"triggered": 900, "acknowledged": 0}


def test_unresolved_is_null():
    entries = [entry(1, "trigger", 0), entry(2, "acknowledge", 60, agent="PU1")]
    metrics, timeline = metrics_of(entries, incident(status="acknowledged"))
    assert metrics["time_to_resolve_s"] is None and metrics["resolved_at"] is None
    assert metrics["time_to_acknowledge_s"] == 60
    assert timeline.anomalies == []


def test_retriggered_after_resolve_measures_to_the_last_resolve():
    entries = [entry(1, "trigger", 0), entry(2, "acknowledge", 100, agent="PU1"),
               entry(3, "resolve", 200, agent="PU1"), entry(4, "trigger", 1000),
               entry(5, "acknowledge", 1100, agent="PU2"), entry(6, "resolve", 1500, agent="PU2")]
    metrics, timeline = metrics_of(entries, incident())
    assert (metrics["time_to_acknowledge_s"], metrics["time_to_resolve_s"]) == (100, 1500)
    assert metrics["retriggers"] == 1 and metrics["acknowledgements"] == 2
    # resolved 200..1000 is not counted in any open status
    assert metrics["time_in_status_s"] == {"triggered": 200, "acknowledged": 500}
    reopened, _ = metrics_of(entries[:4], incident(status="triggered"))
    assert reopened["time_to_resolve_s"] is None


def test_contradictory_entries_are_flagged_and_not_used():
    entries = [
        entry(1, "resolve", -60, agent="PU9"),                  # resolve before trigger
        entry(2, "trigger", 0),
        entry(3, "acknowledge", 120, agent="PU1"),
        entry(4, "resolve", 600, agent="PU1"),
        entry(5, "acknowledge", 700, agent="PU2"),              # acknowledge after resolve
        entry(6, "annotate", 50, incident="POTHER1", agent="PU7"),  # another incident
    ]
    metrics, timeline = metrics_of(entries, incident())
    codes = sorted(a.code for a in timeline.anomalies)
    assert codes == ["acknowledge_after_resolve", "other_incident", "out_of_order",
                     "resolve_before_trigger"]
    flagged = {a.code: a.entry_id for a in timeline.anomalies}
    assert flagged["acknowledge_after_resolve"] == "RPSYN00100005"
    assert flagged["resolve_before_trigger"] == "RPSYN00100001"
    assert (metrics["time_to_acknowledge_s"], metrics["time_to_resolve_s"]) == (120, 600)
    assert metrics["first_acknowledged_by"] == "PU1" and metrics["acknowledgements"] == 1
    assert metrics["log_entries"] == 5 and metrics["notes"] == 0


def test_no_trigger_entry_uses_incident_created_at_and_says_so():
    entries = [entry(1, "acknowledge", 30, agent="PU1"), entry(2, "resolve", 90, agent="PU1")]
    metrics, timeline = metrics_of(entries, incident())
    assert (metrics["time_to_acknowledge_s"], metrics["time_to_resolve_s"]) == (30, 90)
    assert [a.code for a in timeline.anomalies] == ["no_trigger"]


def test_status_mismatch_is_flagged():
    entries = [entry(1, "trigger", 0)]
    metrics, timeline = metrics_of(entries, incident(status="resolved"))
    assert metrics["time_to_resolve_s"] is None
    assert [a.code for a in timeline.anomalies] == ["status_mismatch"]
