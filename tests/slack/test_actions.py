"""Every action, approved, edited (one field) and rejected from Slack.

Each case starts a thread from plain words (as the CLI would, in another
process), answers it by clicks and form submissions the fake Slack signs and
delivers to the real ASGI app, then reads the sandbox directly: an approval
writes exactly the fields the message showed, an edit writes the edited
value and the message says what changed, a rejection changes nothing. The
final message always shows the values written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from agent.pagerduty.sandbox import RunningSandbox
from tests.fakes.slack import FakeSlack
from tests.slack.conftest import ALICE, open_incident, pause, running_server, settle, shown

pytestmark = pytest.mark.slow


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _incident(sb: RunningSandbox, f: dict[str, Any]) -> dict[str, Any]:
    return sb.state.get_incident(f["incident_id"])


def _written_create(sb: RunningSandbox, f: dict[str, Any]) -> None:
    [inc] = sb.state.list_incidents(incident_key=f["incident_key"])
    assert (inc["service"]["id"], inc["title"], inc["urgency"]) == (f["service_id"], f["title"], f["urgency"])
    assert (inc.get("priority") or {}).get("summary") == f["priority"]
    assert [a["assignee"]["id"] for a in inc["assignments"]] == [f["assignee_id"]]


def _without_ref(text: str | None) -> str | None:
    """What a person wrote, without the reference incident-agent appends to find its own write again."""
    return re.sub(r"\s+\[incident-agent ref [0-9a-f]+\]$", "", text) if text else text


def _written_note(sb: RunningSandbox, f: dict[str, Any]) -> None:
    assert [_without_ref(n["content"]) for n in sb.state.notes(f["incident_id"])] == [f["content"]]


def _written_override(sb: RunningSandbox, f: dict[str, Any]) -> None:
    [o] = sb.state.overrides(f["schedule_id"], "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert o["user"]["id"] == f["user_id"]
    assert (_at(o["start"]), _at(o["end"])) == (_at(f["start"]), _at(f["end"]))


def _written_resolve(sb: RunningSandbox, f: dict[str, Any]) -> None:
    assert _incident(sb, f)["status"] == "resolved"
    resolved = [e for e in sb.state.log_entries(f["incident_id"]) if e["type"] == "resolve_log_entry"]
    assert [_without_ref(e.get("note")) for e in resolved] == [f["resolution"]]


def _written_reassign(sb: RunningSandbox, f: dict[str, Any]) -> None:
    assert [a["assignee"]["id"] for a in _incident(sb, f)["assignments"]] == [f["assignee_id"]]


def _written_responder(sb: RunningSandbox, f: dict[str, Any]) -> None:
    [request] = _incident(sb, f)["responder_requests"]
    assert _without_ref(request["message"]) == f["message"]
    targets = [t["responder_request_target"]["id"] for t in request["responder_request_targets"]]
    assert targets == f["user_ids"] + f["escalation_policy_ids"]


def _sandbox_view(sb: RunningSandbox, f: dict[str, Any]) -> Any:
    """Everything a write of this thread could have changed."""
    incidents = sb.state.list_incidents()
    overrides = [sb.state.overrides(s, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
                 for s in ("PSINFR1", "PSCORE1")]
    notes = sb.state.notes(f["incident_id"]) if f.get("incident_id") else []
    return incidents, overrides, notes


@dataclass
class Case:
    action: str
    prompt: str
    """`{n}`: the number of an incident opened by hand first."""
    written: Callable[[RunningSandbox, dict[str, Any]], None]
    edit: dict[str, Any] = field(default_factory=dict)
    """One form field (block id -> value) the approver changes; empty: the action has nothing to edit."""
    edited_shows: str = ""
    """How the edited value reads in the final message."""
    incident: dict[str, Any] | None = None


CASES = [
    Case("create_incident", "High latency on the Public API: p99 3.1s (critical)", _written_create,
         {"field_urgency": "low"}, "low"),
    Case("add_note", "note on #{n}: scaled to 12 replicas", _written_note,
         {"field_content": "scaled to 16 replicas & rolled back"}, "scaled to 16 replicas &amp; rolled back",
         incident={}),
    Case("create_override", "Lena is unwell and needs to drop off the Infrastructure rotation for the next "
         "8 hours, replace her with Arjun starting now", _written_override,
         {"field_end": "2026-11-20T18:00:00+00:00"}, "2026-11-20T18:00:00+00:00"),
    Case("acknowledge", "acknowledge #{n}", lambda sb, f: _incident(sb, f)["status"] == "acknowledged" or
         pytest.fail("not acknowledged"), incident={}),
    Case("resolve", "resolve the Public API incident, rollback done", _written_resolve,
         {"field_resolution": "config rolled back"}, "config rolled back", incident={}),
    Case("reassign", "reassign #{n} to Elena", _written_reassign,
         {"field_assignee_id": "PUCO003"}, "Marco Bianchi (PUCO003)", incident={}),
    Case("add_responder", "add the Infrastructure escalation policy as responder on #{n}", _written_responder,
         {"field_message": "Please join the bridge"}, "Please join the bridge", incident={}),
    Case("change_urgency", "set urgency of #{n} to low", lambda sb, f: _incident(sb, f)["urgency"] == f["urgency"]
         or pytest.fail("urgency"), {"field_urgency": "high"}, "high", incident={"urgency": "high"}),
    Case("change_priority", "change priority of #{n} to P2",
         lambda sb, f: (_incident(sb, f).get("priority") or {}).get("summary") == f["priority"]
         or pytest.fail("priority"), {"field_priority": "P1"}, "P1", incident={}),
]
IDS = [c.action for c in CASES]


async def _ask(case: Case, settings: Any, sandbox: RunningSandbox) -> Any:
    prompt = case.prompt
    if case.incident is not None:
        incident = open_incident(sandbox, **case.incident)
        prompt = prompt.format(n=incident["incident_number"])
    outcome = await pause(settings, prompt, sandbox)
    assert outcome.status == "awaiting_approval", outcome.report
    assert outcome.request["action_requests"][0]["name"] == case.action
    return outcome


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_approved_from_slack_writes_what_was_shown(case: Case, settings, fake_slack: FakeSlack, sandbox):
    outcome = await _ask(case, settings, sandbox)
    proposal = outcome.values["proposal"]
    before = shown(fake_slack)
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    case.written(sandbox, proposal["fields"])
    after = shown(fake_slack)
    assert f"<@{ALICE}> (Alice Approver) from Slack" in after
    # What the message showed before is what was written, and the final message shows it too.
    for value in _shown_values(fake_slack.state.messages[0].history[-1]["blocks"]):
        assert value in before and value in after, value
    assert "Changed by the edit" not in after
    assert not any(b["type"] == "actions" for b in fake_slack.state.messages[0].blocks)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_edited_from_slack_writes_the_edit_and_says_what_changed(
    case: Case, settings, fake_slack: FakeSlack, sandbox
):
    outcome = await _ask(case, settings, sandbox)
    if not case.edit:
        # Nothing to edit: no Edit button, only approve or reject.
        with pytest.raises(LookupError):
            fake_slack.find_element("hitl_edit")
        return
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_edit", user=ALICE)
        await settle(app)
        view = fake_slack.open_view_for(ALICE).view
        inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
        from agent.actions import ACTIONS

        assert inputs == [f"field_{name}" for name in ACTIONS[case.action].editable]
        response = await fake_slack.submit_view(ALICE, case.edit)
        assert not response.content.strip(), response.text  # accepted: no errors on the form
        await settle(app)
    [(block_id, value)] = case.edit.items()
    name = block_id.removeprefix("field_")
    final = await _final_fields(settings, outcome.thread_id)
    assert final[name] == value
    assert {k: v for k, v in final.items() if k != name} == {
        k: v for k, v in outcome.values["proposal"]["fields"].items() if k != name}
    case.written(sandbox, final)
    after = shown(fake_slack)
    assert "Approved with edits" in after and "Changed by the edit" in after
    assert f"→ *{case.edited_shows}*" in after


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_rejected_from_slack_changes_nothing(case: Case, settings, fake_slack: FakeSlack, sandbox):
    outcome = await _ask(case, settings, sandbox)
    fields = outcome.values["proposal"]["fields"]
    untouched = _sandbox_view(sandbox, fields)
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_reject", user=ALICE)
        await settle(app)
        await fake_slack.submit_view(ALICE, {"reason": "not <!channel> now"})
        await settle(app)
    assert _sandbox_view(sandbox, fields) == untouched
    after = shown(fake_slack)
    assert "Rejected" in after and "not &lt;!channel&gt; now" in after and "<!channel>" not in after


def _shown_values(blocks: list[dict[str, Any]]) -> list[str]:
    """The values of the write's fields, as the request message listed them."""
    out = []
    for b in blocks:
        for f in b.get("fields") or []:
            label, value = f["text"].split("\n", 1)
            if label != "*Effect*":
                out.append(value)
    return out


async def _final_fields(settings: Any, thread_id: str) -> dict[str, Any]:
    from agent.approvals.store import ApprovalStore

    store = ApprovalStore(settings.incident_agent_checkpoint)
    try:
        [row] = await store.audit_log(thread_id)
    finally:
        await store.aclose()
    return row["proposal"]["fields"]


async def test_an_edit_form_searches_a_long_list_of_people(settings, fake_slack: FakeSlack, sandbox):
    """More than 100 users: the form's person menu is searchable, served from the catalog as you type."""
    for i in range(110):
        sandbox.state.add_user(f"Contractor {i:03d}", f"contractor{i:03d}@contoso.example")
    incident = open_incident(sandbox)
    outcome = await pause(settings, f"reassign #{incident['incident_number']} to Elena", sandbox)
    assert outcome.values["proposal"]["fields"]["assignee_id"] == "PUCO002"
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_edit", user=ALICE)
        await settle(app)
        view = fake_slack.open_view_for(ALICE).view
        menu = next(b["element"] for b in view["blocks"] if b.get("block_id") == "field_assignee_id")
        assert menu["type"] == "external_select" and menu["initial_option"]["value"] == "PUCO002"
        found = await fake_slack.search("hitl_pick", "marco", user=ALICE)
        assert [o["value"] for o in found] == ["PUCO003"]
        assert len(await fake_slack.search("hitl_pick", "contractor", user=ALICE)) == 100  # Slack's cap
        await fake_slack.search("hitl_pick", "marco", user=ALICE)
        await fake_slack.submit_view(ALICE, {"field_assignee_id": "PUCO003"})
        await settle(app)
    assert [a["assignee"]["id"] for a in sandbox.state.get_incident(incident["id"])["assignments"]] == ["PUCO003"]
    assert "→ *Marco Bianchi (PUCO003)*" in shown(fake_slack)
