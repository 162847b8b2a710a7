"""The narrative guard: the LLM's prose is kept only if every number in it is a computed one."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from agent.postmortem.narrate import narrate, template_narrative, unknown_numbers

from .test_render import dev_report, long_report


def test_template_uses_only_computed_numbers():
    for report in (dev_report(), long_report()):
        assert unknown_numbers(template_narrative(report), report) == []


def test_numbers_in_every_rendered_unit_are_accepted():
    report = dev_report()
    text = ("Triggered at 09:15 on 2026-11-12 (9:15 AM), acknowledged by PUCO001 after 390 seconds, "
            "that is 6 min 30 s or 6.5 minutes, about 7 minutes. Resolved after 2865 s, 47 min 45 s, "
            "roughly 48 minutes or 0.8 hours. 1 notification by sms, 0 escalations, 6 log entries, "
            "12 replicas, incident #1201, 5xx.")
    assert unknown_numbers(text, report) == []
    assert unknown_numbers("It took 8 minutes and 3 escalations; 10,000 users.", report) == [
        "8 minutes", "3", "10000"]
    # each number alone is a real one (48 min is TTR rounded up, 10 the hour of the resolve),
    # but as one duration it is invented
    assert unknown_numbers("resolved after 48 min 10 s", report) == ["48 min 10 s"]


async def test_llm_narrative_kept_when_numbers_are_ours():
    report = dev_report()
    text = "David Miller acknowledged after 6 min 30 s and resolved the incident after 47 min 45 s."
    result = await narrate(report, FakeListChatModel(responses=[text]))
    assert (result.text, result.source, result.fallback_reason) == (text, "llm", None)


async def test_llm_narrative_with_an_invented_number_falls_back_to_the_template():
    report = dev_report()
    model = FakeListChatModel(responses=["Acknowledged after 8 minutes, resolved after 47 min 45 s."])
    result = await narrate(report, model)
    assert result.source == "template" and result.text == template_narrative(report)
    assert result.fallback_reason == "LLM narrative had numbers not in the computed facts: 8 minutes"


async def test_no_model_means_template():
    report = dev_report()
    result = await narrate(report, None)
    assert result.source == "template" and result.fallback_reason is None
