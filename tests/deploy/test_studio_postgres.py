"""Studio on the workers' Postgres: with INCIDENT_AGENT_DATABASE_URL set, `langgraph dev`
(langgraph.json's `checkpointer.path`, `agent.checkpoint:studio_checkpointer`) keeps its
threads in the same database as `serve` and the CLI, so a pause made in Studio is
answered from the terminal and Studio sees the answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk import get_client

from agent.pagerduty.sandbox import Clock, RunningSandbox, running_sandbox
from agent.pagerduty.sandbox.server import free_port
from tests.e2e.conftest import ACCOUNT, NOW, REPO
from tests.storage.conftest import pg_url  # noqa: F401 - the fixture

ALERT = "Stripe webhooks to billing-api failing with 401 since the key rotation (SEV1)"


def test_langgraph_json_names_the_studio_checkpointer() -> None:
    spec = json.loads((REPO / "langgraph.json").read_text())
    assert spec["checkpointer"] == {"path": "./agent/checkpoint.py:studio_checkpointer"}


@pytest.fixture
def studio(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, RunningSandbox, dict[str, str]]]:  # noqa: F811
    langgraph = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    assert langgraph, "langgraph-cli[inmem] is a dev dependency"
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "PAGERDUTY_", "INCIDENT_AGENT_"))}
        env.update(LANGGRAPH_NO_VERSION_CHECK="true", PAGERDUTY_API_URL=sb.base_url,
                   PAGERDUTY_API_TOKEN="sandbox-token", PAGERDUTY_FROM="susan.clark@contoso.example",
                   INCIDENT_AGENT_DATABASE_URL=pg_url,
                   # A SQLite file that must stay unused: the URL wins.
                   INCIDENT_AGENT_CHECKPOINT=str(tmp_path / "unused.sqlite"))
        log = (tmp_path / "langgraph-dev.log").open("wb")
        proc = subprocess.Popen([langgraph, "dev", "--no-browser", "--no-reload", "--port", str(port)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, (tmp_path / "langgraph-dev.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "langgraph dev did not start in 120 s"
                try:
                    if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            yield url, sb, env
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def cli(env: dict[str, str], *args: str) -> tuple[int, Any]:
    proc = subprocess.run([sys.executable, "-m", "agent", *args, "--json"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.slow
async def test_a_studio_pause_lives_in_postgres_and_is_answered_from_the_cli(
    studio: tuple[str, RunningSandbox, dict[str, str]], tmp_path: Path
) -> None:
    url, sb, env = studio
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "incident_response", input={"prompt": ALERT})
    assert (await client.threads.get_state(thread["thread_id"]))["interrupts"]

    with psycopg.connect(env["INCIDENT_AGENT_DATABASE_URL"]) as c:
        saved = c.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s",
                          (thread["thread_id"],)).fetchone()
    assert saved is not None and saved[0] > 0  # Studio's checkpoints are in the shared database
    assert not (tmp_path / "unused.sqlite").exists()

    code, listed = cli(env, "approvals")
    assert code == 0, listed
    assert [(a["thread_id"], a["status"]) for a in listed] == [(thread["thread_id"], "awaiting_approval")]
    code, done = cli(env, "approve", thread["thread_id"], "--as", "Terminal user")
    assert code == 0 and done["status"] == "done", done  # the CLI resumed Studio's checkpoint
    created = [i for i in sb.state.dump()["incidents"] if i["service"]["id"] == "PBIL001"]
    assert len(created) == 1
    final = await client.threads.get_state(thread["thread_id"])
    values = final["values"]
    assert isinstance(values, dict) and values["status"] == "done"  # and Studio reads the CLI's
