"""Every kind of "which one?" question, answered in place from Slack.

Each question shows the alert or request it is about, the candidates and why
each is one, and a menu (static when short, searchable when long). Choosing
turns the same message into the write to approve; approving writes exactly
what it then showed.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.slack.conftest import ALICE, MALLORY, open_incident, pause, running_server, settle, shown

pytestmark = pytest.mark.slow


def _offered(fake, action_id: str = "hitl_choose") -> list[str]:
    return [o["value"].rpartition("|")[2] for o in fake.find_element(action_id)[2]["options"]]


def _candidates_block(fake) -> str:
    [msg] = fake.state.messages
    return next(
        b["text"]["text"]
        for b in msg.blocks
        if b["type"] == "section" and b["text"]["text"].startswith("*Candidates*")
    )


async def _choose_then_approve(fake, app, chosen: str) -> str:
    """Pick `chosen` in the menu, check the message now asks to approve, approve; the message before approval."""
    await fake.choose("hitl_choose", f"{_ref_of(fake)}|{chosen}", user=ALICE)
    await settle(app)
    before = shown(fake)
    assert fake.find_element("hitl_approve")
    await fake.click("hitl_approve", user=ALICE)
    await settle(app)
    return before


def _ref_of(fake) -> str:
    _, block, _ = fake.find_element("hitl_choose")
    return block["block_id"]


async def test_which_person(settings, fake_slack, sandbox):
    prompt = "replace David with Marco on the Infrastructure rotation for the next 8 hours"
    outcome = await pause(settings, prompt, sandbox)
    assert outcome.request["action_requests"][0]["name"] == "choose_person"
    text = shown(fake_slack)
    assert "Which person is meant?" in text and prompt in text
    assert "David Miller is not on call on Infrastructure Primary in that window" in text
    assert _offered(fake_slack) == ["PUIN002"]
    assert "Lena Hoffmann &lt;lena" in _candidates_block(fake_slack)  # email shown, escaped
    async with running_server(settings, fake_slack, sandbox) as app:
        before = await _choose_then_approve(fake_slack, app, "PUIN002")
    assert "Marco Bianchi on call instead of Lena Hoffmann" in before
    [o] = sandbox.state.overrides("PSINFR1", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert o["user"]["id"] == "PUCO003"
    assert datetime.fromisoformat(o["end"]) - datetime.fromisoformat(o["start"]) == (
        datetime.fromisoformat("2026-11-20T20:00:00+00:00")
        - datetime.fromisoformat("2026-11-20T12:00:00+00:00")
    )
    assert "Approved" in shown(fake_slack) and "Marco Bianchi (PUCO003)" in shown(fake_slack)


async def test_which_schedule(settings, fake_slack, sandbox):
    prompt = "Arjun covers the Payments rotation for the next 8 hours instead of Lena"
    outcome = await pause(settings, prompt, sandbox)
    assert outcome.request["action_requests"][0]["name"] == "choose_schedule"
    text = shown(fake_slack)
    assert "Which schedule is meant?" in text and prompt in text and "Payments" in text
    assert "PSINFR1" in _offered(fake_slack)
    async with running_server(settings, fake_slack, sandbox) as app:
        before = await _choose_then_approve(fake_slack, app, "PSINFR1")
    assert "Override Infrastructure Primary: Arjun Mehta on call instead of Lena Hoffmann" in before
    [o] = sandbox.state.overrides("PSINFR1", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert o["user"]["id"] == "PUIN001"
    assert "Infrastructure Primary (PSINFR1)" in shown(fake_slack)


async def test_which_incident(settings, fake_slack, sandbox):
    a = open_incident(sandbox, "Public API returning 5xx")
    b = open_incident(sandbox, "Public API p99 latency 4s")
    outcome = await pause(settings, "resolve the Public API incident, rollback done", sandbox)
    assert outcome.request["action_requests"][0]["name"] == "choose_incident"
    assert set(_offered(fake_slack)) == {a["id"], b["id"]}
    listed = _candidates_block(fake_slack)
    assert "Public API returning 5xx" in listed and "Public API p99 latency 4s" in listed
    async with running_server(settings, fake_slack, sandbox) as app:
        before = await _choose_then_approve(fake_slack, app, b["id"])
    assert f"#{b['incident_number']}" in before
    assert sandbox.state.get_incident(b["id"])["status"] == "resolved"
    assert sandbox.state.get_incident(a["id"])["status"] == "triggered"


async def test_which_service_from_a_searchable_menu(settings, fake_slack, sandbox):
    """More services than a static menu shows well: the menu searches the candidates as you type."""
    for i in range(30):
        sandbox.state.add_service(f"Batch worker {i:02d}")
    outcome = await pause(settings, "Customers report errors, sev1", sandbox)  # names no service
    assert outcome.request["action_requests"][0]["name"] == "choose_service"
    candidates = outcome.request["action_requests"][0]["args"]["candidates"]
    assert len(candidates) > 25
    _, _, menu = fake_slack.find_element("hitl_choose")
    assert menu["type"] == "external_select" and "options" not in menu
    assert f"and {len(candidates) - 10} more" in shown(fake_slack)
    async with running_server(settings, fake_slack, sandbox) as app:
        found = await fake_slack.search("hitl_choose", "public", user=ALICE)
        assert [o["value"].rpartition("|")[2] for o in found] == ["PAPI001"]
        assert len(await fake_slack.search("hitl_choose", "", user=ALICE)) == len(candidates)
        found = await fake_slack.search("hitl_choose", "Worker 07", user=ALICE)
        assert [o["text"]["text"].split(" (")[0] for o in found] == ["Batch worker 07"]
        await fake_slack.search("hitl_choose", "public api", user=ALICE)
        before = await _choose_then_approve(fake_slack, app, "PAPI001")
    assert "Approve a page on Public API (PAPI001)" in before
    [incident] = sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}")
    assert incident["service"]["id"] == "PAPI001"
    assert len(fake_slack.state.calls_to("chat.postMessage")) == 1  # one message, updated in place


async def test_a_question_dropped_from_slack_writes_nothing(settings, fake_slack, sandbox):
    before = len(sandbox.state.list_incidents())
    await pause(settings, "API errors spiking, sev1", sandbox)
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.choose("hitl_choose", option_index=0, user=MALLORY)  # not an approver
        await fake_slack.click("hitl_reject", user=ALICE)
        await settle(app)
        assert fake_slack.open_view_for(ALICE).view["title"]["text"] == "Drop the request"
        await fake_slack.submit_view(ALICE, {"reason": "duplicate of the page from Grafana"})
        await settle(app)
    assert len(sandbox.state.list_incidents()) == before
    text = shown(fake_slack)
    assert "Rejected" in text and "duplicate of the page from Grafana" in text
    assert any("not allowed" in e.text for e in fake_slack.state.ephemerals_for(MALLORY))


async def test_a_searchable_menu_answers_over_socket_mode(settings, fake_slack, sandbox):
    from pydantic import SecretStr

    from agent.surfaces.server import create_app

    fake_slack.state.app_token = "xapp-PLANTED-7777"
    settings = settings.model_copy(
        update={"slack_socket_mode": True, "slack_app_token": SecretStr("xapp-PLANTED-7777")}
    )
    for i in range(30):
        sandbox.state.add_service(f"Batch worker {i:02d}")
    await pause(settings, "Customers report errors, sev1", sandbox)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        fake_slack.deliver_via_socket()
        found = await fake_slack.search("hitl_choose", "public api", user=ALICE)
        assert [o["value"].rpartition("|")[2] for o in found] == ["PAPI001"]
        await fake_slack.choose("hitl_choose", found[0]["value"], user=ALICE)
        await app.state.slack.drain()
        assert fake_slack.find_element("hitl_approve")  # the same message now asks to approve
    assert "Approve a page on Public API (PAPI001)" in shown(fake_slack)
