"""The message and modals as Slack would accept them, whatever the alert says."""

from __future__ import annotations

import pytest

from agent.pagerduty.catalog import Catalog
from agent.slack.blocks import Ask, request_blocks
from agent.slack.modals import EDIT_FIELDS, edit_modal, read_edit
from agent.slack.refs import BadRef, Ref
from tests.fakes.slack import SlackError, all_text, check_blocks, check_view

REF = Ref("thread:with:colons", "0123456789abcdef")


def test_ref_round_trip_and_rejects_garbage():
    assert Ref.decode(REF.encode()) == REF
    for bad in (None, "", "nocolon", ":x", "x:"):
        with pytest.raises(BadRef):
            Ref.decode(bad)


def test_alert_text_cannot_mention_the_channel_and_long_text_is_clipped():
    ask = Ask(ref=REF, action="create_incident", summary="<!channel> & <https://evil|click> " + "x" * 5000,
              service="Public API (PAPI001)", pages="David Miller", urgency="high",
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


def test_the_edit_modal_reads_back_what_it_shows(dev_account):
    catalog = Catalog.from_snapshot(dev_account)
    args = {"service_id": "PAPI001", "title": "t", "urgency": "high", "priority": "PPRI002",
            "assignee_id": "PUCO001"}
    view = check_view(edit_modal(REF, "create_incident", args, catalog).to_dict())
    values = {}
    for b in view["blocks"]:
        if b["type"] != "input":
            continue
        el = b["element"]
        if el["type"] == "plain_text_input":
            values[b["block_id"]] = {"value": {"type": "plain_text_input", "value": el.get("initial_value")}}
        else:
            values[b["block_id"]] = {"value": {"type": "static_select",
                                               "selected_option": el.get("initial_option")}}
    assert read_edit("create_incident", values) == {**args, "priority": "P2"}
    assert {f.arg for f in EDIT_FIELDS["create_incident"]} == set(args)


def test_a_modal_title_over_24_characters_is_refused_by_the_fake():
    with pytest.raises(SlackError):
        check_view({"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []})
