"""The one place a chat model is built: ChatOpenAI at the configured endpoint.

The token cap goes only in `extra_body.max_tokens`: langchain-openai sends
`max_tokens=` as `max_completion_tokens`, which llama.cpp-style servers
ignore. Chat completions, not the Responses API, so any OpenAI-compatible
server works. The API key stays a SecretStr all the way into the client.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from agent.config import Settings


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
