"""A setting left out or wrong, as an SRE types it: INCIDENT_AGENT_DATABASE_URL at a
closed port, with a wrong password, naming a database that does not exist or one never
migrated; INCIDENT_AGENT_REDIS_URL at nothing. `serve`, `run`, `approve`, `approvals`
and `doctor` each say so in one line naming the setting's URL (password `***`), with
no traceback and no password, and exit 1 (`serve` before it binds its port).

The Postgres here is the tests' own (tests/chaos/services.py), which asks for a password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent.pagerduty.sandbox import Clock, running_sandbox
from agent.pagerduty.sandbox.server import free_port
from tests.chaos.services import PASSWORD, PrivatePostgres
from tests.conftest import SANDBOX_NOW
from tests.workers.cluster import ACCOUNT

pytestmark = pytest.mark.slow

WRONG = "Wr0ng-pass-FOR-chaos"
REDIS_PASSWORD = "redis-pass-FOR-chaos"


def agent(env: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("OPENAI_", "PAGERDUTY_", "SLACK_", "INCIDENT_AGENT_", "INTAKE_"))}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        env={**keep, "HOME": str(home), "XDG_STATE_HOME": str(home / "state"), "COLUMNS": "400",
             "LANGGRAPH_NO_VERSION_CHECK": "true", "PAGERDUTY_API_TOKEN": "sandbox-token",
             "PAGERDUTY_WEBHOOK_SECRETS": json.dumps(["whsec-chaos"]), **env},
        cwd=home, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


COMMANDS = {
    "serve": ["serve", "--port", "0"],
    "run": ["run", "--no-wait", "Public API 5xx in eu-west-1"],
    "approve": ["approve", "some-thread"],
    "approvals": ["approvals"],
    "doctor": ["doctor"],
}


def test_a_database_that_cannot_be_used_is_one_line_everywhere(
    pg: PrivatePostgres, tmp_path: Path
) -> None:
    pg.create_database("present")
    urls = {
        "closed port": (pg.url("present").replace(str(pg.port), str(free_port())), "Connection refused"),
        "wrong password": (pg.url("present", password=WRONG), "password authentication failed"),
        "no such database": (pg.url("absent"), 'database "absent" does not exist'),
    }
    which = {"closed port": list(COMMANDS), "wrong password": ["serve", "run", "doctor"],
             "no such database": ["approvals", "approve"]}  # all five each: twice the time
    cases = [(why, url, said, name, COMMANDS[name]) for why, (url, said) in urls.items()
             for name in which[why]]
    with running_sandbox(tokens={"sandbox-token": None}) as sb, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(
            lambda c: agent({"INCIDENT_AGENT_DATABASE_URL": c[1], "PAGERDUTY_API_URL": sb.base_url},
                            tmp_path / c[3] / c[0].replace(" ", "-"), *c[4]), cases))
    for (why, url, said, name, _), proc in zip(cases, results, strict=True):
        shown = proc.stdout + proc.stderr
        where = f"{name} with {why}:\n{shown}"
        assert proc.returncode == 1, where
        assert "Traceback" not in shown and PASSWORD not in shown and WRONG not in shown, where
        redacted = url.replace(PASSWORD, "***").replace(WRONG, "***")
        line = f"cannot use the database {redacted}: "
        errors = [ln for ln in shown.splitlines() if ln.startswith(("error:", "✗"))]
        assert len(errors) == 1 and line in errors[0] and said in errors[0], where
        if name == "serve":
            assert "Uvicorn running" not in shown, where  # refused before it took the port


def test_a_database_never_migrated_is_migrated_on_first_use(pg: PrivatePostgres, tmp_path: Path) -> None:
    """An empty database is not an error: the first command makes the app's schema (and
    the first `run` or `serve` LangGraph's checkpoint tables: the Redis test below runs on
    a database never migrated)."""
    url = pg.create_database("empty")
    first = agent({"INCIDENT_AGENT_DATABASE_URL": url}, tmp_path / "a", "approvals", "--json")
    assert first.returncode == 0 and json.loads(first.stdout) == [], first.stderr
    current = agent({"INCIDENT_AGENT_DATABASE_URL": url}, tmp_path / "b", "db", "current", "--json")
    schema = json.loads(current.stdout)["schema"]
    assert schema["current"] == schema["head"], current.stdout
    assert PASSWORD not in current.stdout + current.stderr


def test_redis_unreachable_is_named_by_doctor_and_does_not_stop_a_run(
    pg: PrivatePostgres, tmp_path: Path
) -> None:
    url = pg.create_database("with_redis")
    gone = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    with running_sandbox(ACCOUNT, clock=Clock(SANDBOX_NOW), tokens={"sandbox-token": None}) as sb:
        env = {"INCIDENT_AGENT_DATABASE_URL": url, "INCIDENT_AGENT_REDIS_URL": gone,
               "PAGERDUTY_API_URL": sb.base_url, "PAGERDUTY_FROM": "david.miller@contoso.example"}
        doctor = agent(env, tmp_path / "doctor", "doctor")
        run = agent(env, tmp_path / "run", "run", "--no-wait", "--json",
                    "Public API 5xx storm in eu-west-1 (critical)")
    shown = doctor.stdout + doctor.stderr
    assert doctor.returncode == 1, shown
    [redis_line] = [ln for ln in shown.splitlines() if ln.startswith("✗ Redis")]
    assert redis_line.startswith("✗ Redis: cannot reach Redis redis://***@127.0.0.1:"), shown
    assert "1/4 of the PagerDuty budget" in redis_line
    assert "✓ PagerDuty token" in shown  # the calls themselves go on, on the worker's share
    # The run reads PagerDuty on its own share of the budget and pauses for approval,
    # saying once why the budget is not shared.
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["status"] in ("awaiting_approval", "needs_input"), run.stdout
    assert run.stderr.count("Redis is unreachable (ConnectionError)") == 1, run.stderr
    for proc in (doctor, run):
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out and REDIS_PASSWORD not in out and PASSWORD not in out
