"""The client builds each request's URL itself (httpx parses a base, a path and params three
times, a character at a time): the URL sent must be the one httpx would have built."""

from __future__ import annotations

from typing import Any

import httpx

from agent.pagerduty.client import PagerDutyClient
from agent.pagerduty.sandbox import Clock, running_sandbox
from tests.client.conftest import TOKEN
from tests.conftest import SANDBOX_NOW

ASKS: list[tuple[str, dict[str, Any] | None]] = [
    ("/services", None),
    ("/users", {"query": "a b&c=d/é"}),
    ("/incidents", {"statuses[]": ["triggered", "acknowledged"], "limit": 100, "total": True}),
    ("/oncalls", {"since": "2026-06-01T12:00:00Z", "until": "2026-06-02T12:00:00+02:00"}),
    ("/incidents?date_range=all", {"limit": 100}),  # a query of its own: left to httpx
]


async def test_each_request_goes_to_the_url_httpx_would_build() -> None:
    with running_sandbox(clock=Clock(SANDBOX_NOW)) as sb:
        sent: list[httpx.URL] = []

        async def record(request: httpx.Request) -> None:
            sent.append(request.url)

        async with PagerDutyClient(sb.base_url + "/", TOKEN) as pd:
            pd._http.event_hooks["request"].append(record)
            for path, params in ASKS:
                await pd.request("GET", path, params=params)
            expected = [pd._http.build_request("GET", p, params=q).url for p, q in ASKS]
    assert [str(u) for u in sent] == [str(u) for u in expected]
    assert sent[1].params["query"] == "a b&c=d/é"
    assert sent[2].params.get_list("statuses[]") == ["triggered", "acknowledged"]
