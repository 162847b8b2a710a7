"""Routing keys read from the account: each service's Events API v2 integrations.

A sender configured for PagerDuty already uses one of the account's
integration keys; with these, pointing it at the agent needs no
`INTAKE_ROUTING_KEYS` entry. The services are listed with
`include[]=integrations` (every page), and the keys of
`events_api_v2_inbound_integration`s are kept as SHA-256 digests only: a
routing key is a credential, so the copy in memory cannot be replayed.

Cached like the catalog (a `CatalogCache` whose snapshot is `RoutingKeys`,
memory only). A key not found marks the copy, so an integration added a
minute ago is found after the next refresh (at most one per
`MISS_REFRESH_S`, whatever a sender sprays).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from agent.pagerduty.catalog import Catalog, CatalogCache
from agent.pagerduty.models import Service

EVENTS_V2 = "events_api_v2_inbound_integration"


def digest(routing_key: str) -> str:
    return hashlib.sha256(routing_key.encode()).hexdigest()


@dataclass(frozen=True)
class RoutingKeys(Catalog):
    """sha256(routing key) -> service id (a `Catalog` subclass so `CatalogCache` keeps it)."""

    services: list[Service] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [{"sha256": k, "service": v} for k, v in self.keys.items()]}

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, list[dict[str, Any]]]) -> RoutingKeys:
        """From `as_json`'s form, or from services as the API lists them with integrations."""
        keys = {k["sha256"]: k["service"] for k in snapshot.get("keys", [])}
        for service in snapshot.get("services", []):
            for integration in service.get("integrations") or []:
                key = integration.get("integration_key")
                if integration.get("type") == EVENTS_V2 and isinstance(key, str) and key:
                    keys[digest(key)] = service["id"]
        return cls(keys=keys)


class RoutingKeysCache(CatalogCache):
    async def load(self) -> RoutingKeys:
        services = await self._client.list_all("/services", {"include[]": "integrations"})
        return RoutingKeys.from_snapshot({"services": services})

    async def service_for(self, routing_key: str) -> str | None:
        """The id of the service whose Events API v2 integration has this key."""
        keys = await self.get()
        assert isinstance(keys, RoutingKeys)
        found = keys.keys.get(digest(routing_key))
        if found is None:
            self._on_miss("routing_key", "…")  # the next get() may refresh (rate-limited)
        return found
