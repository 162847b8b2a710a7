"""What nodes need at run time, handed in through LangGraph's runtime context.

The CLI and the server build `Services` once per process and pass them as
`Context(services=...)`, through the runner. Studio (`langgraph dev`) can only
pass JSON as context, never open clients, so the first node that needs them
builds a per-event-loop set from the settings, lazily: nothing is built at
import time. That lazy set is the one module-level state left, for Studio's sake.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.approvals.store import ApprovalStore, open_approval_store
from agent.config import Settings, get_settings
from agent.history import HistoryCache, history_cache
from agent.pagerduty.catalog import CatalogCache
from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.embedded import connect, settings_account
from agent.pagerduty.errors import PagerDutyError
from agent.pagerduty.models import User

if TYPE_CHECKING:  # for annotations only: LangGraph is not needed to build Services
    from langgraph.runtime import Runtime


@dataclass
class Services:
    settings: Settings
    pd: PagerDutyClient
    catalog: CatalogCache
    store: ApprovalStore
    history: HistoryCache | None = None
    """The account's past incidents, evidence for triage (None: triage reads words only)."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """Now, for time words ("for the next 8 hours"); tests share the sandbox's clock."""
    _me: User | None = field(default=None, repr=False)

    async def acting_user(self, email: str | None = None, *, required: bool = True) -> User | None:
        """The PagerDuty user a write acts as: the approver's own user when the account
        knows their email, else PAGERDUTY_FROM, else the token's own user (a user-level
        token). `required=False` returns None instead of raising when there is none
        (Slack approvers may each map to their own user)."""
        catalog = await self.catalog.get()
        if email and (user := catalog.user_by_email(email)):
            return user
        sender = self.pd.default_from
        if sender:
            if user := catalog.user_by_email(sender):
                return user
            raise SenderError(
                f"PAGERDUTY_FROM={sender!r} is not a user of this PagerDuty account; set it to "
                "the email of one of its users (`incident-agent doctor` checks it)."
            )
        if self._me is None:
            try:
                body = await self.pd.request("GET", "/users/me")
                self._me = User.model_validate(body["user"])
            except (PagerDutyError, KeyError):
                if not required:
                    return None
                raise SenderError(
                    "PAGERDUTY_FROM is not set: with an account-level API key PagerDuty needs the "
                    "email of the user a write acts as. Set PAGERDUTY_FROM=<email of a user of "
                    "the account>."
                ) from None
        return self._me


class SenderError(ValueError):
    """No PagerDuty user for a write to act as: a setting to fix, named in the message."""


@dataclass
class Context:
    """Run-time configuration of a run of any graph (the one context schema of them all)."""

    services: Services | None = None
    """PagerDuty client, catalog cache, approval store and settings; built from settings when absent."""
    surface: str = "studio"
    """Who asked: cli, slack, webhook or studio; shown in notes and the audit log."""
    look_only: bool = False
    """Closing a write that stopped midway: report what landed, send nothing."""
    chat_model: Callable[[Settings], Any] | None = None
    """A `BaseChatModel | None` from the settings (typed loosely: LangChain loads only when used).
    Builds the post-mortem narrative's model; `narrate.chat_model` (ChatOpenAI if configured) when absent."""
    propose_note: bool = False
    """Post-mortem: also propose an incident note with the summary (a write: it goes to approval)."""
    slack_channel: str | None = None
    """Post-mortem: propose a Slack post of the summary to this channel (data only)."""


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    async with connect(settings) as pd:
        # Opening SQLite touches the disk: keep it off the event loop (Studio's server
        # refuses blocking calls, and so should every async server).
        store = await asyncio.to_thread(open_approval_store, settings)
        try:
            yield Services(
                settings=settings,
                pd=pd,
                catalog=catalog_cache(settings, pd),
                store=store,
                history=history_cache(settings, pd),
            )
        finally:
            await store.aclose()


def catalog_cache(settings: Settings, pd: PagerDutyClient) -> CatalogCache:
    """The catalog cache, kept on disk beside the checkpoint so a fresh process starts warm."""
    checkpoint = settings.incident_agent_checkpoint
    return CatalogCache(
        pd,
        ttl_s=settings.catalog_ttl_s,
        path=checkpoint.with_name(f"{checkpoint.stem}.catalog.json"),
        account=settings_account(settings),
    )


# One lazily built set per event loop: clients, pools and connections belong to the loop
# that made them, and a set reused from another loop (a second `asyncio.run`, a test)
# waits forever on sockets nobody serves.
_defaults: dict[asyncio.AbstractEventLoop, tuple[Services, AsyncExitStack]] = {}
_default_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


async def services_for(runtime: Runtime[Context] | None) -> Services:
    ctx = runtime.context if runtime is not None else None
    if isinstance(ctx, Context) and ctx.services is not None:
        return ctx.services
    loop = asyncio.get_running_loop()
    for other in [other for other in _defaults if other.is_closed()]:
        del _defaults[other]  # their sockets died with their loop
        _default_locks.pop(other, None)
    async with _default_locks.setdefault(loop, asyncio.Lock()):
        if loop not in _defaults:
            settings = await asyncio.to_thread(get_settings)  # reads .env
            stack = AsyncExitStack()
            _defaults[loop] = (await stack.enter_async_context(open_services(settings)), stack)
    return _defaults[loop][0]


def context_of(runtime: Runtime[Context] | None) -> Context:
    """The run's context; the defaults when the run has none (a bare `ainvoke`, Studio)."""
    ctx = runtime.context if runtime is not None else None
    return ctx if isinstance(ctx, Context) else Context()


def surface_of(runtime: Runtime[Context] | None) -> str:
    return context_of(runtime).surface
