"""Edit, refuse an edit, reject, choose a service: each from Slack, checked in the sandbox and the fake."""

from __future__ import annotations

from tests.fakes.slack import all_text
from tests.slack.conftest import ALICE, pause, running_server, settle, shown


def incidents_of(sandbox, thread_id: str) -> list[dict]:
    return sandbox.state.list_incidents(incident_key=f"incident-agent/{thread_id}")


async def test_edit_prefills_the_pending_request_and_writes_the_edited_values(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_edit", user=ALICE)
        await settle(app)
        view = fake_slack.open_view_for(ALICE).view
        inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
        assert inputs["field_title"]["initial_value"] == "High latency on the Public API: p99 3.1s (critical)"
        assert inputs["field_urgency"]["initial_option"]["value"] == "high"
        assert inputs["field_service_id"]["initial_option"]["value"] == "PAPI001"
        assert inputs["field_assignee_id"]["initial_option"]["value"] == "PUCO001"
        assert "field_incident_key" not in inputs  # not editable, so not on the form
        assert view["private_metadata"] == f"{outcome.thread_id}:{outcome.interrupt_id}"

        response = await fake_slack.submit_view(
            ALICE, {"field_title": "Public API p99 above 3s", "field_urgency": "low", "field_priority": "P2"})
        assert response.status_code == 200
        await settle(app)
    [incident] = incidents_of(sandbox, outcome.thread_id)
    assert incident["title"] == "Public API p99 above 3s"
    assert incident["urgency"] == "low"
    assert incident["priority"]["summary"] == "P2"
    text = shown(fake_slack)
    assert "Approved with edits" in text and incident["html_url"] in text
    # The values written, not the ones first shown; and what the edit changed.
    assert "Open a low-urgency P2 incident on Public API" in text and "high-urgency" not in text
    assert "~high~ → *low*" in text and "~none~ → *P2*" in text
    assert "from Slack" in text


async def test_an_edit_the_builder_refuses_is_shown_on_the_form_and_writes_nothing(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_edit", user=ALICE)
        await settle(app)
        # The form was left open while the service disappeared from the account.
        response = await fake_slack.submit_view(ALICE, {"field_service_id": "PNOPE99"}, unchecked=True)
        await settle(app)
        opened = fake_slack.open_view_for(ALICE)  # still open, with the error next to the field
        assert response.json()["response_action"] == "errors"
        assert "PNOPE99" in opened.errors["field_service_id"] and "does not exist" in opened.errors["field_service_id"]
        assert incidents_of(sandbox, outcome.thread_id) == []
        assert not fake_slack.state.calls_to("chat.update")  # the request still waits, unchanged

        # A title the schema refuses (empty is "required": Slack itself would not send it; too long is)
        response = await fake_slack.submit_view(ALICE, {"field_service_id": "PAPI001", "field_title": "x" * 300})
        assert "at most 255" in fake_slack.open_view_for(ALICE).errors["field_title"]

        # Corrected on the same form, it goes through.
        await fake_slack.submit_view(ALICE, {"field_service_id": "PAPI001", "field_title": "Public API slow"})
        await settle(app)
    [incident] = incidents_of(sandbox, outcome.thread_id)
    assert incident["title"] == "Public API slow"
    assert "Approved with edits" in shown(fake_slack)


async def test_reject_with_a_reason_writes_nothing(settings, fake_slack, sandbox):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_reject", user=ALICE)
        await settle(app)
        with_reason = {"reason": "Load test in progress, not a real outage"}
        await fake_slack.submit_view(ALICE, with_reason)
        await settle(app)
    assert incidents_of(sandbox, outcome.thread_id) == []
    assert sandbox.state.list_incidents(service_ids=["PAPI001"], statuses=["triggered"]) == []
    text = shown(fake_slack)
    assert "Rejected" in text and "Load test in progress" in text and f"<@{ALICE}>" in text
    assert "from Slack" in text and "Nothing more was written" in text
    assert not any(b["type"] == "actions" for b in fake_slack.state.messages[0].blocks)


async def test_choose_a_service_then_approve_the_page(settings, fake_slack, sandbox):
    outcome = await pause(settings, "API errors spiking, sev1")
    assert outcome.status == "needs_input", outcome.report
    select = fake_slack.find_element("hitl_choose")[2]
    offered = [o["value"].rpartition("|")[2] for o in select["options"]]
    assert "PAPI001" in offered
    assert "API errors spiking, sev1" in shown(fake_slack)  # the alert it is about
    assert "Answer with an edit" not in shown(fake_slack)  # no command-line words
    async with running_server(settings, fake_slack) as app:
        await fake_slack.choose("hitl_choose", option_index=offered.index("PAPI001"), user=ALICE)
        await settle(app)
        text = shown(fake_slack)
        assert "Approve a page on Public API" in text  # the same message now asks to approve the page
        await fake_slack.click("hitl_approve", user=ALICE)
        await settle(app)
    [incident] = incidents_of(sandbox, outcome.thread_id)
    assert incident["service"]["id"] == "PAPI001"
    assert len(fake_slack.state.calls_to("chat.postMessage")) == 1


async def test_show_api_call_opens_the_exact_call(settings, fake_slack):
    outcome = await pause(settings)
    async with running_server(settings, fake_slack) as app:
        await fake_slack.click("hitl_show_call", user=ALICE)
        await settle(app)
    view = fake_slack.open_view_for(ALICE).view
    text = all_text(view["blocks"])
    assert "POST /incidents" in text and f"incident-agent/{outcome.thread_id}" in text
