"""What the post-mortem nodes need at run time, passed as LangGraph's runtime context.

Nothing is built at import time: the CLI hands in an open client; Studio hands
in nothing and the nodes fall back to the process-wide services of
`agent.runtime` (built lazily from the settings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from agent.config import Settings, get_settings
from agent.pagerduty.client import PagerDutyClient


@dataclass
class Context:
    """Run-time configuration of one post-mortem run."""

    settings: Settings | None = None
    """Settings; `get_settings()` when absent."""
    pd: PagerDutyClient | None = None
    """An open PagerDuty client; the shared lazy one (agent.runtime) when absent."""
    chat_model: Callable[[Settings], BaseChatModel | None] | None = None
    """Builds the narrative's model; `narrate.chat_model` (ChatOpenAI if configured) when absent."""
    propose_note: bool = False
    """Also propose an incident note with the summary (a write: it goes to approval)."""
    slack_channel: str | None = None
    """Propose a Slack post to this channel (data only)."""

    def resolved_settings(self) -> Settings:
        return self.settings or get_settings()
