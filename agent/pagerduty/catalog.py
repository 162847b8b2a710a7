"""The account's slow-changing objects, read once and cached with a TTL.

Triage and lookups match words against this snapshot; every id the agent
proposes must be found here first. `CatalogCache` keeps one copy per client:
loaded on first use, served from memory afterwards, and refreshed in the
background once older than the TTL (stale-while-revalidate), so a read never
waits on PagerDuty after the first.

With a `path`, the copy is also kept on disk (`CatalogFile`), so a fresh
process (each CLI call is one) starts warm: the file says which account it
belongs to (base URL and a hash of the token, never the token) and when it
was fetched, and is used only by the same account within the TTL. Writes that
change the catalog are rare, so a copy within its TTL may be a little stale;
an id looked up and not found is the sign that it is, and makes the next
`get()` fetch a fresh copy (at most once per `miss_refresh_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from agent.pagerduty.models import EscalationPolicy, Priority, Schedule, Service, Team, User

if TYPE_CHECKING:
    from agent.pagerduty.client import PagerDutyClient

__all__ = ["Catalog", "CatalogCache", "CatalogFile", "account_key"]

log = logging.getLogger(__name__)

COLLECTIONS = ("services", "users", "schedules", "escalation_policies", "priorities", "teams")
FILE_VERSION = 1
MISS_REFRESH_S = 10.0
"""A copy younger than this is not refetched for a miss: a mistyped id cannot storm the API."""


@dataclass(frozen=True)
class Catalog:
    services: list[Service]
    users: list[User] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    escalation_policies: list[EscalationPolicy] = field(default_factory=list)
    priorities: list[Priority] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    fetched_at: float = field(default_factory=time.monotonic)
    on_miss: Callable[[str, str], None] | None = field(default=None, compare=False, repr=False)
    """Told `(kind, id)` when a lookup by id finds nothing (the cache refreshes on it)."""

    def _missed(self, kind: str, key: str) -> None:
        if self.on_miss is not None:
            self.on_miss(kind, key)

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        """The collections as API objects (the snapshot format `from_snapshot` reads)."""
        return {
            name: [o.model_dump(mode="json", exclude_none=True) for o in getattr(self, name)]
            for name in COLLECTIONS
        }

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
        found = next((s for s in self.services if s.id == service_id), None)
        if found is None:
            self._missed("service", service_id)
        return found

    def user(self, user_id: str) -> User | None:
        found = next((u for u in self.users if u.id == user_id), None)
        if found is None:
            self._missed("user", user_id)
        return found

    def user_by_email(self, email: str) -> User | None:
        email = email.strip().lower()
        return next((u for u in self.users if u.email.lower() == email), None)

    def schedule(self, schedule_id: str) -> Schedule | None:
        found = next((s for s in self.schedules if s.id == schedule_id), None)
        if found is None:
            self._missed("schedule", schedule_id)
        return found

    def escalation_policy(self, policy_id: str) -> EscalationPolicy | None:
        found = next((p for p in self.escalation_policies if p.id == policy_id), None)
        if found is None:
            self._missed("escalation_policy", policy_id)
        return found

    def priority(self, priority_id: str) -> Priority | None:
        # Not a miss: callers try a priority's name here before its id (and vice versa).
        return next((p for p in self.priorities if p.id == priority_id), None)

    def priority_by_name(self, name: str) -> Priority | None:
        name = name.strip().lower()
        return next((p for p in self.priorities if p.name.lower() == name), None)


def account_key(base_url: str, token: SecretStr | str) -> str:
    """Which account a catalog belongs to: the API's URL and a SHA-256 of the token.

    The token itself is never written; the hash only tells two tokens apart."""
    secret = token.get_secret_value() if isinstance(token, SecretStr) else token
    digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
    return f"{base_url.rstrip('/')}#sha256:{digest}"


class CatalogFile:
    """A catalog on disk, with the account it belongs to and the wall-clock time it was fetched.

    Written whole or not at all (a temporary file renamed over it), readable by
    the owner only (it names people and their emails). A file of another
    account, another format or past its TTL reads as nothing.
    """

    snapshot_type: type[Catalog] = Catalog
    """What the file holds (a subclass for another cached snapshot: agent/history)."""

    def __init__(self, path: Path, account: str) -> None:
        self.path = path
        self.account = account

    def read(self, ttl_s: float, *, now: float | None = None) -> tuple[Catalog, float] | None:
        """`(catalog, age in seconds)` if the file holds this account's copy within `ttl_s`."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring the catalog file %s: %s", self.path, exc)
            return None
        if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
            return None
        if data.get("account") != self.account:
            return None
        age = (time.time() if now is None else now) - float(data.get("fetched_at", 0))
        if not 0 <= age < min(ttl_s, float(data.get("ttl_s", ttl_s))):
            return None
        try:
            return self.snapshot_type.from_snapshot(data["catalog"]), age
        except (KeyError, TypeError, ValueError) as exc:  # a file from an older model
            log.warning("ignoring the catalog file %s: %s", self.path, exc)
            return None

    def write(self, catalog: Catalog, ttl_s: float, *, fetched_at: float | None = None) -> None:
        data = {
            "version": FILE_VERSION,
            "account": self.account,
            "fetched_at": time.time() if fetched_at is None else fetched_at,
            "ttl_s": ttl_s,
            "catalog": catalog.as_json(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, self.path)

    def forget(self) -> None:
        """Drop the file (a lookup missed): the next process fetches a fresh copy."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class CatalogCache:
    """The account's catalog, cached for `ttl_s` seconds, refreshed without making callers wait.

    - first `get()`: loads (the six collections concurrently) and waits for it;
    - fresh: returns the cached copy, no request;
    - stale: returns the cached copy and starts one background refresh;
      a failed refresh keeps the old copy (logged) and is tried again on the next `get()`;
    - after a miss (an id looked up and not found) in a copy older than
      `miss_refresh_s`: loads a fresh copy and waits for it.

    With `path`, the first `get()` reads the file first (no request when it
    holds this account's copy within the TTL) and every load writes it.
    """

    file_type: type[CatalogFile] = CatalogFile
    """How a copy is kept on disk (a subclass caches another snapshot the same way)."""

    def __init__(
        self,
        client: PagerDutyClient,
        ttl_s: float = 300.0,
        *,
        path: Path | None = None,
        account: str | None = None,
        miss_refresh_s: float = MISS_REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.ttl_s = ttl_s
        self.miss_refresh_s = miss_refresh_s
        self._clock = clock
        self._catalog: Catalog | None = None
        self._loaded_at = 0.0
        self._missed = False
        self._first_load: asyncio.Lock | None = None
        self._refresh: asyncio.Task[None] | None = None
        if path is not None and account is None:
            raise ValueError("a catalog kept on disk needs the account it belongs to (account_key)")
        self.file = self.file_type(path, account) if path is not None and account else None

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
        if self._catalog is not None and self._missed and self._age() >= self.miss_refresh_s:
            log.info("catalog: an id was not found; fetching a fresh copy")
            self.invalidate()
        if self._catalog is None:
            if self._first_load is None:
                self._first_load = asyncio.Lock()
            async with self._first_load:  # concurrent first callers share one load
                if self._catalog is None:
                    on_disk = await self._read_file()
                    if on_disk is not None:
                        self._store(on_disk[0], age=on_disk[1])
                    else:
                        await self._store_and_save(await self.load())
            assert self._catalog is not None
            return self._catalog
        if self.is_stale and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._refresh_in_background())
        return self._catalog

    @property
    def is_stale(self) -> bool:
        return self._catalog is not None and self._age() >= self.ttl_s

    def _age(self) -> float:
        return self._clock() - self._loaded_at

    async def refreshed(self) -> Catalog | None:
        """Wait for a background refresh in progress, if any (for tests and shutdown)."""
        if self._refresh is not None:
            await asyncio.gather(self._refresh, return_exceptions=True)
        return self._catalog

    def invalidate(self) -> None:
        """Forget the cached copy: the next `get()` loads and waits."""
        self._catalog = None
        self._loaded_at = 0.0

    def _store(self, catalog: Catalog, *, age: float = 0.0) -> None:
        self._catalog = dataclasses.replace(catalog, on_miss=self._on_miss)
        self._loaded_at = self._clock() - age
        self._missed = False

    def _on_miss(self, kind: str, key: str) -> None:
        if not self._missed:
            log.debug("catalog: no %s %s in a copy %.0f s old", kind, key, self._age())
        self._missed = True
        if self.file is not None:
            self.file.forget()  # another process should not trust this copy either

    async def _read_file(self) -> tuple[Catalog, float] | None:
        if self.file is None:
            return None
        return await asyncio.to_thread(self.file.read, self.ttl_s)

    async def _store_and_save(self, catalog: Catalog) -> None:
        self._store(catalog)
        if self.file is not None:
            try:
                await asyncio.to_thread(self.file.write, catalog, self.ttl_s)
            except OSError as exc:  # a read-only directory costs warm starts, nothing else
                log.warning("could not keep the catalog in %s: %s", self.file.path, exc)

    async def _refresh_in_background(self) -> None:
        try:
            await self._store_and_save(await self.load())
        except Exception:
            log.warning(
                "catalog refresh failed; keeping the copy from %.0f s ago",
                self._clock() - self._loaded_at,
                exc_info=True,
            )
