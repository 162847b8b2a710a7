"""State lives in the user's state directory: the same from any working directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.install.helpers import user_env

ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"


def cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_run_in_one_directory_approvals_in_another(tmp_path: Path) -> None:
    home, here, there = tmp_path / "home", tmp_path / "here", tmp_path / "there"
    for d in (home, here, there):
        d.mkdir()
    env = user_env(home)

    ran = cli(here, env, "run", ALERT, "--no-wait", "--json")
    assert ran.returncode == 0, ran.stderr
    thread = json.loads(ran.stdout)
    assert thread["status"] == "awaiting_approval", thread

    listed = cli(there, env, "approvals", "--json")
    assert listed.returncode == 0, listed.stderr
    assert thread["thread_id"] in [p["thread_id"] for p in json.loads(listed.stdout)]

    state = home / ".local" / "state" / "incident-agent"
    assert (state / "incident-agent.sqlite").is_file()
    assert (state / "incident-agent.sandbox.json").is_file()  # the embedded sandbox's incidents
    assert list(here.iterdir()) == [] and list(there.iterdir()) == []  # nothing in the cwd


@pytest.mark.slow
def test_incident_agent_checkpoint_overrides_the_state_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    chosen = tmp_path / "elsewhere" / "agent.sqlite"
    env = user_env(home, INCIDENT_AGENT_CHECKPOINT=str(chosen))

    ran = cli(tmp_path, env, "run", ALERT, "--no-wait", "--json")
    assert ran.returncode == 0, ran.stderr
    assert chosen.is_file() and chosen.with_suffix(".sandbox.json").is_file()
    assert not (home / ".local" / "state" / "incident-agent").exists()


def test_the_default_follows_xdg_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.config import Settings

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert Settings(_env_file=None).incident_agent_checkpoint == (
        tmp_path / "incident-agent" / "incident-agent.sqlite")
