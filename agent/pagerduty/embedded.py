"""The PagerDuty the product talks to when none is configured: the sandbox, in-process.

`connect(settings)` yields a `PagerDutyClient`: to `PAGERDUTY_API_URL` when
it is set, otherwise to a sandbox started on a free loopback port. The
sandbox persists its state beside the checkpoint file, so separate CLI runs
(`run`, then `approve` in another process) see the same incidents.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.demo import demo_account

if TYPE_CHECKING:
    from agent.config import Settings

__all__ = ["SANDBOX_TOKEN", "connect", "demo_account_path", "sandbox_persist_path", "sandbox_token"]

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "sandbox-token"
"""The API key the embedded sandbox accepts (and `PAGERDUTY_API_TOKEN`'s default)."""
sandbox_token = SANDBOX_TOKEN


def demo_account_path() -> Path:
    """The bundled demo account snapshot (`agent/data/demo-account.json`)."""
    return Path(str(resources.files("agent") / "data" / "demo-account.json"))


def sandbox_persist_path(settings: Settings) -> Path:
    """Where the embedded sandbox keeps its state: beside the checkpoint, `.sandbox.json` for
    the demo and one file per account snapshot (by its content) for `SANDBOX_ACCOUNT`, so
    pointing at another account, or editing the snapshot, starts from that snapshot instead
    of the state saved for a different one."""
    base = settings.incident_agent_checkpoint
    if settings.sandbox_account is None:
        return base.with_suffix(".sandbox.json")
    account = Path(settings.sandbox_account)
    seed = account.read_bytes() if account.is_file() else str(account.resolve()).encode()
    return base.with_suffix(f".sandbox-{hashlib.sha256(seed).hexdigest()[:12]}.json")


def settings_account(settings: Settings) -> str:
    """Which account the settings talk to, for the on-disk caches: the API's URL and the
    token's hash; the embedded sandbox listens on a new port each run, so its account is
    the state file it keeps."""
    from agent.pagerduty.catalog import account_key

    if settings.pagerduty_api_url:
        return account_key(settings.pagerduty_api_url, settings.pagerduty_api_token)
    return account_key(f"embedded:{sandbox_persist_path(settings).resolve()}", SANDBOX_TOKEN)


def _demo_user(state: Any) -> str | None:
    """Writes need a `From` user; on the embedded demo, act as its first admin (or user)."""
    users = state.list("users")
    admins = [u for u in users if u.get("role") in ("owner", "admin")]
    return next((u["email"] for u in admins or users), None)


@contextlib.asynccontextmanager
async def connect(settings: Settings, **client_options: Any) -> AsyncIterator[PagerDutyClient]:
    """A client to the configured PagerDuty, or to an embedded sandbox for the time of the block."""
    if settings.pagerduty_api_url:
        async with PagerDutyClient.from_settings(settings, **client_options) as client:
            yield client
        return

    from agent.pagerduty.sandbox import running_sandbox  # the sandbox only when it is used

    # The bundled demo is dated as of today (agent/pagerduty/demo.py); a file given is served as is.
    account = settings.sandbox_account or demo_account()
    persist = sandbox_persist_path(settings)
    cm = running_sandbox(
        account=account,
        tokens={SANDBOX_TOKEN: None},
        rate_per_minute=settings.pagerduty_rate_per_minute,
        persist_path=persist,
    )
    # Starting and stopping a server thread blocks; keep it off the event loop.
    sandbox = await asyncio.to_thread(cm.__enter__)
    try:
        log.info("embedded PagerDuty sandbox at %s (state in %s)", sandbox.base_url, persist)
        options: dict[str, Any] = {
            "default_from": settings.pagerduty_from or _demo_user(sandbox.state),
            "timeout": settings.pagerduty_timeout_s,
            "max_retries": settings.pagerduty_max_retries,
            "rate_per_minute": settings.pagerduty_rate_per_minute,
        }
        options.update(client_options)
        async with PagerDutyClient(sandbox.base_url, SecretStr(SANDBOX_TOKEN), **options) as client:
            yield client
    except BaseException as exc:
        if not await asyncio.to_thread(cm.__exit__, type(exc), exc, exc.__traceback__):
            raise
    else:
        await asyncio.to_thread(cm.__exit__, None, None, None)
