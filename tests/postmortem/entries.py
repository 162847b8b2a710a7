"""Log entries as PagerDuty returns them, built tersely for tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.pagerduty.models import Incident

DEV_ACCOUNT = Path("/work/shared/eval/dev-account.json")
DEV_EXPECTED = Path("/work/shared/eval/dev-postmortem-expected.json")
DEV_COPY = Path(__file__).resolve().parents[1] / "triage" / "dev-account.json"
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def dev_account() -> dict[str, Any]:
    path = DEV_ACCOUNT if DEV_ACCOUNT.exists() else DEV_COPY
    return json.loads(path.read_text())


def dev_expected() -> dict[str, Any]:
    if DEV_EXPECTED.exists():
        return json.loads(DEV_EXPECTED.read_text())
    return {"PINCD01": {"time_to_acknowledge_s": 390, "time_to_resolve_s": 2865, "escalations": 0,
                        "notifications": 1, "log_entries": 6, "first_acknowledged_by": "PUCO001"}}


def user(uid: str) -> dict[str, str]:
    return {"id": uid, "type": "user_reference", "summary": f"User {uid[-1]}"}


def entry(n: int, kind: str, offset_s: int, incident: str = "PSYN001", *, agent: str | None = None,
          channel: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """One log entry `kind` (trigger, notify, ...) at T0 + offset_s."""
    data: dict[str, Any] = {
        "id": f"R{incident}{n:05d}",
        "type": f"{kind}_log_entry",
        "summary": kind,
        "created_at": (T0 + timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z"),
        "incident": {"id": incident, "type": "incident_reference"},
        "channel": channel or {"type": "auto"},
    }
    if agent:
        data["agent"] = user(agent)
    data.update(fields)
    return data


def incident(incident_id: str = "PSYN001", status: str = "resolved", **fields: Any) -> Incident:
    return Incident.model_validate({
        "id": incident_id, "type": "incident", "incident_number": 4242,
        "title": "Checkout: 502s; \"payments\" #down", "status": status, "urgency": "high",
        "created_at": T0.isoformat(), "service": {"id": "PSVC001", "type": "service_reference",
                                                  "summary": "Checkout"},
        "html_url": f"https://example.pagerduty.com/incidents/{incident_id}", **fields,
    })


def long_incident_entries() -> list[dict[str, Any]]:
    """Two escalations, six notifications on four channels, a re-ack, two reassignments, notes."""
    return [
        entry(1, "trigger", 0, channel={"type": "api", "summary": "Checkout 502s"}),
        entry(2, "assign", 1, assignees=[user("PU1")]),
        entry(3, "notify", 2, user=user("PU1"), channel={"type": "sms"}),
        entry(4, "notify", 3, user=user("PU1"), channel={"type": "push_notification"}),
        entry(5, "escalate", 300, escalation_level=2, channel={"type": "timeout"}),
        entry(6, "assign", 301, assignees=[user("PU2")]),
        entry(7, "notify", 302, user=user("PU2"), channel={"type": "phone"}),
        entry(8, "notify", 303, user=user("PU2"), channel={"type": "email"}),
        entry(9, "acknowledge", 600, agent="PU2", channel={"type": "mobile"}),
        entry(10, "annotate", 900, agent="PU2",
              channel={"type": "note", "summary": "Rolled back deploy #4521: errors 40%;\nwatching"}),
        entry(11, "unacknowledge", 1200, channel={"type": "timeout"}),
        entry(12, "notify", 1201, user=user("PU2"), channel={"type": "sms"}),
        entry(13, "acknowledge", 1500, agent="PU2", channel={"type": "web"}),
        entry(14, "assign", 1800, agent="PU2", assignees=[user("PU3")], channel={"type": "web"}),
        entry(15, "notify", 1801, user=user("PU3"), channel={"type": "push_notification"}),
        entry(16, "escalate", 2000, agent="PU3", escalation_level=3, channel={"type": "web"}),
        entry(17, "annotate", 2400, agent="PU3", channel={"type": "note", "summary": "Root cause: DB failover"}),
        entry(18, "delegate", 3000, agent="PU3", channel={"type": "web"}),
        entry(19, "resolve", 7200, agent="PU3", channel={"type": "web"}),
    ]
