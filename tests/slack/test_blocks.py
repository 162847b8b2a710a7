"""The message and modals as Slack would accept them, whatever the alert says."""

from __future__ import annotations

import pytest

from agent.actions import ACTIONS
from agent.pagerduty.catalog import Catalog
from agent.surfaces.slack.blocks import Ask, request_blocks
from agent.surfaces.slack.fields import editable_fields
from agent.surfaces.slack.modals import edit_modal, read_edit
from agent.surfaces.slack.refs import BadRef, Ref
from tests.fakes.slack import SlackError, all_text, check_blocks, check_view

REF = Ref("thread:with:colons", "0123456789abcdef")


def test_ref_round_trip_and_rejects_garbage():
    assert Ref.decode(REF.encode()) == REF
    for bad in (None, "", "nocolon", ":x", "x:"):
        with pytest.raises(BadRef):
            Ref.decode(bad)


def test_alert_text_cannot_mention_the_channel_and_long_text_is_clipped():
    ask = Ask(ref=REF, action="create_incident", summary="<!channel> & <https://evil|click> " + "x" * 5000,
              prompt="<!here> <@U0BOSS>", facts=[("Service", "<!channel>"), ("Urgency", "high")],
              reasons=["<@U0BOSS> said so"] * 200, call={"method": "POST", "path": "/incidents", "body": {}},
              allowed=["approve", "edit", "reject"])
    blocks = check_blocks([b.to_dict() for b in request_blocks(ask)], surface="message")
    text = all_text(blocks)
    assert "<!channel>" not in text and "<@U0BOSS>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &amp;" in text


def test_only_allowed_decisions_get_buttons():
    ask = Ask(ref=REF, action="create_incident", summary="s", allowed=["approve", "reject"])
    ids = {el["action_id"] for b in request_blocks(ask) for el in b.to_dict().get("elements", [])
           if "action_id" in el}
    assert ids == {"hitl_approve", "hitl_reject"}


@pytest.mark.parametrize("name", sorted(n for n, a in ACTIONS.items() if a.editable))
def test_every_edit_modal_reads_back_what_it_shows(dev_account, name):
    """Each action's form, from its schema and editable fields: untouched, it reads back the pending values."""
    catalog = Catalog.from_snapshot(dev_account)
    pending = {
        "create_incident": {"service_id": "PAPI001", "title": "t", "urgency": "high", "priority": "P2",
                            "assignee_id": "PUCO001", "details": "d"},
        "add_note": {"content": "scaled up"},
        "create_override": {"user_id": "PUIN001", "start": "2026-11-20T12:00:00+00:00",
                            "end": "2026-11-20T20:00:00+00:00"},
        "resolve": {"resolution": "rollback done"},
        "reassign": {"assignee_id": None, "escalation_policy_id": "PEINFR1"},
        "add_responder": {"message": "help", "user_ids": ["PUCO002"], "escalation_policy_ids": []},
        "change_urgency": {"urgency": "low"},
        "change_priority": {"priority": "P1"},
    }[name]
    action = ACTIONS[name]
    fields = editable_fields(action.fields.model_json_schema(), action.editable)
    assert [f.name for f in fields] == list(action.editable)
    view = check_view(edit_modal(REF, fields, pending, catalog, "summary").to_dict())
    values = {}
    for b in view["blocks"]:
        if b["type"] != "input":
            continue
        el = b["element"]
        if el["type"] == "plain_text_input":
            state = {"type": "plain_text_input", "value": el.get("initial_value")}
        elif el["type"] == "multi_static_select":
            state = {"type": el["type"], "selected_options": el.get("initial_options") or []}
        else:
            state = {"type": el["type"], "selected_option": el.get("initial_option")}
        values[b["block_id"]] = {el["action_id"]: state}
    assert read_edit(fields, values) == pending


def test_a_modal_title_over_24_characters_is_refused_by_the_fake():
    with pytest.raises(SlackError):
        check_view({"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []})
