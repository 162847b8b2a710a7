"""`incident-agent doctor`: each setting checked against what it connects to.

One line per check, so a team connecting a real account sees at once which
setting is wrong, before a human approves a write that cannot land.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from agent.config import Settings


@dataclass
class Check:
    name: str
    status: Literal["ok", "warn", "fail"]
    detail: str


async def run_checks(settings: Settings) -> list[Check]:
    from agent.approvals.store.database import where as stored_in
    from agent.pagerduty.embedded import sandbox_persist_path
    from agent.pagerduty.errors import PagerDutyError, plain
    from agent.runtime import SenderError, open_services
    from agent.surfaces.connecting import database_problem, redis_check

    checks: list[Check] = []
    where = settings.pagerduty_api_url or "the embedded sandbox (no PAGERDUTY_API_URL)"
    state = [f"checkpoints, approvals, audit: {stored_in(settings)}"]
    if not settings.pagerduty_api_url:
        state.append(f"embedded sandbox state: {sandbox_persist_path(settings)}")
    checks.append(Check("state", "ok", "; ".join(state)))
    unusable = await asyncio.to_thread(database_problem, settings)
    if unusable is not None:  # nothing below can run without it
        checks.append(Check("database", "fail", unusable))
        return checks
    checks.append(Check("database", "ok", f"{stored_in(settings)} can be used"))
    if settings.incident_agent_redis_url is not None:
        checks.append(Check("Redis", *await redis_check(settings)))
    try:
        async with open_services(settings) as services:
            pd = services.pd
            try:
                await pd.request("GET", "/users", params={"limit": 1})
                checks.append(Check("PagerDuty token", "ok", f"accepted by {where}"))
            except PagerDutyError as exc:
                checks.append(Check("PagerDuty token", "fail", f"{where}: {plain(exc)}"))
                return checks
            try:
                user = await services.acting_user()
                assert user is not None
                checks.append(Check("acting user (From)", "ok", f"writes act as {user.name} <{user.email}>"))
            except SenderError as exc:
                checks.append(Check("acting user (From)", "fail", str(exc)))
            remaining = pd.rate_remaining
            checks.append(Check(
                "rate budget", "ok" if remaining is None or int(remaining) > 50 else "warn",
                f"{remaining} requests left in this minute (ratelimit-remaining)"
                if remaining is not None else "the API sent no ratelimit-remaining header"))
    except OSError as exc:
        checks.append(Check("state", "fail", f"{stored_in(settings)}: {exc}"))
    checks.append(await _slack(settings))
    checks.append(Check(
        "PagerDuty webhooks", "ok" if settings.pagerduty_webhook_secrets else "warn",
        f"{len(settings.pagerduty_webhook_secrets)} signing secret(s) set"
        if settings.pagerduty_webhook_secrets
        else "PAGERDUTY_WEBHOOK_SECRETS is not set: `serve` will not accept PagerDuty webhooks"))
    return checks


async def _slack(settings: Settings) -> Check:
    if settings.slack_bot_token is None:
        return Check("Slack", "warn", "SLACK_BOT_TOKEN is not set: approvals only in the terminal and Studio")
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(),
                            base_url=settings.slack_api_url)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return Check("Slack", "fail", f"auth.test refused the bot token: {exc.response.get('error')}")
    except Exception as exc:  # network: aiohttp raises its own types
        return Check("Slack", "fail", f"auth.test failed: {type(exc).__name__}")
    problems = [name for name, value in (("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
                                         ("SLACK_CHANNEL", settings.slack_channel)) if not value]
    if problems:
        return Check("Slack", "fail", f"bot {auth.get('user')} ok, but {', '.join(problems)} not set")
    return Check("Slack", "ok", f"bot {auth.get('user')} in team {auth.get('team')}")
