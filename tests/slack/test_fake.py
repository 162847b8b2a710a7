"""The fake Slack refuses what Slack refuses, over real HTTP, with slack-sdk as the client."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack.conftest import BOT_TOKEN, CHANNEL


async def test_wrong_token_unknown_channel_and_unknown_user(fake_slack):
    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as err:
        await bad.chat_postMessage(channel=CHANNEL, text="hi")
    assert err.value.response["error"] == "invalid_auth"
    good = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as err:
        await good.chat_postMessage(channel="C0NOPE", text="hi")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err:
        await good.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as err:
        await good.views_open(trigger_id="never-issued", view={"type": "modal", "title": "x", "blocks": []})
    assert err.value.response["error"] == "invalid_trigger_id"
    assert not fake_slack.state.messages
    assert [c.ok for c in fake_slack.state.calls] == [False, False, False, False]


async def test_post_update_and_read_back(fake_slack):
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)
    posted = await client.chat_postMessage(channel=CHANNEL, text="first")
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="second")
    msg = fake_slack.state.message(CHANNEL, posted["ts"])
    assert msg.text == "second" and msg.history[0]["text"] == "first"
    assert (await client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == ["U0BOB"]
