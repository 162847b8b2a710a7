"""PagerDuty REST v2: the one client, its errors, the catalog cache, the embedded default.

    from agent.pagerduty import PagerDutyClient, connect
    async with connect(settings) as pd:
        incidents = await pd.list_incidents(statuses=["triggered"])

Modules: `client` (transport and endpoints), `pagination` and `endpoints`
(complete lists, quirks as data), `ratelimit`, `counter`, `errors`, `models`,
`catalog`, `embedded`; the simulated API lives in `sandbox`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.pagerduty.catalog import Catalog, CatalogCache
    from agent.pagerduty.client import PagerDutyClient
    from agent.pagerduty.counter import RequestCounter
    from agent.pagerduty.embedded import SANDBOX_TOKEN, connect
    from agent.pagerduty.errors import (
        AccountExpired,
        Forbidden,
        InvalidInput,
        NotFound,
        PagerDutyError,
        RateLimited,
        ServerError,
        TransportError,
        Unauthorized,
    )
    from agent.pagerduty.ratelimit import RequestLimiter, WindowLimiter

# Where each name lives. Imported on first use (PEP 562), so `import agent.pagerduty.client`
# costs the client's own imports, not the catalog's, the embedded sandbox's or settings'.
_HOMES = {
    "Catalog": "catalog",
    "CatalogCache": "catalog",
    "PagerDutyClient": "client",
    "RequestCounter": "counter",
    "SANDBOX_TOKEN": "embedded",
    "connect": "embedded",
    "RequestLimiter": "ratelimit",
    "WindowLimiter": "ratelimit",
    **dict.fromkeys(
        (
            "AccountExpired",
            "Forbidden",
            "InvalidInput",
            "NotFound",
            "PagerDutyError",
            "RateLimited",
            "ServerError",
            "TransportError",
            "Unauthorized",
        ),
        "errors",
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AccountExpired",
    "Catalog",
    "CatalogCache",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PagerDutyClient",
    "PagerDutyError",
    "RateLimited",
    "RequestCounter",
    "RequestLimiter",
    "SANDBOX_TOKEN",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "WindowLimiter",
    "connect",
]
