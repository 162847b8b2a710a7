"""Shared fixtures: the dev account and a running PagerDuty sandbox at a fixed instant."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.config import get_settings
from agent.pagerduty.sandbox import Clock, RunningSandbox, running_sandbox


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as a terminal delivers it. A CI job run in the background by a non-interactive
    shell starts with SIGINT ignored, and children inherit an ignored signal through exec:
    Python then installs no KeyboardInterrupt handler, and the tests that press Ctrl-C on the
    CLI would wait for a process that never hears it."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# The dev account (a copy of ../shared/eval/dev-account.json): the account the dev cases and
# expected metrics are written against. The bundled demo (agent/data) is a different company.
DEV_ACCOUNT = Path(__file__).parent / "triage" / "dev-account.json"
SANDBOX_NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test reads or writes the real user's home or state directory (where the
    agent keeps its SQLite file by default); subprocesses inherit these too."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.delenv("INCIDENT_AGENT_CHECKPOINT", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def dev_account() -> dict[str, Any]:
    """The dev account snapshot (a fresh parsed copy per test)."""
    return json.loads(DEV_ACCOUNT.read_text(encoding="utf-8"))


@pytest.fixture
def sandbox(dev_account: dict[str, Any]) -> Iterator[RunningSandbox]:
    """The dev account served on loopback, its clock frozen at 2026-11-20T12:00:00Z.

    Account-level token: `sandbox-token`. Move time with `sandbox.clock.advance(s)`."""
    with running_sandbox(dev_account, clock=Clock(SANDBOX_NOW)) as sb:
        yield sb
