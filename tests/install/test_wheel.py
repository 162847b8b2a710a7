"""The wheel is the product: built, installed into a fresh venv outside the checkout,
and `incident-agent triage` run from another directory, its model the local fake.

Dependencies come from `requirements.lock` (the runtime lock). With
INCIDENT_AGENT_WHEELHOUSE set (.ci/run fills one while it installs), the
install is offline (`--no-index --find-links`); otherwise pip uses the index
and its cache.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.install.helpers import user_env

REPO = Path(__file__).resolve().parents[2]
ALERT = "High latency on the Public API: p99 3.1s in us-central1 (critical)"


def _pip_env() -> dict[str, str]:
    """pip's own cache stays where it was (the test's HOME is a temp dir)."""
    cache = os.environ.get("PIP_CACHE_DIR") or str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "pip")
    return {**os.environ, "PIP_CACHE_DIR": cache, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _run(*cmd: str | Path, **kw) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel and the runtime lock; its bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    # The project's own build backend from the dev venv (setuptools is in it), so the
    # build needs no download.
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, REPO,
         env=_pip_env(), cwd=root)
    wheel = next(dist.glob("incident_agent-*.whl"))
    target = root / "venv"
    venv.create(target, with_pip=True)
    source = (["--no-index", "--find-links", os.environ["INCIDENT_AGENT_WHEELHOUSE"]]
              if os.environ.get("INCIDENT_AGENT_WHEELHOUSE") else [])
    _run(target / "bin" / "python", "-m", "pip", "install", "--quiet", *source,
         "-r", REPO / "requirements.lock", wheel, env=_pip_env(), cwd=root)
    return target / "bin"


@pytest.mark.slow
def test_the_wheel_carries_its_prompts_and_demo_account(installed: Path, tmp_path: Path) -> None:
    code = ("import agent, importlib.resources as r; f = r.files('agent'); "
            "print(agent.__file__); print((f / 'prompts' / 'triage.md').is_file(), "
            "(f / 'prompts' / 'postmortem.md').is_file(), (f / 'data' / 'demo-account.json').is_file())")
    out = _run(installed / "python", "-c", code, cwd=tmp_path, env=user_env(tmp_path)).stdout.split("\n")
    assert not out[0].startswith(str(REPO)), out[0]  # the installed copy, not the checkout
    assert out[1] == "True True True"


@pytest.mark.slow
def test_the_wheel_has_no_development_packages(installed: Path, tmp_path: Path) -> None:
    listed = _run(installed / "python", "-m", "pip", "list", "--format=json", cwd=tmp_path).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert "incident-agent" in names
    assert not names & {"pytest", "mypy", "ruff", "langgraph-cli", "langgraph-api", "langchain"}


@pytest.mark.slow
def test_installed_triage_runs_from_another_directory_against_the_fake_model(
    installed: Path, tmp_path: Path
) -> None:
    account = json.loads((REPO / "agent" / "data" / "demo-account.json").read_text())
    public_api = next(s["id"] for s in account["services"] if s["name"] == "Public API")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with FakeOpenAI() as model:
        model.reply({
            "intent": "page", "service_id": public_api, "service_words": "Public API",
            "urgency": "high", "priority": None, "title": "High latency on the Public API",
            "incident_ref": None, "people": [], "schedule_words": None, "time_words": None,
            "message": None, "reasons": ["the alert names the Public API"],
        })
        env = user_env(tmp_path / "home", OPENAI_BASE_URL=model.base_url, OPENAI_MODEL="fake")
        proc = subprocess.run([str(installed / "incident-agent"), "triage", ALERT, "--json"],
                              cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert (result["source"], result["intent"], result["service_id"]) == ("llm", "page", public_api)
        # The system prompt came from the wheel's package data (prompts/triage.md).
        first_line = (REPO / "prompts" / "triage.md").read_text().splitlines()[0]
        assert first_line and first_line in model.requests[0].text()
    assert list(elsewhere.iterdir()) == []
