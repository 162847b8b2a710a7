"""`serve` refuses to start an endpoint whose secret is missing, naming the setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from agent.config import Settings
from agent.surfaces.server import create_app, refusals
from tests.install.helpers import user_env

BOT = "xoxb-planted-bot-token-1234"


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_slack_without_its_signing_secret_is_refused() -> None:
    [problem] = refusals(settings(slack_bot_token=SecretStr(BOT)))
    assert "SLACK_SIGNING_SECRET" in problem and BOT not in problem


def test_socket_mode_without_an_app_token_is_refused() -> None:
    problems = refusals(settings(slack_bot_token=SecretStr(BOT), slack_socket_mode=True))
    assert any("SLACK_APP_TOKEN" in p for p in problems)


def test_a_signing_secret_without_a_bot_token_is_refused() -> None:
    [problem] = refusals(settings(slack_signing_secret=SecretStr("s" * 32)))
    assert "SLACK_BOT_TOKEN" in problem


def test_nothing_configured_is_refused_naming_what_to_set() -> None:
    [problem] = refusals(settings())
    assert "SLACK_BOT_TOKEN" in problem and "PAGERDUTY_WEBHOOK_SECRETS" in problem


@pytest.mark.parametrize("values", [
    {"slack_bot_token": SecretStr(BOT), "slack_signing_secret": SecretStr("s" * 32)},
    {"slack_bot_token": SecretStr(BOT), "slack_socket_mode": True, "slack_app_token": SecretStr("xapp-1")},
    {"pagerduty_webhook_secrets": [SecretStr("whsec")]},
])
def test_complete_settings_start(values: dict) -> None:
    assert refusals(settings(**values)) == []


async def test_served_app_has_no_webhook_route_without_a_secret(tmp_path: Path, sandbox) -> None:
    base = settings(pagerduty_api_url=sandbox.base_url, incident_agent_checkpoint=tmp_path / "a.sqlite")
    for secrets, expected in (([], 404), ([SecretStr("whsec")], 401)):
        app = create_app(base.model_copy(update={"pagerduty_webhook_secrets": secrets}),
                         unverifiable_endpoints=False)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            assert (await http.post("/webhooks/pagerduty", json={"event": {}})).status_code == expected


@pytest.mark.slow
def test_incident_agent_serve_exits_2_and_names_the_setting(tmp_path: Path) -> None:
    env = user_env(tmp_path, SLACK_BOT_TOKEN=BOT)
    proc = subprocess.run([sys.executable, "-m", "agent", "serve", "--port", "0"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "SLACK_SIGNING_SECRET" in proc.stderr
    assert BOT not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_serve_logs_its_own_lines_and_never_a_secret(tmp_path: Path, sandbox) -> None:
    """The agent's lines reach the operator beside uvicorn's; planted secrets never do."""
    import json
    import signal
    import socket
    import time

    from agent.surfaces.webhooks import PATH, sign

    webhook, token = "whsec-planted-webhook-5678", "pd-planted-token-9012"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = user_env(tmp_path, PAGERDUTY_WEBHOOK_SECRETS=json.dumps([webhook]),
                   PAGERDUTY_API_URL=sandbox.base_url, PAGERDUTY_API_TOKEN=token)
    proc = subprocess.Popen([sys.executable, "-m", "agent", "serve", "--port", str(port)], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        body = b'{"event": {"id": "E1", "event_type": "incident.annotated"}}'
        for signature in (sign(body, webhook), sign(body, "not-the-secret")):
            httpx.post(f"http://127.0.0.1:{port}{PATH}", content=body, timeout=10,
                       headers={"X-PagerDuty-Signature": signature})
    finally:
        proc.send_signal(signal.SIGTERM)
        out, errors = proc.communicate(timeout=60)
    assert proc.returncode == 0, errors
    said = out + errors
    assert "incident-agent server ready" in said and "invalid signature" in said
    assert webhook not in said and token not in said and sign(body, webhook)[3:] not in said
