"""PagerDuty REST v2: the one client, its errors, the catalog cache, the embedded default.

    from agent.pagerduty import PagerDutyClient, connect
    async with connect(settings) as pd:
        incidents = await pd.list_incidents(statuses=["triggered"])

Modules: `client` (transport and endpoints), `pagination` and `endpoints`
(complete lists, quirks as data), `ratelimit`, `counter`, `errors`, `models`,
`catalog`, `embedded`; the simulated API lives in `sandbox`.
"""

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
