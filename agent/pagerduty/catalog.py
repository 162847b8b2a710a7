"""The account's slow-changing objects, read once and cached with a TTL.

Triage and lookups match words against this snapshot; every id the agent
proposes must be found here first. `CatalogCache` keeps one copy per client:
loaded on first use, served from memory afterwards, and refreshed in the
background once older than the TTL (stale-while-revalidate), so a read never
waits on PagerDuty after the first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.pagerduty.models import EscalationPolicy, Priority, Schedule, Service, Team, User

if TYPE_CHECKING:
    from agent.pagerduty.client import PagerDutyClient

__all__ = ["Catalog", "CatalogCache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalog:
    services: list[Service]
    users: list[User] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    escalation_policies: list[EscalationPolicy] = field(default_factory=list)
    priorities: list[Priority] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    fetched_at: float = field(default_factory=time.monotonic)

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, list[dict[str, Any]]]) -> Catalog:
        """Build from the sandbox's snapshot format (collection name -> API objects)."""
        return cls(
            services=[Service.model_validate(s) for s in snapshot.get("services", [])],
            users=[User.model_validate(u) for u in snapshot.get("users", [])],
            schedules=[Schedule.model_validate(s) for s in snapshot.get("schedules", [])],
            escalation_policies=[
                EscalationPolicy.model_validate(p) for p in snapshot.get("escalation_policies", [])
            ],
            priorities=[Priority.model_validate(p) for p in snapshot.get("priorities", [])],
            teams=[Team.model_validate(t) for t in snapshot.get("teams", [])],
        )

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def user(self, user_id: str) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def user_by_email(self, email: str) -> User | None:
        email = email.strip().lower()
        return next((u for u in self.users if u.email.lower() == email), None)

    def schedule(self, schedule_id: str) -> Schedule | None:
        return next((s for s in self.schedules if s.id == schedule_id), None)

    def escalation_policy(self, policy_id: str) -> EscalationPolicy | None:
        return next((p for p in self.escalation_policies if p.id == policy_id), None)

    def priority(self, priority_id: str) -> Priority | None:
        return next((p for p in self.priorities if p.id == priority_id), None)

    def priority_by_name(self, name: str) -> Priority | None:
        name = name.strip().lower()
        return next((p for p in self.priorities if p.name.lower() == name), None)


class CatalogCache:
    """The account's catalog, cached for `ttl_s` seconds, refreshed without making callers wait.

    - first `get()`: loads (the six collections concurrently) and waits for it;
    - fresh: returns the cached copy, no request;
    - stale: returns the cached copy and starts one background refresh;
      a failed refresh keeps the old copy (logged) and is tried again on the next `get()`.
    """

    def __init__(
        self,
        client: PagerDutyClient,
        ttl_s: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.ttl_s = ttl_s
        self._clock = clock
        self._catalog: Catalog | None = None
        self._loaded_at = 0.0
        self._first_load: asyncio.Lock | None = None
        self._refresh: asyncio.Task[None] | None = None

    async def load(self) -> Catalog:
        """Fetch a fresh catalog now: the six collections concurrently."""
        pd = self._client
        services, users, schedules, policies, priorities, teams = await asyncio.gather(
            pd.list_services(),
            pd.list_users(),
            pd.list_schedules(),
            pd.list_escalation_policies(),
            pd.list_priorities(),
            pd.list_teams(),
        )
        return Catalog(
            services=services,
            users=users,
            schedules=schedules,
            escalation_policies=policies,
            priorities=priorities,
            teams=teams,
        )

    async def get(self) -> Catalog:
        if self._catalog is None:
            if self._first_load is None:
                self._first_load = asyncio.Lock()
            async with self._first_load:  # concurrent first callers share one load
                if self._catalog is None:
                    self._store(await self.load())
            assert self._catalog is not None
            return self._catalog
        if self.is_stale and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._refresh_in_background())
        return self._catalog

    @property
    def is_stale(self) -> bool:
        return self._catalog is not None and self._clock() - self._loaded_at >= self.ttl_s

    async def refreshed(self) -> Catalog | None:
        """Wait for a background refresh in progress, if any (for tests and shutdown)."""
        if self._refresh is not None:
            await asyncio.gather(self._refresh, return_exceptions=True)
        return self._catalog

    def invalidate(self) -> None:
        """Forget the cached copy: the next `get()` loads and waits."""
        self._catalog = None
        self._loaded_at = 0.0

    def _store(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._loaded_at = self._clock()

    async def _refresh_in_background(self) -> None:
        try:
            self._store(await self.load())
        except Exception:
            log.warning(
                "catalog refresh failed; keeping the copy from %.0f s ago",
                self._clock() - self._loaded_at,
                exc_info=True,
            )
