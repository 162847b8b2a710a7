"""A clean user environment for processes started by the install tests."""

from __future__ import annotations

import os
from pathlib import Path

# Settings a developer's shell (or CI) may carry that would change what a new user sees.
_PREFIXES = ("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_", "SANDBOX_", "XDG_", "PYTHON")


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a new user whose home is `home`: nothing of ours set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / ".local" / "state"),
               COLUMNS="200", LANGGRAPH_NO_VERSION_CHECK="true", **extra)
    return env
