"""The one place a chat model is built: ChatOpenAI at the configured endpoint.

The token cap goes only in `extra_body.max_tokens`: langchain-openai sends
`max_tokens=` as `max_completion_tokens`, which llama.cpp-style servers
ignore. Chat completions, not the Responses API, so any OpenAI-compatible
server works. The API key stays a SecretStr all the way into the client.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from pydantic import SecretStr

from agent.config import Settings

if TYPE_CHECKING:  # LangChain is imported only when a model is built
    from langchain_core.language_models import BaseChatModel


@cache
def load_prompt(name: str) -> str:
    """`prompts/<name>.md`, read as package data (`agent/prompts` links to the top-level
    `prompts/`), so an installed wheel has its prompts wherever it runs."""
    return (resources.files("agent") / "prompts" / f"{name}.md").read_text(encoding="utf-8")


def llm_configured(settings: Settings) -> bool:
    return bool(settings.openai_base_url or settings.openai_api_key)


def chat_model(settings: Settings, *, max_tokens: int, timeout_s: float) -> BaseChatModel:
    from langchain_openai import ChatOpenAI  # only when an LLM is actually used

    return ChatOpenAI(
        model=settings.openai_model,
        api_key=settings.openai_api_key or SecretStr("not-needed"),
        base_url=settings.openai_base_url,
        temperature=0,
        extra_body={"max_tokens": max_tokens},
        timeout=timeout_s,
        max_retries=1,
        use_responses_api=False,
    )
