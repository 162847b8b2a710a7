"""The LLM narrative over real HTTP (a scripted OpenAI-compatible server), through the graph."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agent.postmortem.narrate import template_narrative
from agent.runtime import Context
from graphs.postmortem import graph
from tests.fakes.openai_server import FakeOpenAI

from .services import sandbox_services


@pytest.fixture
def llm():
    server = FakeOpenAI().start()
    yield server
    server.stop()


async def run(sandbox, llm, tmp_path):
    async with sandbox_services(sandbox, tmp_path, openai_base_url=llm.base_url,
                                openai_api_key=SecretStr("test-key-0000"),
                                openai_model="fake-model") as svc:
        return await graph.ainvoke({"incident": "PINCD01"}, context=Context(services=svc))


async def test_llm_narrative_is_used_when_its_numbers_are_the_computed_ones(sandbox, llm, tmp_path):
    text = ("At 09:15 UTC the Public API started returning 5xx. David Miller was paged by sms and "
            "acknowledged after 6 min 30 s, scaled public-api to 12 replicas, and resolved the "
            "incident 47 min 45 s after it triggered.")
    llm.reply(text)
    state = await run(sandbox, llm, tmp_path)
    assert (state["narrative"], state["narrative_source"]) == (text, "llm")
    assert text in state["markdown"]
    (request,) = llm.requests
    sent = request.text()
    assert "Use only numbers that appear in the facts" in sent   # prompts/postmortem.md
    assert '"time_to_resolve_s": 2865' in sent and '"time_to_acknowledge_s": 390' in sent


async def test_llm_narrative_with_a_wrong_number_falls_back_to_the_template(sandbox, llm, tmp_path):
    llm.reply("David Miller acknowledged after 7 minutes and resolved it after 48 min 10 s.")
    state = await run(sandbox, llm, tmp_path)
    assert state["narrative_source"] == "template"
    assert state["narrative"] == template_narrative(state["report"])
    assert state["narrative_fallback_reason"] == (
        "LLM narrative had numbers not in the computed facts: 48 min 10 s")
    assert "The LLM narrative was discarded" in state["markdown"]


async def test_llm_failure_falls_back_to_the_template(sandbox, llm, tmp_path):
    llm.reply_error(500, times=2)  # the model's one retry included
    state = await run(sandbox, llm, tmp_path)
    assert state["narrative_source"] == "template"
    assert state["narrative_fallback_reason"].startswith("LLM call failed")
    assert state["metrics"]["time_to_resolve_s"] == 2865
