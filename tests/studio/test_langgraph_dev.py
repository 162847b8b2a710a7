"""The team that tunes the agent: `langgraph dev` serves the graph, Studio's SDK drives it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from agent.pagerduty.sandbox import Clock, running_sandbox
from tests.e2e.conftest import ACCOUNT, NOW, ON_CALL_CORE, REPO

ALERT = "Stripe webhooks to billing-api failing with 401 since the key rotation (SEV1)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path):
    langgraph = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    assert langgraph, "langgraph-cli[inmem] is a dev dependency"
    with running_sandbox(ACCOUNT, clock=Clock(NOW)) as sb:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAGERDUTY_"))}
        env.update(
            LANGGRAPH_NO_VERSION_CHECK="true",
            PAGERDUTY_API_URL=sb.base_url,
            PAGERDUTY_API_TOKEN="sandbox-token",
            PAGERDUTY_FROM="susan.clark@contoso.example",
            INCIDENT_AGENT_CHECKPOINT=str(tmp_path / "studio.sqlite"),
        )
        proc = subprocess.Popen(
            [langgraph, "dev", "--no-browser", "--no-reload", "--port", str(port)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else "exited"
                try:
                    if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            else:
                raise AssertionError("langgraph dev did not start in 90 s")
            yield url, sb, env
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_studio_runs_pauses_and_resumes_the_served_graph(served) -> None:
    url, sb, _env = served
    client = get_client(url=url)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "incident_response", input={"prompt": ALERT})
    state = await client.threads.get_state(thread["thread_id"])
    [intr] = state["interrupts"]
    request = intr["value"]
    assert request["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
    args = request["action_requests"][0]["args"]
    assert args["service_id"] == "PBIL001" and args["urgency"] == "high"
    assert args["assignee_id"] == ON_CALL_CORE
    assert sb.state.dump()["incidents"][1:] == []  # only the fixture's resolved incident

    await client.runs.wait(
        thread["thread_id"], "incident_response",
        command={"resume": {intr["id"]: {"decisions": [{"type": "approve"}],
                                          "approver": {"name": "Studio user", "source": "studio"}}}},
    )
    final = await client.threads.get_state(thread["thread_id"])
    assert final["values"]["status"] == "done", final["values"]
    created = [i for i in sb.state.dump()["incidents"] if i["service"]["id"] == "PBIL001"]
    assert len(created) == 1
    assert created[0]["incident_key"] == f"incident-agent/{thread['thread_id']}"


def _cli(env: dict[str, str], *args: str) -> tuple[int, object]:
    import json

    proc = subprocess.run([sys.executable, "-m", "agent", *args, "--json"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    return proc.returncode, json.loads(proc.stdout)


async def test_a_studio_pause_is_answered_from_the_cli_and_studio_answers_are_audited(served) -> None:
    url, sb, env = served
    client = get_client(url=url)
    paused = await client.threads.create()
    await client.runs.wait(paused["thread_id"], "incident_response", input={"prompt": ALERT})

    code, listed = _cli(env, "approvals")
    assert code == 0, listed
    assert [(a["thread_id"], a["status"]) for a in listed] == [(paused["thread_id"], "awaiting_approval")]
    code, done = _cli(env, "approve", paused["thread_id"], "--as", "Terminal user")
    assert code == 0 and done["status"] == "done", done
    assert len([i for i in sb.state.dump()["incidents"] if i["service"]["id"] == "PBIL001"]) == 1
    final = await client.threads.get_state(paused["thread_id"])
    assert final["values"]["status"] == "done"

    # A Studio answer without an approver (Studio sends none) is audited as "studio".
    other = await client.threads.create()
    await client.runs.wait(other["thread_id"], "incident_response",
                           input={"prompt": "Postgres Main replication lag 40 minutes (critical)"})
    [intr] = (await client.threads.get_state(other["thread_id"]))["interrupts"]
    await client.runs.wait(other["thread_id"], "incident_response",
                           command={"resume": {intr["id"]: {"decisions": [{"type": "reject",
                                                                           "message": "drill"}]}}})
    code, audit = _cli(env, "audit", other["thread_id"])
    assert [(a["decision"], a["approver"]["name"], a["approver"]["source"], a["message"])
            for a in audit] == [("reject", "studio", "studio", "drill")]
    code, listed = _cli(env, "approvals")
    assert listed == []
