"""The main job through the CLI: alert -> paused approval -> answer from another process."""

from __future__ import annotations

import concurrent.futures

from tests.e2e.conftest import ON_CALL_CORE, Terminal

ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"


def pause(t: Terminal, prompt: str = ALERT) -> dict:
    code, out = t.json("run", prompt, "--no-wait")
    assert code == 0, out
    assert out["status"] == "awaiting_approval", out
    return out


def test_page_waits_then_one_approval_opens_exactly_one_incident(terminal: Terminal) -> None:
    out = pause(terminal)
    proposal = out["proposal"]
    assert proposal["action"] == "create_incident"
    assert proposal["fields"]["service_id"] == "PAPI001"
    assert proposal["fields"]["urgency"] == "high"
    assert proposal["fields"]["assignee_id"] == ON_CALL_CORE
    body = proposal["call"]["body"]["incident"]
    assert body["service"] == {"id": "PAPI001", "type": "service_reference"}
    assert terminal.incidents(statuses=["triggered"]) == [], "nothing may be written before approval"

    code, listed = terminal.json("approvals")
    assert code == 0 and [p["thread_id"] for p in listed] == [out["thread_id"]]

    code, done = terminal.json("approve", out["thread_id"], "--as", "Susan")
    assert code == 0 and done["status"] == "done", done
    open_now = terminal.incidents(statuses=["triggered", "acknowledged"])
    assert len(open_now) == 1
    incident = open_now[0]
    assert incident["service"]["id"] == "PAPI001"
    assert incident["urgency"] == "high"
    assert incident["incident_key"] == f"incident-agent/{out['thread_id']}"
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [ON_CALL_CORE]
    assert any("Susan" in n["content"] for n in terminal.notes(incident["id"]))

    code, again = terminal.json("approve", out["thread_id"])
    assert code == 4
    assert len(terminal.incidents(statuses=["triggered", "acknowledged"])) == 1

    code, audit = terminal.json("audit", out["thread_id"])
    assert [a["decision"] for a in audit] == ["approve"]
    assert audit[0]["approver"]["name"] == "Susan"
    assert audit[0]["result"]["id"] == incident["id"]


def test_second_alert_for_the_same_problem_proposes_a_note(terminal: Terminal) -> None:
    first = pause(terminal)
    assert terminal.json("approve", first["thread_id"])[0] == 0
    incident = terminal.incidents(statuses=["triggered"])[0]

    second = pause(terminal, "High latency on the Public API: p99 3.4s in us-central1 (critical)")
    assert second["proposal"]["action"] == "add_note"
    assert second["proposal"]["fields"]["incident_id"] == incident["id"]
    notes_before = len(terminal.notes(incident["id"]))
    code, done = terminal.json("approve", second["thread_id"])
    assert code == 0 and done["status"] == "done"
    assert len(terminal.incidents(statuses=["triggered", "acknowledged"])) == 1
    assert len(terminal.notes(incident["id"])) == notes_before + 1


def test_reject_writes_nothing(terminal: Terminal) -> None:
    out = pause(terminal)
    code, done = terminal.json("reject", out["thread_id"], "--reason", "known maintenance")
    assert code == 3 and done["status"] == "rejected"
    assert terminal.incidents(statuses=["triggered", "acknowledged"]) == []
    code, audit = terminal.json("audit", out["thread_id"])
    assert [a["decision"] for a in audit] == ["reject"]


def test_edit_is_validated_against_the_catalog_before_anything_is_written(terminal: Terminal) -> None:
    out = pause(terminal)
    code, refused = terminal.json("approve", out["thread_id"], "--edit", "service_id=PNOSUCH")
    assert code == 2 and refused["status"] == "error"
    assert "does not exist" in refused["error"]
    assert terminal.incidents(statuses=["triggered"]) == []
    for field in ("summary=x", "api_call=x", "incident_key=other"):  # locked or unknown: refused, named
        code, refused = terminal.json("approve", out["thread_id"], "--edit", field)
        assert code == 2 and "editable:" in refused["error"], refused
    code, still = terminal.json("approvals")
    assert [a["status"] for a in still if a["thread_id"] == out["thread_id"]] == ["awaiting_approval"]

    code, done = terminal.json("approve", out["thread_id"], "--edit", "urgency=low",
                               "--edit", "title=Public API slow in us-central1")
    assert code == 0 and done["status"] == "done", done
    [incident] = terminal.incidents(statuses=["triggered"])
    assert incident["urgency"] == "low"
    assert incident["title"] == "Public API slow in us-central1"


def test_two_approvers_at_once_write_once(terminal: Terminal) -> None:
    out = pause(terminal)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(lambda _: terminal.cli("approve", out["thread_id"]).returncode, range(2)))
    assert codes == [0, 4]
    assert len(terminal.incidents(statuses=["triggered"])) == 1


def test_reads_never_wait(terminal: Terminal) -> None:
    code, out = terminal.json("run", "who is on call for the Public API?")
    assert code == 0 and out["status"] == "done", out
    assert "David Miller" in out["report"]
    code, out = terminal.json("run", "list open incidents")
    assert code == 0 and out["status"] == "done"
    code, listed = terminal.json("approvals")
    assert listed == []


def test_not_an_incident_pages_nobody(terminal: Terminal) -> None:
    code, out = terminal.json("run", "The coffee machine on floor 2 is broken")
    assert code == 0 and out["status"] == "not_incident"
    assert "nobody was paged" in out["report"]
    assert terminal.incidents(statuses=["triggered"]) == []


def test_bad_input_is_refused_clearly(terminal: Terminal) -> None:
    # (argv cannot carry 1 MB; the 1 MB case runs in-process in tests/graph.)
    for text in ["", "   ", "x" * 100_000]:
        proc = terminal.cli("run", text, "--json")
        assert proc.returncode == 2, proc.stdout
        assert "alert text" in proc.stderr
    assert terminal.incidents(statuses=["triggered"]) == []


def test_unknown_thread_is_refused(terminal: Terminal) -> None:
    proc = terminal.cli("approve", "nosuchthread")
    assert proc.returncode == 4
    assert "nosuchthread" in proc.stderr
