"""A crafted alert cannot ping the channel, a person, or hide a link: not in blocks, not in `text`.

Everything the app sent to the fake Slack (every Web API call's arguments:
messages, updates, ephemeral notes, modals) is searched for the alert's
markup; it must arrive escaped (`&lt;!channel&gt;`), so Slack shows it as
words and notifies nobody. One exception, on purpose: the value pre-filled
in an edit form's text input is the data itself (Slack does not read markup
in an input, a form notifies nobody, and escaping it would write `&lt;` to
PagerDuty when the approver submits it unchanged).
"""

from __future__ import annotations

import json

import pytest

from tests.slack.conftest import ALICE, pause, running_server, settle, shown

pytestmark = pytest.mark.slow

CRAFTED = ("<!channel> <!here> Public API down: see <https://evil.example/login|the runbook>, "
           "ask <@U0BOSS> & <!subteam^S0ALL> (critical)")
MARKUP = ("<!channel>", "<!here>", "<@U0BOSS>", "<https://evil", "<!subteam")


def sent(fake) -> str:
    """Every argument of every Web API call the app made (but the forms' pre-filled input values)."""
    calls = []
    for c in fake.state.calls:
        args = dict(c.args)
        if c.method == "views.open":
            view = json.loads(args["view"]) if isinstance(args["view"], str) else args["view"]
            for b in view.get("blocks") or []:
                (b.get("element") or {}).pop("initial_value", None)
            args["view"] = view
        calls.append(args)
    return json.dumps(calls, ensure_ascii=False)


def assert_no_markup(fake) -> None:
    everything = sent(fake)
    for markup in MARKUP:
        at = everything.find(markup)
        assert at < 0, everything[max(0, at - 300): at + 100]
    assert "&lt;!channel&gt;" in everything


async def test_a_crafted_alert_mentions_nobody_from_post_to_decision(settings, fake_slack, sandbox):
    outcome = await pause(settings, CRAFTED, sandbox)
    assert outcome.status == "awaiting_approval", outcome.report
    [post] = fake_slack.state.calls_to("chat.postMessage")
    assert "&lt;!channel&gt;" in post.args["text"]  # the notification text too
    assert_no_markup(fake_slack)
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_show_call", user=ALICE)
        await fake_slack.click("hitl_edit", user=ALICE)
        await settle(app)
        await fake_slack.submit_view(ALICE, {"field_urgency": "low"})
        await settle(app)
    assert_no_markup(fake_slack)
    assert "Approved with edits" in shown(fake_slack)
    [incident] = sandbox.state.list_incidents(incident_key=f"incident-agent/{outcome.thread_id}")
    assert "<!channel>" in incident["title"]  # PagerDuty gets the words as they were


async def test_a_crafted_question_and_its_rejection_mention_nobody(settings, fake_slack, sandbox):
    outcome = await pause(settings, "<!channel> customers report errors <@U0BOSS>, sev1", sandbox)
    assert outcome.status == "needs_input", outcome.report
    assert_no_markup(fake_slack)
    async with running_server(settings, fake_slack, sandbox) as app:
        await fake_slack.click("hitl_reject", user=ALICE)
        await settle(app)
        await fake_slack.submit_view(ALICE, {"reason": "<!here> not real <https://evil.example|x>"})
        await settle(app)
    assert_no_markup(fake_slack)
    assert "Rejected" in shown(fake_slack)
