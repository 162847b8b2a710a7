"""`incident-agent db upgrade` and `db current` against the local Postgres (`.ci/services`),
run as an operator runs them: the installed command, the URL from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from langgraph.checkpoint.postgres.base import BasePostgresSaver

from tests.deploy.compose import compose_database
from tests.storage.conftest import pg_url  # noqa: F401 - the fixture

HEAD_CHECKPOINTS = len(BasePostgresSaver.MIGRATIONS) - 1  # LangGraph numbers its migrations from 0


def db(tmp_path: Path, url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENT_AGENT_", "PAGERDUTY_"))}
    env.update(HOME=str(tmp_path), LANGGRAPH_NO_VERSION_CHECK="true")
    if url is not None:
        env["INCIDENT_AGENT_DATABASE_URL"] = url
    exe = Path(sys.executable).with_name("incident-agent")
    return subprocess.run([str(exe), "db", *args], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from agent.approvals.store import database

    head = ScriptDirectory(str(Path(database.__file__).with_name("migrations"))).get_current_head()
    assert head is not None
    return head


@pytest.mark.slow
def test_upgrade_brings_an_empty_database_to_head_once_and_current_says_so(
    tmp_path: Path, pg_url: str  # noqa: F811
) -> None:
    behind = db(tmp_path, pg_url, "current", "--json")
    assert behind.returncode == 1, behind.stderr
    status = json.loads(behind.stdout)
    assert status["up_to_date"] is False and status["schema"] == {"current": None, "head": head_revision()}
    assert status["checkpoints"]["current"] is None

    up = db(tmp_path, pg_url, "upgrade", "--json")
    assert up.returncode == 0, up.stderr
    done = json.loads(up.stdout)
    assert done["before"]["schema"]["current"] is None and done["schema"]["current"] == head_revision()
    assert done["checkpoints"] == {"current": HEAD_CHECKPOINTS, "head": HEAD_CHECKPOINTS}
    assert done["database"].startswith("postgresql://postgres:***@")

    # What a worker needs is there: our tables, at head, and LangGraph's.
    with psycopg.connect(pg_url) as c:
        tables = {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"approvals", "audit", "slack_posts", "checkpoints", "checkpoint_writes"} <= tables, tables
        assert c.execute("SELECT version_num FROM incident_agent_schema_version").fetchall() == [
            (head_revision(),)]
        assert c.execute("SELECT max(v) FROM checkpoint_migrations").fetchone() == (HEAD_CHECKPOINTS,)

    again = db(tmp_path, pg_url, "upgrade")
    assert again.returncode == 0, again.stderr
    assert "→" not in again.stdout and again.stdout.count("up to date") == 2

    now = db(tmp_path, pg_url, "current")
    assert now.returncode == 0, now.stderr
    assert f"schema       {head_revision()} (head {head_revision()}), up to date" in now.stdout


@pytest.mark.slow
def test_the_password_is_never_printed_and_a_refusal_is_one_line(tmp_path: Path) -> None:
    password = "pl@nted:pa%ss/WORD"  # characters a URL must percent-encode
    with compose_database("ia_deploy_cli", password) as (host, port, name):
        url = f"postgresql://ia_deploy_cli:{quote(password, safe='')}@{host}:{port}/{name}"
        up = db(tmp_path, url, "upgrade")
        assert up.returncode == 0, up.stderr
        assert f"postgresql://ia_deploy_cli:***@{host}:{port}/{name}" in up.stdout
        wrong = url.replace(quote(password, safe=""), "WRONG-planted-pw")
        refused = db(tmp_path, wrong, "current", "--json")
        for out in (up, refused):
            text = out.stdout + out.stderr
            assert password not in text and quote(password, safe="") not in text
            assert "WRONG-planted-pw" not in text and "Traceback" not in text
    assert refused.returncode == 1
    error = json.loads(refused.stdout)
    assert error["status"] == "error" and "password authentication failed" in error["error"]


def test_without_a_database_url_there_is_nothing_to_migrate(tmp_path: Path) -> None:
    for url in (None, ""):
        out = db(tmp_path, url, "upgrade")
        assert out.returncode == 2
        assert "INCIDENT_AGENT_DATABASE_URL is not set" in out.stderr
