"""Pure parts of the client: the window splitter, path templates, the rate limiter's arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import agent.pagerduty as pagerduty
from agent.pagerduty.endpoints import ENDPOINTS, endpoint_for, template_of
from agent.pagerduty.pagination import format_time, split_windows
from agent.pagerduty.ratelimit import RequestLimiter, WindowLimiter


def test_all_is_sorted_and_complete() -> None:
    assert pagerduty.__all__ == sorted(pagerduty.__all__)
    for name in pagerduty.__all__:
        assert hasattr(pagerduty, name), name


def test_split_windows_covers_the_span_in_ceil_span_over_six_months() -> None:
    since = datetime(2025, 1, 1, tzinfo=UTC)
    until = datetime(2026, 3, 1, tzinfo=UTC)  # 14 months
    windows = split_windows(since, until, timedelta(days=180))
    assert len(windows) == math.ceil((until - since) / timedelta(days=180)) == 3
    assert windows[0][0] == since and windows[-1][1] == until
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert all(end - start <= timedelta(days=180) for start, end in windows)


def test_templates_and_quirks_table() -> None:
    assert template_of("/incidents/Q1AB2C3/log_entries") == "/incidents/{id}/log_entries"
    assert template_of("/users/me") == "/users/me"
    assert (
        endpoint_for("/incidents/Q1AB2C3/log_entries") is ENDPOINTS["/incidents/{id}/log_entries"]
    )
    assert endpoint_for("/audit/records").paging == "cursor"
    assert endpoint_for("/business_services").wrapper == "business_services"


def test_format_time_is_utc_z() -> None:
    assert format_time("2026-01-02T03:04:05+01:00") == "2026-01-02T02:04:05Z"


def test_the_window_is_spent_at_once_then_paced_never_over_the_rate() -> None:
    now = [0.0]
    limiter = WindowLimiter(960, clock=lambda: now[0])
    # Reserve a long burst at t=0 and replay the send times it hands out.
    send_times = [limiter.reserve() for _ in range(3000)]
    assert send_times == sorted(send_times)  # handed out in call order
    assert sum(1 for t in send_times if t == 0) == 960  # the whole window at once
    for i, t in enumerate(send_times):  # no 60 s (plus the margin) ever holds more than 960
        assert sum(1 for u in send_times[i:] if u < t + limiter.span_s) <= 960
    # Then one request per request that leaves the window: 960 more a minute later.
    assert send_times[960] == send_times[1919] == limiter.span_s


def test_a_hundred_requests_are_never_held_back() -> None:
    """The reused-client case: four fetches of 25 pages are a tenth of the budget."""
    now = [0.0]
    limiter = WindowLimiter(960, clock=lambda: now[0])
    for _ in range(4):
        assert [limiter.reserve() for _ in range(25)] == [0.0] * 25
        now[0] += 0.3
    assert limiter.waited_s == 0 and limiter.in_window == 100


def test_the_sandbox_window_never_answers_429_even_when_requests_arrive_late() -> None:
    """Replay the admissions against the sandbox's own window, each arriving up to the
    margin late (the first ones latest): the server never refuses one."""
    from agent.pagerduty.sandbox.ratelimit import RateLimiter

    now = [0.0]
    limiter = WindowLimiter(120, clock=lambda: now[0])
    sends = [limiter.reserve() for _ in range(600)]
    arrivals = sorted((t + (0.99 if i % 120 == 0 else 0.0), i) for i, t in enumerate(sends))
    clock = [0.0]
    server = RateLimiter(120, now=lambda: clock[0])
    for at, _ in arrivals:
        clock[0] = at
        assert server.take("key").allowed


def test_the_client_takes_a_shared_limiter() -> None:
    class Shared:
        rate_per_minute = 960.0

        async def acquire(self) -> None:
            return None

    shared = Shared()
    assert isinstance(shared, RequestLimiter)
    client = pagerduty.PagerDutyClient("https://api.example.test", "t0ken-value", limiter=shared)
    assert client.limiter is shared


async def test_cursor_endpoints_follow_next_cursor_to_the_end() -> None:
    """The sandbox has no cursor endpoint yet, so the paginator's seam (`fetch`) serves one."""
    from agent.pagerduty.pagination import Paginator

    records = [
        {"id": f"R{i:04d}", "execution_time": f"2026-01-01T00:{i % 60:02d}:00Z"} for i in range(250)
    ]
    asked: list[dict] = []

    async def fetch(path: str, params: dict) -> dict:
        asked.append(params)
        start = int(params.get("cursor") or 0)
        end = start + params["limit"]
        return {
            "records": records[start:end],
            "limit": params["limit"],
            "next_cursor": str(end) if end < len(records) else None,
        }

    got = [r async for r in Paginator(fetch).iter_all("/audit/records")]
    assert [r["id"] for r in got] == [r["id"] for r in records]
    assert [p.get("cursor") for p in asked] == [None, "100", "200"]
    assert all("offset" not in p for p in asked)
