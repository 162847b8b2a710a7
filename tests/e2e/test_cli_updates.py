"""Incident updates from a terminal: each CLI call a new process, answers from another."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Terminal


def open_incident(terminal: Terminal) -> dict[str, Any]:
    body = {"incident": {"type": "incident", "title": "Public API returning 5xx",
                         "service": {"id": "PAPI001", "type": "service_reference"}}}
    r = terminal.api.post("/incidents", json=body, headers={"From": "susan.clark@contoso.example"})
    r.raise_for_status()
    return r.json()["incident"]


def test_acknowledge_waits_for_approval_then_lands(terminal: Terminal) -> None:
    incident = open_incident(terminal)
    code, out = terminal.json("run", f"acknowledge #{incident['incident_number']}", "--no-wait")
    assert code == 0 and out["status"] == "awaiting_approval", out
    assert out["proposal"]["call"]["body"] == {"incident": {"type": "incident_reference",
                                                            "status": "acknowledged"}}
    assert terminal.incidents(statuses=["triggered"])[0]["id"] == incident["id"]
    code, done = terminal.json("approve", out["thread_id"])
    assert code == 0 and done["status"] == "done", done
    assert [i["id"] for i in terminal.incidents(statuses=["acknowledged"])] == [incident["id"]]
    code, audit = terminal.json("audit", out["thread_id"])
    assert [a["decision"] for a in audit] == ["approve"]


def test_unknown_person_is_asked_for_from_the_terminal(terminal: Terminal) -> None:
    incident = open_incident(terminal)
    code, out = terminal.json("run", f"reassign #{incident['incident_number']} to Zelda", "--no-wait")
    assert code == 0 and out["status"] == "needs_input", out
    assert out["request"]["action_requests"][0]["name"] == "choose_person"
    proc = terminal.cli("approvals")
    assert out["thread_id"] in proc.stdout
    code, ready = terminal.json("approve", out["thread_id"], "--edit", "user_id=PUCO002")
    assert code == 0 and ready["status"] == "awaiting_approval", ready
    assert ready["proposal"]["fields"]["assignee_id"] == "PUCO002"
    code, done = terminal.json("approve", ready["thread_id"])
    assert code == 0 and done["status"] == "done", done
    [now] = terminal.incidents(statuses=["triggered"])
    assert [a["assignee"]["id"] for a in now["assignments"]] == ["PUCO002"]
